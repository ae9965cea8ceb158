//! ixcp and ixctl against ix-fake-instance (no DPDK): start, status, stats, conns,
//! capture, `kill -9` and hang restarts, a failed first start, SIGTERM, and `stop`
//! leaving nothing behind. Each test has its own run directory and namespaces.

mod common;

use common::config_toml::{instance, tap_nic};
use common::{alive, assert_nothing_left, netns_exists, prefix, tcpdump, Harness};
use std::time::{Duration, Instant};

const FAKE: &str = env!("CARGO_BIN_EXE_ix-fake-instance");
const GENEROUS: Duration = Duration::from_secs(30);

fn two_instances(h: &mut Harness, a_args: &str, b_args: &str, extra: &str) -> std::path::PathBuf {
    let ns = h.ns("two");
    let text = [
        format!(
            r#"[global]
oversubscribe = true
[[bridge]]
name = "ixbr0"
netns = "{ns}"
addr = "10.91.0.1/24"
"#
        ),
        tap_nic("t0", &ns, "bridge = \"ixbr0\""),
        tap_nic("t1", &ns, "bridge = \"ixbr0\""),
        instance("alpha", FAKE, a_args, "t0", "10.91.0.2/24", 11211),
        format!("restart_backoff_ms = 50\n{extra}\n"),
        instance("beta", FAKE, b_args, "t1", "10.91.0.3/24", 7),
    ]
    .concat();
    h.write("two.toml", &text)
}

#[test]
fn start_query_kill_restart_and_stop_cleanly() {
    let mut h = Harness::new("main");
    let cfg = two_instances(&mut h, "", "", "");
    let out = h.ok(&["start", cfg.to_str().unwrap()]);
    let ns = h.netns[0].clone();
    assert!(
        out.contains(&format!(
            "reach alpha: ip netns exec {ns} nc 10.91.0.2 11211"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("reach beta: ip netns exec {ns} nc 10.91.0.3 7")),
        "{out}"
    );
    assert!(netns_exists(&ns));
    let bridge = std::process::Command::new("ip")
        .args(["-n", &ns, "addr", "show", "ixbr0"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&bridge.stdout).contains("10.91.0.1/24"),
        "bridge address"
    );
    let socket_mode = std::fs::metadata(h.run.join("ixcp.sock"))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
        .unwrap();
    assert_eq!(socket_mode, 0o600, "control socket is root-only");

    let st = h.status();
    assert_eq!(st.len(), 2);
    assert!(
        st.iter().all(|s| s.state == "running" && s.restarts == 0),
        "{st:?}"
    );
    let alpha_pid = h.instance("alpha").pid.unwrap();
    let beta_pid = h.instance("beta").pid.unwrap();
    assert!(std::path::Path::new("/var/run/dpdk")
        .join(prefix(&h, "alpha"))
        .exists());

    // Live counters, connections, capture.
    let stats: Vec<ixcp::proto::InstanceStats> =
        serde_json::from_str(&h.ok(&["stats", "--json"])).unwrap();
    assert_eq!(stats.len(), 2);
    assert!(
        stats[0].threads[0]
            .iter()
            .any(|(k, v)| k == "iterations" && *v > 0),
        "{stats:?}"
    );
    let conns = h.ok(&["conns", "alpha"]);
    assert!(
        conns.contains("ESTABLISHED") && conns.contains("10.91.0.2:7"),
        "{conns}"
    );
    let pcap = h.dir.join("alpha.pcapng");
    let out = h.ok(&[
        "capture",
        "alpha",
        "-w",
        pcap.to_str().unwrap(),
        "--count",
        "5",
    ]);
    assert!(out.contains("5 frame(s) written"), "{out}");
    assert_eq!(
        tcpdump(&pcap, &[])
            .matches("10.77.0.1.9 > 10.77.0.2.9: UDP")
            .count(),
        5
    );

    // kill -9 alpha: restarted, with the reason; beta untouched.
    let a = h.kill_9_and_await_restart("alpha", alpha_pid, GENEROUS);
    assert_ne!(a.pid, Some(alpha_pid));
    assert!(a.last_restart_ms.is_some());
    let b = h.instance("beta");
    assert_eq!(
        (b.pid, b.restarts, b.state.as_str()),
        (Some(beta_pid), 0, "running")
    );
    assert!(!h.ok(&["status"]).is_empty());

    // Stop one, then everything.
    let new_alpha = a.pid.unwrap();
    assert!(h.ok(&["stop", "alpha"]).contains("stopped alpha"));
    assert!(!alive(new_alpha));
    assert!(netns_exists(&ns), "beta still uses the namespace");
    let out = h.ixctl(&["stop", "alpha"]);
    assert_eq!(out.status.code(), Some(4), "no such instance");
    let daemon = h.daemon_pid().unwrap() as u32;
    h.ok(&["stop"]);
    assert_nothing_left(
        &h,
        &[alpha_pid, new_alpha, beta_pid, daemon],
        &[prefix(&h, "alpha"), prefix(&h, "beta")],
    );
    assert_eq!(
        h.ixctl(&["status"]).status.code(),
        Some(3),
        "ixcp not running"
    );
}

#[test]
fn hung_instance_is_restarted() {
    let mut h = Harness::new("hang");
    let trigger = h.dir.join("hang-now");
    let cfg = two_instances(
        &mut h,
        &format!("\"--hang-if\", \"{}\"", trigger.display()),
        "",
        "heartbeat_timeout_ms = 300",
    );
    h.ok(&["start", cfg.to_str().unwrap()]);
    let pid = h.instance("alpha").pid.unwrap();
    let hung_at = Instant::now();
    std::fs::write(&trigger, b"").unwrap();
    h.wait_for("alpha's restart after a hang", GENEROUS, |h| {
        let a = h.instance("alpha");
        a.state == "running" && a.restarts == 1
    });
    let a = h.instance("alpha");
    eprintln!(
        "restart after hang (timeout 300 ms): running again after {} ms",
        hung_at.elapsed().as_millis()
    );
    assert!(
        a.last_reason
            .as_deref()
            .unwrap_or("")
            .contains("hung: elastic thread 0"),
        "{a:?}"
    );
    assert!(!alive(pid), "the hung process was killed");
    assert_eq!(h.instance("beta").restarts, 0);
    h.ok(&["stop"]);
    assert_nothing_left(&h, &[pid], &[prefix(&h, "alpha")]);
}

#[test]
fn crash_loop_gives_up_at_max_restarts() {
    let mut h = Harness::new("loop");
    let cfg = two_instances(
        &mut h,
        "\"--crash-after-ms\", \"300\"",
        "",
        "max_restarts = 2",
    );
    h.ok(&["start", cfg.to_str().unwrap()]);
    h.wait_for("alpha to give up", GENEROUS, |h| {
        h.instance("alpha").state == "failed"
    });
    let a = h.instance("alpha");
    assert_eq!(a.restarts, 2);
    assert!(
        a.last_reason
            .as_deref()
            .unwrap_or("")
            .contains("gave up after 2 restarts"),
        "{a:?}"
    );
    assert_eq!(h.instance("beta").state, "running");
    h.ok(&["stop"]);
    assert_nothing_left(&h, &[], &[prefix(&h, "alpha")]);
}

#[test]
fn failed_first_start_is_reported_and_rolled_back() {
    let mut h = Harness::new("nostart");
    let cfg = two_instances(&mut h, "\"--never-ready\"", "", "ready_timeout_ms = 500");
    let out = h.ixctl(&["start", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("instance alpha failed to start: not ready 500 ms after launch"),
        "{err}"
    );
    assert!(h.status().is_empty(), "nothing kept");
    assert!(!netns_exists(&h.netns[0]));
    h.ok(&["stop"]);
    assert_nothing_left(&h, &[], &[prefix(&h, "alpha"), prefix(&h, "beta")]);
}

#[test]
fn bad_config_is_refused_before_anything_starts() {
    let mut h = Harness::new("bad");
    let cfg = two_instances(&mut h, "", "", "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("cores = [1]\nnic = \"t1\"", "cores = [0]\nnic = \"t1\"");
    let bad = h.write("bad.toml", &text);
    for cmd in ["check", "start"] {
        let out = h.ixctl(&[cmd, bad.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains(&bad.display().to_string())
                && err.contains("instance.beta.cores")
                && err.contains("core 0 is reserved"),
            "{err}"
        );
    }
    assert!(!h.run.join("ixcp.sock").exists(), "no daemon was started");
    assert!(!netns_exists(&h.netns[0]));
}

#[test]
fn sigterm_stops_every_instance() {
    let mut h = Harness::new("term");
    let cfg = two_instances(&mut h, "", "", "");
    h.ok(&["start", cfg.to_str().unwrap()]);
    let pids: Vec<u32> = h.status().iter().filter_map(|s| s.pid).collect();
    let daemon = h.daemon_pid().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let start = Instant::now();
    while alive(daemon as u32) {
        assert!(start.elapsed() < GENEROUS, "ixcp did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut all = pids.clone();
    all.push(daemon as u32);
    assert_nothing_left(&h, &all, &[prefix(&h, "alpha"), prefix(&h, "beta")]);
}
