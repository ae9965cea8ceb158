//! Agent mode inside a namespace this test makes: two `-A` agents on their own
//! ports of the namespace's loopback, driven by a master there too; the master's total is the sum of everyone's counts and matches memcached's.

mod common;

use common::*;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

fn start_agent(ns: &TestNs, port: u16) -> (u16, ChildGuard) {
    let child = ns
        .command(BIN)
        .args([
            "-A",
            "-p",
            &port.to_string(),
            "--agent_listen",
            "127.0.0.1",
            "-T",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = ChildGuard(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    ns.wait_listening(addr, &mut guard.0, Duration::from_secs(10));
    (port, guard)
}

#[test]
fn two_agents_aggregate_and_match_the_server() {
    let mc = Memcached::start();
    let addr = mc.addr();
    let (p1, _a1) = start_agent(&mc.ns, 5601);
    let (p2, _a2) = start_agent(&mc.ns, 5602);
    let (a1, a2) = (format!("127.0.0.1:{p1}"), format!("127.0.0.1:{p2}"));
    mc.mutilate(&["-s", &addr, "--loadonly", "-r", "1000"]);

    // Everyone shares 3000/s equally: one connection each, the same weight.
    let before = mc.stats();
    let out = mc.mutilate(&[
        "-s", &addr, "--noload", "-r", "1000", "-a", &a1, "-a", &a2, "-q", "3000", "-t", "1", "-u",
        "0.1",
    ]);
    let after = mc.stats();
    let sources = [
        client_counts(&out, "master"),
        client_counts(&out, &a1),
        client_counts(&out, &a2),
    ];
    let total: u64 = sources.iter().map(|(g, s, _, _)| g + s).sum();
    assert_eq!(total_requests(&out), total, "the total is the sum\n{out}");
    assert_eq!(
        delta(&before, &after, "cmd_get") + delta(&before, &after, "cmd_set"),
        total,
        "{out}"
    );
    assert_eq!(
        delta(&before, &after, "cmd_get"),
        sources.iter().map(|s| s.0).sum::<u64>()
    );
    for (gets, sets, misses, skipped) in sources {
        // Each sends a Poisson stream of 1000/s for 1 s (sd ~32).
        assert!((700..1300).contains(&(gets + sets)), "{gets}+{sets}\n{out}");
        assert_eq!((misses, skipped), (0, 0));
    }

    // -Q 500: the master keeps 500/s for itself, the agents share the other 2500/s.
    let before = mc.stats();
    let out = mc.mutilate(&[
        "-s", &addr, "--noload", "-r", "1000", "-a", &a1, "-a", &a2, "-q", "3000", "-Q", "500",
        "-C", "1", "-t", "1",
    ]);
    let after = mc.stats();
    let (m, _, _, _) = client_counts(&out, "master");
    let (x, _, _, _) = client_counts(&out, &a1);
    let (y, _, _, _) = client_counts(&out, &a2);
    assert_eq!(delta(&before, &after, "cmd_get"), m + x + y);
    assert!((300..700).contains(&m), "master {m}\n{out}");
    assert!(
        (950..1550).contains(&x) && (950..1550).contains(&y),
        "agents {x}, {y}\n{out}"
    );
}
