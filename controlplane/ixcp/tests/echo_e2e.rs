//! End to end with the real `echo-ix` over DPDK tap ports whose kernel sides live
//! in namespaces ixcp creates: an echo config shaped like the default one (which
//! runs memcached-ix: see memcached_e2e.rs) with traffic through it (start,
//! status, stats, conns, capture, stop); two instances side by side, each on its
//! own tap and subnet, one killed with SIGKILL while a client of the other keeps talking. Each test
//! has its own run directory and namespaces; they take turns on core 1.

mod common;

use common::client::{connect, echo_once, in_ns, IO};
use common::config_toml::{instance, tap_nic};
use common::{echo_ix, stop_leaving_nothing, tcpdump, Harness};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
const GENEROUS: Duration = Duration::from_secs(60);

/// The default config's layout with echo-ix as its instance: tap `ix0`, host side
/// 10.77.0.1/24 in `ix-default`, echo at 10.77.0.2 port 11211 on core 1.
const ECHO_CONFIG: &str = r#"
[global]
memory = "no-huge"
memory_mb = 256
log_level = "info"
oversubscribe = false

[[nic]]
kind = "tap"
name = "ix0"
netns = "ix-default"
host_addr = "10.77.0.1/24"

[[instance]]
name = "echo"
app = "echo-ix"
args = ["--port", "11211"]
cores = [1]
nic = "ix0"
addr = "10.77.0.2/24"
ports = [11211]
restart = "on-failure"
"#;

/// `text` with this test's namespace, binary, and oversubscription (this machine
/// has one dataplane core).
fn adapted(h: &mut Harness, text: &str, old_ns: &str) -> (std::path::PathBuf, String) {
    let ns = h.ns("e2e");
    let text = text
        .replace(&format!("\"{old_ns}\""), &format!("\"{ns}\""))
        .replace("\"echo-ix\"", &format!("\"{}\"", echo_ix().display()))
        .replace("oversubscribe = false", "oversubscribe = true");
    (h.write("config.toml", &text), ns)
}

#[test]
fn echo_config_start_status_stats_conns_capture_stop() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut h = Harness::new("e2e-default");
    let (cfg, ns) = adapted(&mut h, ECHO_CONFIG, "ix-default");
    let pid = h.start_one(&cfg, "echo", &ns, "10.77.0.2 11211");

    // A connection held open for `conns`, echoing.
    let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let holder = in_ns(&ns, move || {
        let mut s = connect("10.77.0.2:11211");
        echo_once(&mut s, b"first request\n");
        ready_tx.send(()).unwrap();
        let _ = hold_rx.recv_timeout(GENEROUS);
        echo_once(&mut s, b"still open\n");
    });
    ready_rx.recv_timeout(GENEROUS).unwrap();
    let conns = h.ok(&["conns", "echo"]);
    assert!(
        conns.contains("ESTABLISHED")
            && conns.contains("10.77.0.2:11211")
            && conns.contains("10.77.0.1:"),
        "{conns}"
    );
    let stats: Vec<ixcp::proto::InstanceStats> =
        serde_json::from_str(&h.ok(&["stats", "echo", "--json"])).unwrap();
    let rx = stats[0].threads[0]
        .iter()
        .find(|(k, _)| k == "rx_packets")
        .map(|(_, v)| *v)
        .unwrap();
    assert!(rx >= 3, "rx_packets {rx}");
    hold_tx.send(()).unwrap();
    holder.join().unwrap();

    // Capture while a client sends a recognisable payload.
    let pcap = h.dir.join("echo.pcapng");
    let capture = {
        let args = [
            "capture",
            "echo",
            "-w",
            pcap.to_str().unwrap(),
            "--count",
            "8",
            "--timeout-ms",
            "15000",
        ]
        .map(String::from);
        let run = h.run.clone();
        std::thread::spawn(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_ixctl"))
                .env("IX_RUN_DIR", run)
                .args(args)
                .output()
                .unwrap()
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    in_ns(&ns, || {
        let mut s = connect("10.77.0.2:11211");
        echo_once(&mut s, b"capture-me-please\n");
    })
    .join()
    .unwrap();
    let out = capture.join().unwrap();
    assert!(
        out.status.success(),
        "capture: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = tcpdump(&pcap, &["-A"]);
    assert!(
        dump.contains("10.77.0.2.11211") && dump.contains("capture-me-please"),
        "{dump}"
    );

    stop_leaving_nothing(&h, &[pid], &["echo"]);
}

#[test]
fn two_instances_and_kill_9_of_one() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut h = Harness::new("e2e-two");
    // Side by side in one namespace, each tap with its own subnet (the bridge
    // example runs in examples_e2e.rs).
    let ns = h.ns("e2e");
    let app = echo_ix();
    let app = app.to_str().unwrap();
    let text = [
        "[global]\noversubscribe = true\n".to_owned(),
        tap_nic("ixt0", &ns, "host_addr = \"10.79.0.1/24\""),
        tap_nic("ixt1", &ns, "host_addr = \"10.79.1.1/24\""),
        instance(
            "kv",
            app,
            r#""--port", "11211""#,
            "ixt0",
            "10.79.0.2/24",
            11211,
        ),
        instance("echo", app, r#""--port", "7""#, "ixt1", "10.79.1.2/24", 7),
    ]
    .concat();
    let cfg = h.write("two.toml", &text);
    let out = h.ok(&["start", cfg.to_str().unwrap()]);
    assert!(
        out.contains("reach kv:") && out.contains("reach echo:"),
        "{out}"
    );
    let kv_pid = h.instance("kv").pid.unwrap();
    let echo_pid = h.instance("echo").pid.unwrap();

    // A client of `echo` talks continuously across the other's crash.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        in_ns(&ns, move || {
            let mut s = connect("10.79.1.2:7");
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                echo_once(&mut s, format!("request {n}\n").as_bytes());
                n += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            n
        })
    };
    in_ns(&ns, || {
        echo_once(&mut connect("10.79.0.2:11211"), b"kv before\n")
    })
    .join()
    .unwrap();

    let kv = h.kill_9_and_await_restart("kv", kv_pid, GENEROUS);
    // The restarted instance serves again (its tap is new; allow ARP to settle).
    in_ns(&ns, || {
        let start = Instant::now();
        loop {
            match TcpStream::connect_timeout(
                &"10.79.0.2:11211".parse().unwrap(),
                Duration::from_secs(2),
            ) {
                Ok(mut s) => {
                    s.set_read_timeout(Some(IO)).unwrap();
                    echo_once(&mut s, b"kv after\n");
                    return;
                }
                Err(e) => assert!(
                    start.elapsed() < GENEROUS,
                    "kv unreachable after restart: {e}"
                ),
            }
        }
    })
    .join()
    .unwrap();

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let requests = client
        .join()
        .expect("the other instance's client saw no error");
    assert!(requests > 10, "{requests}");
    let e = h.instance("echo");
    assert_eq!((e.pid, e.restarts), (Some(echo_pid), 0));

    stop_leaving_nothing(&h, &[kv_pid, kv.pid.unwrap(), echo_pid], &["kv", "echo"]);
}
