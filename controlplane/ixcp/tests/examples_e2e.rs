//! Each example in `configs/examples/` that this machine can run, started through
//! `ixctl` as a user would (the file itself, with only its namespace names made
//! unique to this test, its application named by absolute path, and core sharing
//! allowed): status ready, real traffic checked byte for byte, `stop`, and nothing
//! left behind (processes, namespaces, links, sockets, EAL runtime directories).
//! (`real-nic-pci.toml` needs an SR-IOV NIC: `configs_check.rs` only checks it.)
//!
//! - `two-instances-bridge.toml`: memcached-ix and echo-ix, their taps enslaved
//!   to one bridge that holds the host address; clients in the namespace talk to
//!   both (a memcached set and get, echoes).
//! - `ix-pair-virtio.toml`: an IX-to-IX pair over vhost-user/virtio_user; the
//!   client instance runs its checked request/responses against the server.
//! - `af-xdp-veth.toml`: AF_XDP on a veth pair ixcp creates; a client in the
//!   namespace runs request/responses and a bulk echo through it. The same with
//!   `kind = "af_packet"`.

mod common;

use common::client::{connect, in_ns};
use common::{
    alive, assert_nothing_left, echo_ix, memcached_ix, netns_exists, prefix, workspace, Harness,
};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The examples take turns on core 1.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
const GENEROUS: Duration = Duration::from_secs(60);

/// `configs/examples/NAME` for this test: each namespace in `namespaces` renamed
/// to one unique to it (returned in the same order), `echo-ix` and
/// `memcached-ix` by absolute path, and `oversubscribe = true` (this machine has
/// one dataplane core).
fn example(h: &mut Harness, name: &str, namespaces: &[&str]) -> (PathBuf, Vec<String>) {
    let path = workspace().join("configs/examples").join(name);
    let mut text = std::fs::read_to_string(&path).unwrap();
    let mut renamed = Vec::new();
    for old in namespaces {
        let quoted = format!("\"{old}\"");
        assert!(text.contains(&quoted), "{name} has no namespace {old}");
        let new = h.ns(old);
        text = text.replace(&quoted, &format!("\"{new}\""));
        renamed.push(new);
    }
    assert!(text.contains("\"echo-ix\""), "{name} runs echo-ix");
    text = text.replace("\"echo-ix\"", &format!("\"{}\"", echo_ix().display()));
    if text.contains("\"memcached-ix\"") {
        let bin = memcached_ix();
        text = text.replace("\"memcached-ix\"", &format!("\"{}\"", bin.display()));
    }
    if !text.contains("oversubscribe = true") {
        assert!(
            !text.contains("[global]"),
            "{name}: add oversubscribe by hand"
        );
        text = format!("[global]\noversubscribe = true\n{text}");
    }
    (h.write(name, &text), renamed)
}

/// `requests` request/responses of distinct content on one connection to `addr`.
fn echo_requests(addr: &str, requests: usize) {
    let mut s = connect(addr);
    for i in 0..requests {
        let msg = format!("request {i} to {addr}\n");
        s.write_all(msg.as_bytes()).unwrap();
        let mut back = vec![0; msg.len()];
        s.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("{addr}: request {i}: {e}"));
        assert_eq!(back, msg.as_bytes(), "{addr}: request {i}");
    }
}

/// Sends `len` pseudo-random bytes to the echo server at `addr` while reading
/// the echo back; asserts it is the same.
fn echo_bulk(addr: &str, len: usize) {
    let mut s = connect(addr);
    let data: Vec<u8> = (0..len as u64)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect();
    let writer = {
        let mut w = s.try_clone().unwrap();
        let data = data.clone();
        std::thread::spawn(move || w.write_all(&data).unwrap())
    };
    let mut back = vec![0; len];
    s.read_exact(&mut back).unwrap();
    writer.join().unwrap();
    assert!(back == data, "{addr}: {len} bytes echoed differently");
}

/// A memcached text-protocol set and get of a value of `len` bytes at `addr`.
fn memcached_set_get(addr: &str, len: usize) {
    let mut s = connect(addr);
    let value: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
    let mut req = format!("set ix-example 7 0 {len}\r\n").into_bytes();
    req.extend_from_slice(&value);
    req.extend_from_slice(b"\r\n");
    s.write_all(&req).unwrap();
    let mut stored = [0; 8];
    s.read_exact(&mut stored).unwrap();
    assert_eq!(&stored, b"STORED\r\n");
    s.write_all(b"get ix-example\r\n").unwrap();
    let mut want = format!("VALUE ix-example 7 {len}\r\n").into_bytes();
    want.extend_from_slice(&value);
    want.extend_from_slice(b"\r\nEND\r\n");
    let mut got = vec![0; want.len()];
    s.read_exact(&mut got).unwrap();
    assert!(
        got == want,
        "{addr}: get returned {:?}",
        String::from_utf8_lossy(&got)
    );
}

/// Counter `name` of thread 0 of `instance` (counters that are zero may be
/// left out of the stats: 0 then).
fn counter(h: &Harness, instance: &str, name: &str) -> u64 {
    let stats: Vec<ixcp::proto::InstanceStats> =
        serde_json::from_str(&h.ok(&["stats", instance, "--json"])).unwrap();
    assert_eq!(stats.len(), 1, "{stats:?}");
    stats[0].threads[0]
        .iter()
        .find(|(k, _)| k == name)
        .map_or(0, |(_, v)| *v)
}

/// Every instance is running; returns their pids.
fn running(h: &Harness, names: &[&str]) -> Vec<u32> {
    names
        .iter()
        .map(|n| {
            let st = h.instance(n);
            assert_eq!(st.state, "running", "{st:?}");
            st.pid.unwrap()
        })
        .collect()
}

/// `ip -n ns link show` (empty if the namespace is gone).
fn links(ns: &str) -> String {
    std::process::Command::new("ip")
        .args(["-n", ns, "-o", "link", "show"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

#[test]
fn two_instances_on_a_bridge() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut h = Harness::new("ex-bridge");
    let (cfg, ns) = example(&mut h, "two-instances-bridge.toml", &["ix-two"]);
    let ns = ns[0].clone();
    let out = h.ok(&["start", cfg.to_str().unwrap()]);
    assert!(
        out.contains(&format!("reach kv: ip netns exec {ns} nc 10.79.0.2 11211"))
            && out.contains(&format!("reach echo: ip netns exec {ns} nc 10.79.0.3 7")),
        "{out}"
    );
    let pids = running(&h, &["kv", "echo"]);
    // Both taps are the bridge's ports; only the bridge has the host address.
    let l = links(&ns);
    for tap in ["ixt0", "ixt1"] {
        assert!(
            l.lines()
                .any(|x| x.contains(&format!(" {tap}:")) && x.contains("master ixbr0")),
            "{tap} not on ixbr0:\n{l}"
        );
    }
    in_ns(&ns, || {
        memcached_set_get("10.79.0.2:11211", 3000);
        echo_requests("10.79.0.3:7", 50);
        echo_bulk("10.79.0.3:7", 256 << 10);
    })
    .join()
    .unwrap();
    assert!(counter(&h, "kv", "tcp_passive_opens") >= 1);
    assert!(counter(&h, "echo", "tcp_passive_opens") >= 2);

    let daemon = h.daemon_pid().unwrap() as u32;
    h.ok(&["stop"]);
    assert!(!netns_exists(&ns), "namespace {ns} (and its bridge) left");
    let mut all = pids;
    all.push(daemon);
    assert_nothing_left(&h, &all, &[prefix(&h, "kv"), prefix(&h, "echo")]);
}

/// The client instance's `RESULT` line, once it has logged one.
fn client_result(h: &Harness) -> Option<String> {
    let log = std::fs::read_to_string(h.run.join("instances/client/log")).ok()?;
    log.lines()
        .find(|l| l.contains("RESULT "))
        .map(|l| l.to_owned())
}

#[test]
fn ix_pair_over_vhost_and_virtio() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut h = Harness::new("ex-pair");
    let (cfg, _) = example(&mut h, "ix-pair-virtio.toml", &[]);
    h.ok(&["start", cfg.to_str().unwrap()]);
    let pids = running(&h, &["server", "client"]);
    let socket = h.run.join("pair0.sock");
    assert!(socket.exists(), "the vhost end's socket");

    let start = Instant::now();
    let result = loop {
        if let Some(r) = client_result(&h) {
            break r;
        }
        assert!(
            start.elapsed() < GENEROUS,
            "no RESULT from the client; its log:\n{}",
            std::fs::read_to_string(h.run.join("instances/client/log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("pair: {result}");
    // The example's client: 4 connections x 2000 checked request/responses.
    for want in [
        "thread=0 ok=true",
        "conns=4",
        "total_requests=8000",
        "completed=8000 errors=0",
        "failed_conns=0",
    ] {
        assert!(result.contains(want), "{want:?} not in {result}");
    }
    assert_eq!(counter(&h, "server", "tcp_passive_opens"), 4);
    assert!(counter(&h, "server", "tcp_bytes_in") >= 8000 * 64);
    assert_eq!(counter(&h, "client", "tcp_active_opens"), 4);
    // A finished client idles; neither end was restarted.
    assert_eq!(running(&h, &["server", "client"]), pids);

    let daemon = h.daemon_pid().unwrap() as u32;
    h.ok(&["stop"]);
    assert!(!socket.exists(), "the vhost socket left");
    let mut all = pids;
    all.push(daemon);
    assert_nothing_left(&h, &all, &[prefix(&h, "server"), prefix(&h, "client")]);
}

/// The AF_XDP example, or the same with `kind = "af_packet"` (its comment says it
/// takes the same keys).
fn veth_example(kind: &str) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut h = Harness::new(&format!("ex-{kind}"));
    let (cfg, ns) = example(&mut h, "af-xdp-veth.toml", &["ix-xdp"]);
    let ns = ns[0].clone();
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("kind = \"af_xdp\""));
    std::fs::write(
        &cfg,
        text.replace("kind = \"af_xdp\"", &format!("kind = \"{kind}\"")),
    )
    .unwrap();
    let out = h.ok(&["start", cfg.to_str().unwrap()]);
    assert!(
        out.contains(&format!(
            "reach echo-xdp: ip netns exec {ns} nc 10.81.0.2 11211"
        )) && out.contains(&format!("{kind} xdp0")),
        "{out}"
    );
    let pids = running(&h, &["echo-xdp"]);
    if kind == "af_xdp" {
        let l = links(&ns);
        assert!(
            l.lines()
                .any(|x| x.contains(" ixx0@") && x.contains(" xdp")),
            "no XDP program on ixx0:\n{l}"
        );
    }
    in_ns(&ns, || {
        echo_requests("10.81.0.2:11211", 2000);
        echo_bulk("10.81.0.2:11211", 1 << 20);
    })
    .join()
    .unwrap();
    assert!(counter(&h, "echo-xdp", "rx_packets") > 2000);
    assert_eq!(counter(&h, "echo-xdp", "tcp_drop_bad_checksum"), 0);
    assert_eq!(running(&h, &["echo-xdp"]), pids, "not restarted");

    let daemon = h.daemon_pid().unwrap() as u32;
    h.ok(&["stop"]);
    assert!(!netns_exists(&ns), "namespace {ns} (and its veth) left");
    assert!(!pids.iter().any(|&p| alive(p)));
    let mut all = pids;
    all.push(daemon);
    assert_nothing_left(&h, &all, &[prefix(&h, "echo-xdp")]);
}

#[test]
fn af_xdp_on_a_veth() {
    veth_example("af_xdp");
}

#[test]
fn af_packet_on_a_veth() {
    veth_example("af_packet");
}
