//! The tap tests' workloads on libix's kernel transport: `echo-kernel` serves the
//! unchanged echo-ix application over Linux sockets on 127.0.0.1 (loopback only);
//! clients are threads of this test and check every byte.
//!
//! - 1,000 concurrent connections, each one request/response, byte-exact, over two
//!   shared-nothing threads (`SO_REUSEPORT`);
//! - 64 MiB each way over one echo connection, both directions at once;
//! - 64 MiB each way through the sink and the source.
//!
//! Nothing copies payload (`copied_bytes` 0): the echo sends received blocks back by
//! reference.
//!
//! The tests take turns (their timings are printed). Each instance is stopped by
//! SIGTERM, also on failure (killed on drop).

mod support;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::linux::{echo_pattern, echo_requests, sink_pattern, source_pattern};
use support::output::stat_map;
use support::process::Running;

const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A port nothing listens on now (the kernel's pick for a throw-away bind).
fn free_port() -> u16 {
    TcpListener::bind((LOCAL, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `echo-kernel` and its service ports; dropping it kills it.
struct Instance {
    run: Running,
    echo: SocketAddrV4,
    sink: SocketAddrV4,
    source: SocketAddrV4,
}

impl Instance {
    /// Starts `echo-kernel` on free loopback ports and waits for READY.
    fn start(extra: &[&str]) -> Instance {
        let (echo, sink, source) = (free_port(), free_port(), free_port());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_echo-kernel"));
        cmd.args(["--addr", "127.0.0.1", "--seconds", "170"])
            .args(["--port", &echo.to_string()])
            .args(["--sink-port", &sink.to_string()])
            .args(["--source-port", &source.to_string()])
            .args(extra)
            .stderr(Stdio::null());
        Instance {
            run: Running::start("echo-kernel", &mut cmd, Duration::from_secs(30)),
            echo: SocketAddrV4::new(LOCAL, echo),
            sink: SocketAddrV4::new(LOCAL, sink),
            source: SocketAddrV4::new(LOCAL, source),
        }
    }

    /// SIGTERM, wait, and the `stat`/`app`/`thread` lines it printed as a map.
    fn stop(self) -> HashMap<String, u64> {
        stat_map(&self.run.finish(true))
    }
}

#[test]
fn thousand_concurrent_connections_each_echo_byte_exact() {
    let _turn = support::one_at_a_time();
    let inst = Instance::start(&["--threads", "2"]);
    let server = inst.echo;
    let started = Instant::now();
    const THREADS: usize = 4;
    const PER: usize = 250;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| std::thread::spawn(move || echo_requests(server, t * PER, PER)))
        .collect();
    let total: usize = workers.into_iter().map(|w| w.join().expect("client")).sum();
    let took = started.elapsed();
    println!("kernel transport: 1000 connections, {total} bytes echoed in {took:?}");
    let stats = inst.stop();
    assert_eq!(stats["app.accepted"], 1000);
    assert_eq!(stats["app.ended"], 1000);
    assert_eq!(stats["app.echoed_bytes"], total as u64);
    assert_eq!(
        stats["stat.closed"], 1000,
        "every connection ended in order"
    );
    assert_eq!(stats["stat.failed"], 0);
    assert_eq!(stats["stat.conns"], 0);
    // Neither the transport nor the echo (received blocks sent back by reference)
    // copies payload.
    assert_eq!(stats["stat.copied_bytes"], 0, "no payload byte copied");
    assert_eq!(stats["stat.handler_panics"], 0);
    assert!(
        stats["thread0.accepted"] > 0 && stats["thread1.accepted"] > 0,
        "SO_REUSEPORT spread the connections over both threads"
    );
}

const BIG: u64 = 64 << 20;

#[test]
fn sixty_four_mib_each_way_over_one_echo_connection() {
    let _turn = support::one_at_a_time();
    let inst = Instance::start(&["--threads", "1"]);
    let started = Instant::now();
    let got = echo_pattern(inst.echo, BIG);
    let took = started.elapsed();
    println!(
        "kernel transport: 64 MiB each way over one echo connection in {took:?} ({:.1} MB/s each way)",
        BIG as f64 / took.as_secs_f64() / 1e6
    );
    assert_eq!(got, BIG);
    let stats = inst.stop();
    assert_eq!(stats["app.echoed_bytes"], BIG);
    assert_eq!(stats["stat.rx_bytes"], BIG);
    assert_eq!(stats["stat.tx_bytes"], BIG);
    assert_eq!(stats["stat.copied_bytes"], 0, "the echo copies nothing");
    assert_eq!(stats["stat.closed"], 1);
}

#[test]
fn sixty_four_mib_each_way_through_sink_and_source() {
    let _turn = support::one_at_a_time();
    let src_bytes = BIG.to_string();
    let inst = Instance::start(&["--threads", "1", "--source-bytes", &src_bytes]);
    let (sink_server, source_server) = (inst.sink, inst.source);
    let started = Instant::now();
    let sink = std::thread::spawn(move || {
        sink_pattern(sink_server, BIG);
        started.elapsed()
    });
    let source = std::thread::spawn(move || {
        let n = source_pattern(source_server);
        (n, started.elapsed())
    });
    let sink_took = sink.join().expect("sink client");
    let (got, source_took) = source.join().expect("source client");
    let took = started.elapsed();
    println!(
        "kernel transport: sink 64 MiB in {sink_took:?}, source 64 MiB in {source_took:?}; both in {took:?} ({:.1} MB/s each way)",
        BIG as f64 / took.as_secs_f64() / 1e6
    );
    assert_eq!(got, BIG, "source stream");
    let stats = inst.stop();
    assert_eq!(stats["app.sunk_bytes"], BIG, "sink stream");
    assert_eq!(stats["app.sink_errors"], 0);
    assert_eq!(stats["app.sourced_bytes"], BIG);
    assert_eq!(stats["stat.copied_bytes"], 0, "no copy by ix either way");
    assert_eq!(stats["stat.closed"], 2);
}
