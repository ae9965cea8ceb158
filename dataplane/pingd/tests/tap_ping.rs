//! End to end on a real DPDK tap port: ix-pingd in a namespace this test creates
//! answers ARP and 100 of 100 pings from the kernel side, then stops cleanly and
//! removes the namespace it was given nothing to keep.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Kills the daemon and removes the namespace even if an assertion fails.
struct Cleanup {
    child: Option<Child>,
    netns: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .stderr(Stdio::null())
            .status();
    }
}

fn netns_exists(name: &str) -> bool {
    std::path::Path::new("/run/netns").join(name).exists()
}

#[test]
fn kernel_side_gets_100_of_100_ping_replies() {
    let pid = std::process::id();
    let netns = format!("ixping-{pid}");
    let iface = format!("ixp{}", pid % 100_000);
    let mut guard = Cleanup {
        child: None,
        netns: netns.clone(),
    };

    let mut child = Command::new(env!("CARGO_BIN_EXE_ix-pingd"))
        .args(["--netns", &netns, "--iface", &iface])
        .args([
            "--host-addr",
            "10.99.0.1/24",
            "--addr",
            "10.99.0.2",
            "--seconds",
            "120",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start ix-pingd");
    let stdout = child.stdout.take().unwrap();
    guard.child = Some(child);

    // Wait for READY, keeping everything the daemon prints for the final checks.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let ready = line == "READY";
                lines.push(line);
                if ready {
                    break;
                }
            }
            Err(e) => panic!("ix-pingd never became ready ({e}); printed: {lines:?}"),
        }
    }
    assert!(netns_exists(&netns), "daemon created the namespace");

    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &netns,
            "ping",
            "-c",
            "100",
            "-i",
            "0.01",
            "-W",
            "2",
            "10.99.0.2",
        ])
        .output()
        .expect("run ping");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("100 packets transmitted, 100 received"),
        "ping said:\n{text}"
    );

    // The kernel learned the dataplane's address by ARP, not statically.
    let neigh = Command::new("ip")
        .args(["-n", &netns, "neigh", "show", "10.99.0.2"])
        .output()
        .unwrap();
    let neigh = String::from_utf8_lossy(&neigh.stdout);
    assert!(
        neigh.contains("lladdr"),
        "no ARP entry for the dataplane: {neigh}"
    );

    // SIGTERM: clean stop, counters printed, namespace removed.
    let mut child = guard.child.take().unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "ix-pingd exit: {exit:?}");
    lines.extend(rx.iter());
    let echo = lines
        .iter()
        .find_map(|l| l.strip_prefix("ix-net icmp_echo_replies: "));
    let replies: u64 = echo.and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    assert!(
        replies >= 100,
        "daemon counted {replies} echo replies; printed {lines:?}"
    );
    assert!(!netns_exists(&netns), "namespace left behind");
}
