//! End to end through a real DPDK tap port: `ix-run` serves echo-ix in a network
//! namespace this test creates; Linux clients (threads of this test that enter the
//! namespace) check every byte.
//!
//! - 1,000 concurrent connections, each one request/response, byte-exact;
//! - 64 MiB each way over one echo connection, both directions at once;
//! - 64 MiB each way (sink + source) over an impaired link: the
//!   fault injector at 2% loss with reordering and duplication, and 2% random drop
//!   of TCP input in the namespace's kernel (nftables).
//!
//! Every path is zero copy (`copied_bytes` 0): the echo sends the received mbufs
//! back by reference.
//!
//! The tests take turns (one DPDK instance at a time on the dataplane core). Each
//! removes its namespace and stops its instance, also on failure.

mod support;

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;
use support::linux::{echo_pattern, echo_requests, sink_pattern, source_pattern};
use support::netns::NsIxRun;
use support::output::stat_map;

/// A file removed on drop.
struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Creates namespace `ixe2e-TAG-PID` and starts ix-run in it on subnet
/// 10.`net`.0.0/24 (with the fault injector if `fault_plan`); waits for READY.
fn start(tag: &str, net: u8, extra: &[&str], fault_plan: Option<&str>) -> NsIxRun {
    let pid = std::process::id();
    // ix-run reads the plan before it is READY: the file can go when this returns.
    let fault_file = fault_plan.map(|text| {
        let p = std::env::temp_dir().join(format!("ix-fault-{tag}-{pid}.toml"));
        std::fs::write(&p, text).expect("write the fault plan");
        TempPath(p)
    });
    let mut args = vec!["--seconds", "170"];
    args.extend_from_slice(extra);
    let plan_arg = fault_file
        .as_ref()
        .map(|f| f.0.to_string_lossy().into_owned());
    if let Some(p) = &plan_arg {
        args.extend(["--fault-plan", p.as_str()]);
    }
    NsIxRun::start(
        &format!("ixe2e-{tag}-{pid}"),
        &format!("ixe{tag}{}", pid % 10_000),
        net,
        &args,
        Stdio::null(),
        |_| {},
    )
}

/// SIGTERM, wait, and the `stat`/`app` lines it printed as a map.
fn stop(inst: NsIxRun) -> HashMap<String, u64> {
    stat_map(&inst.finish(true))
}

#[test]
fn thousand_concurrent_connections_each_echo_byte_exact() {
    let _turn = support::one_at_a_time();
    let inst = start("k", 81, &[], None);
    let started = Instant::now();
    const THREADS: usize = 4;
    const PER: usize = 250;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| inst.in_ns(move |addr| echo_requests(SocketAddrV4::new(addr, 7), t * PER, PER)))
        .collect();
    let total: usize = workers.into_iter().map(|w| w.join().expect("client")).sum();
    let took = started.elapsed();
    println!("1000 connections, {total} bytes echoed in {took:?}");
    let stats = stop(inst);
    assert_eq!(stats["app.accepted"], 1000);
    assert_eq!(stats["app.echoed_bytes"], total as u64);
    // Zero copy: the echo sends the received buffers back by reference.
    assert_eq!(stats["stat.copied_bytes"], 0, "no payload byte copied");
    assert_eq!(stats["stat.handler_panics"], 0);
}

const BIG: u64 = 64 << 20;

#[test]
fn sixty_four_mib_each_way_over_one_echo_connection() {
    let _turn = support::one_at_a_time();
    let inst = start("b", 82, &[], None);
    let started = Instant::now();
    let client = inst.in_ns(|addr| echo_pattern(SocketAddrV4::new(addr, 7), BIG));
    let got = client.join().expect("client");
    let took = started.elapsed();
    println!(
        "64 MiB each way over one echo connection in {took:?} ({:.1} MB/s each way)",
        BIG as f64 / took.as_secs_f64() / 1e6
    );
    assert_eq!(got, BIG);
    let stats = stop(inst);
    assert_eq!(stats["app.echoed_bytes"], BIG);
    assert_eq!(stats["stat.copied_bytes"], 0, "the echo copies nothing");
}

const FAULTS: &str = r#"
[fault]
seed = 1234
rx = { drop = 0.02, reorder = 0.02, duplicate = 0.01 }
tx = { drop = 0.02, reorder = 0.02, duplicate = 0.01 }
"#;

#[test]
fn sixty_four_mib_each_way_zero_copy_over_an_impaired_link() {
    let _turn = support::one_at_a_time();
    let src_bytes = BIG.to_string();
    // ix's default 200 ms RTO floor, as Linux's: losses are repaired by SACK, RACK
    // and loss probes, and a timeout (200 ms each) is left for the rare lost probe.
    let inst = start("f", 83, &["--source-bytes", &src_bytes], Some(FAULTS));
    // The kernel side drops 2% of TCP input at random, too.
    inst.exec(&["nft", "add", "table", "inet", "ixt"]);
    inst.exec(&[
        "nft",
        "add chain inet ixt in { type filter hook input priority 0 ; }",
    ]);
    inst.exec(&[
        "nft",
        "add rule inet ixt in meta l4proto tcp numgen random mod 100 < 2 counter drop",
    ]);
    let started = Instant::now();
    let sink = inst.in_ns(move |addr| {
        sink_pattern(SocketAddrV4::new(addr, 9), BIG);
        println!(
            "impaired: sink direction done after {:?}",
            started.elapsed()
        );
    });
    let source = inst.in_ns(move |addr| {
        let n = source_pattern(SocketAddrV4::new(addr, 19));
        println!(
            "impaired: source direction done after {:?}",
            started.elapsed()
        );
        n
    });
    sink.join().expect("sink client");
    let got = source.join().expect("source client");
    let took = started.elapsed();
    println!(
        "impaired: 64 MiB each way (sink + source) in {took:?} ({:.1} MB/s each way)",
        BIG as f64 / took.as_secs_f64() / 1e6
    );
    assert_eq!(got, BIG, "source stream");
    let listing = inst.exec(&["nft", "list", "table", "inet", "ixt"]);
    println!("{listing}");
    assert!(
        !listing.contains("packets 0 "),
        "nftables dropped nothing: {listing}"
    );
    let stats = stop(inst);
    assert_eq!(stats["app.sunk_bytes"], BIG, "sink stream");
    assert_eq!(stats["app.sink_errors"], 0);
    assert_eq!(stats["app.sourced_bytes"], BIG);
    assert_eq!(stats["stat.copied_bytes"], 0, "zero copy both ways");
    assert!(stats["stat.tcp_retransmits"] > 0, "the link was lossy");
}
