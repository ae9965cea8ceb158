//! `-R/--roundrobin` against two memcached servers inside a namespace this test makes
//! (the generator there too, over its loopback): each server serves the share of the
//! requests that the thread assignment implies, and by default (every thread to
//! every server) both serve the same. The `-R` run also takes `--affinity` and
//! `-W` (which must not change what is sent).

mod common;

use common::*;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A second memcached in `ns` on 127.0.0.1:`port`, killed on drop.
fn second_memcached(mc: &Memcached, port: u16) -> ChildGuard {
    let child = mc
        .ns
        .command("memcached")
        .args(["-p", &port.to_string(), "-U", "0", "-l", "127.0.0.1"])
        .args(["-t", "1", "-m", "64", "-u", "nobody"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start memcached");
    let mut guard = ChildGuard(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    mc.ns
        .wait_listening(addr, &mut guard.0, Duration::from_secs(10));
    guard
}

/// Runs ix-mutilate with `extra` against both; returns (its gets, server a's
/// cmd_get, server b's cmd_get).
fn gets_per_server(a: &Memcached, b: SocketAddr, extra: &[&str]) -> (u64, u64, u64) {
    let (a_before, b_before) = (a.stats(), a.ns.stats(b));
    let (a_addr, b_addr) = (a.addr(), b.to_string());
    // 3000/s over fixed gaps: every connection sends the same number of gets.
    let mut args = vec![
        "-s", &a_addr, "-s", &b_addr, "--noload", "-T", "3", "-q", "3000", "-i", "fixed:1", "-t",
        "1", "--seed", "7",
    ];
    args.extend_from_slice(extra);
    let out = a.mutilate(&args);
    let (gets, sets, _, skipped) = client_counts(&out, "master");
    assert_eq!((sets, skipped), (0, 0), "{out}");
    let a_gets = delta(&a_before, &a.stats(), "cmd_get");
    let b_gets = delta(&b_before, &a.ns.stats(b), "cmd_get");
    assert_eq!(
        a_gets + b_gets,
        gets,
        "the servers served what was sent\n{out}"
    );
    (gets, a_gets, b_gets)
}

#[test]
fn roundrobin_splits_servers_among_threads_as_mutilate_does() {
    let a = Memcached::start();
    let _b = second_memcached(&a, 11212);
    let b = SocketAddr::from(([127, 0, 0, 1], 11212));

    // -R with 3 threads and 2 servers: threads 0 and 2 on server a, thread 1 on b.
    // One connection each at 1000/s: a serves exactly twice what b does.
    let started = Instant::now();
    let (gets, a_gets, b_gets) = gets_per_server(&a, b, &["-R", "--affinity", "-W", "1"]);
    let took = started.elapsed();
    assert!(b_gets > 0 && a_gets == 2 * b_gets, "a {a_gets}, b {b_gets}");
    assert!(
        (2000..=3000).contains(&gets),
        "{gets} gets in 1 s at 3000/s"
    );
    // -W 1: the measured second starts no earlier than 1 s after startup.
    assert!(took >= Duration::from_secs(2), "finished after {took:?}");

    // By default every thread connects to both: 6 connections, an even split.
    let (_, a_gets, b_gets) = gets_per_server(&a, b, &[]);
    assert!(a_gets > 0 && a_gets == b_gets, "a {a_gets}, b {b_gets}");
}
