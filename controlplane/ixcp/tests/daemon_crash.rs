//! ixcp itself killed with SIGKILL: its instance notices that its supervisor is
//! gone and stops by itself (nobody could stop or restart it any more), and the
//! next `ixctl start` starts an ixcp that finds the dead one's journal, removes
//! what it left (namespace, EAL files, sockets) and brings the config up again.

mod common;

use common::client::{connect, echo_once, in_ns};
use common::config_toml::{instance, tap_nic};
use common::{alive, echo_ix, netns_exists, stop_leaving_nothing, wait_gone, Harness};
use std::time::{Duration, Instant};

const GENEROUS: Duration = Duration::from_secs(60);

#[test]
fn kill_9_of_ixcp_stops_its_instances_and_the_next_ixcp_cleans_up() {
    let mut h = Harness::new("crash");
    let ns = h.ns("crash");
    let app = echo_ix();
    let text = [
        "[global]\noversubscribe = true\n".to_owned(),
        tap_nic("ixc0", &ns, "host_addr = \"10.80.0.1/24\""),
        instance(
            "echo",
            app.to_str().unwrap(),
            r#""--port", "7""#,
            "ixc0",
            "10.80.0.2/24",
            7,
        ),
    ]
    .concat();
    let cfg = h.write("crash.toml", &text);
    let first = h.start_one(&cfg, "echo", &ns, "10.80.0.2 7");
    in_ns(&ns, || echo_once(&mut connect("10.80.0.2:7"), b"before\n"))
        .join()
        .unwrap();
    let journal = h.run.join("journal.json");
    assert!(journal.exists(), "ixcp keeps a journal while it runs");

    let daemon = h.daemon_pid().unwrap();
    let killed = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_gone(daemon as u32, GENEROUS);
    // Nobody signals the instance: it sees its parent change and leaves.
    wait_gone(first, GENEROUS);
    eprintln!(
        "instance stopped {} ms after ixcp's SIGKILL",
        killed.elapsed().as_millis()
    );
    let log = std::fs::read_to_string(h.run.join("instances/echo/log")).unwrap();
    assert!(log.contains("the supervisor is gone"), "{log}");
    assert!(
        journal.exists() && netns_exists(&ns),
        "the dead ixcp left its journal and its namespace"
    );

    // The next start recovers and serves again.
    let second = h.start_one(&cfg, "echo", &ns, "10.80.0.2 7");
    assert!(second != first && alive(second));
    let ixcp_log = std::fs::read_to_string(h.run.join("ixcp.log")).unwrap();
    assert!(
        ixcp_log.contains("died without cleaning up")
            && ixcp_log.contains(&format!("recovery: removed namespace {ns}")),
        "{ixcp_log}"
    );
    in_ns(&ns, || {
        let start = Instant::now();
        loop {
            match std::net::TcpStream::connect_timeout(
                &"10.80.0.2:7".parse().unwrap(),
                Duration::from_secs(2),
            ) {
                Ok(mut s) => {
                    s.set_read_timeout(Some(common::client::IO)).unwrap();
                    echo_once(&mut s, b"after\n");
                    return;
                }
                Err(e) => assert!(start.elapsed() < GENEROUS, "unreachable: {e}"),
            }
        }
    })
    .join()
    .unwrap();

    stop_leaving_nothing(&h, &[first, second], &["echo"]);
}
