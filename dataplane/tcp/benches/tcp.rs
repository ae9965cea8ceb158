//! Micro-benchmarks of the TCP engine on one core.
//!
//! `cargo bench -p ix-tcp --bench tcp` (add `-- --quick` for a shorter run).
//!
//! 1. Request/response: two engines over a `FakeLink` on one thread (so the figure
//!    pays for both ends: client and server stacks, the link's copy into the
//!    receiver's pool, and each side's interface), 64-byte requests answered with
//!    64-byte responses on N connections, one request outstanding per connection.
//!    Real clock (`MonotonicClock`). Median of several runs.
//! 2. Flow lookup: `FlowTable::get` over tables holding 1k, 10k and 100k flows, hits
//!    in random order and misses.

use ix_fakenic::{FakeLink, FakeNic};
use ix_net::{Config, Interface};
use ix_nic::heap::HeapShared;
use ix_nic::{MonotonicClock, Nic};
use ix_tcp::flow_table::{FlowKey, FlowTable};
use ix_tcp::{ConnId, TcpConfig, TcpEngine, TcpEvent};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

type Iface = Interface<FakeNic, MonotonicClock>;
type Engine = TcpEngine<ix_nic::heap::HeapPool>;

struct Rr {
    a: Iface,
    b: Iface,
    ta: Engine,
    tb: Engine,
    client: Vec<ConnId>,
    req: HeapShared,
    resp: HeapShared,
}

/// `conns` connections between two engines, RFC 7323 timestamps on if `timestamps`.
fn setup(conns: usize, timestamps: bool) -> Rr {
    let (na, nb) = FakeLink::pair([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], 8192, 2048);
    let clock = MonotonicClock::new();
    let mut a = Interface::new(na, clock, Config::new(A, 24)).expect("iface");
    let mut b = Interface::new(nb, clock, Config::new(B, 24)).expect("iface");
    a.arp_insert_static(B, [2, 0, 0, 0, 0, 2]);
    b.arp_insert_static(A, [2, 0, 0, 0, 0, 1]);
    let cfg = TcpConfig {
        max_conns: conns.max(16) * 2,
        timestamps,
        ..TcpConfig::default()
    };
    let mut ta = Engine::new(cfg.clone()).expect("engine");
    let mut tb = Engine::new(cfg).expect("engine");
    tb.listen(80).expect("listen");
    let mut client = Vec::new();
    for _ in 0..conns {
        client.push(ta.connect(SocketAddrV4::new(B, 80), None).expect("connect"));
    }
    let req = a.nic().pool().shared_from(&[1; 64]).expect("buf");
    let resp = b.nic().pool().shared_from(&[2; 64]).expect("buf");
    let mut rr = Rr {
        a,
        b,
        ta,
        tb,
        client,
        req,
        resp,
    };
    // Handshakes.
    let mut open = 0;
    while open < conns {
        rr.a.poll(&mut rr.ta);
        while let Some(ev) = rr.ta.poll_event() {
            if matches!(ev, TcpEvent::Connected { .. }) {
                open += 1;
            }
        }
        rr.b.poll(&mut rr.tb);
        while let Some(ev) = rr.tb.poll_event() {
            if let TcpEvent::Knock { conn, .. } = ev {
                rr.tb.accept(conn, 0).expect("accept");
            }
        }
    }
    rr
}

/// Runs transactions for `dur`; returns completed transactions.
fn run_rr(rr: &mut Rr, dur: Duration) -> u64 {
    for &c in &rr.client {
        let _ = rr.ta.send(c, &rr.req, 0..64);
    }
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < dur {
        for _ in 0..64 {
            rr.a.poll(&mut rr.ta);
            while let Some(ev) = rr.ta.poll_event() {
                if let TcpEvent::Recv { conn, seg, .. } = ev {
                    done += 1;
                    drop(seg);
                    let _ = rr.ta.send(conn, &rr.req, 0..64);
                }
            }
            rr.b.poll(&mut rr.tb);
            while let Some(ev) = rr.tb.poll_event() {
                if let TcpEvent::Recv { conn, seg, .. } = ev {
                    drop(seg);
                    let _ = rr.tb.send(conn, &rr.resp, 0..64);
                }
            }
        }
    }
    done
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn bench_rr(quick: bool) {
    let (runs, dur) = if quick {
        (3, Duration::from_millis(200))
    } else {
        (5, Duration::from_secs(1))
    };
    println!("\n64-byte request/response over FakeLink, both engines on this one core");
    println!("(RFC 7323 timestamps off and on, runs interleaved; medians)");
    println!(
        "{:>6} | {:>3} | {:>12} | {:>14} | {:>12}",
        "conns", "ts", "trans/s", "ns/transaction", "segments/s"
    );
    println!(
        "{:-<6}-+-{:-<3}-+-{:-<12}-+-{:-<14}-+-{:-<12}",
        "", "", "", "", ""
    );
    for conns in [1usize, 16, 256] {
        let mut rrs = [setup(conns, false), setup(conns, true)];
        let mut rates = [Vec::new(), Vec::new()];
        let mut segs = [Vec::new(), Vec::new()];
        for rr in &mut rrs {
            run_rr(rr, Duration::from_millis(100));
        }
        for _ in 0..runs {
            for (i, rr) in rrs.iter_mut().enumerate() {
                let s0 = rr.ta.stats().get(ix_tcp::Counter::SegsOut)
                    + rr.tb.stats().get(ix_tcp::Counter::SegsOut);
                let t = Instant::now();
                let n = run_rr(rr, dur);
                let el = t.elapsed().as_secs_f64();
                let s1 = rr.ta.stats().get(ix_tcp::Counter::SegsOut)
                    + rr.tb.stats().get(ix_tcp::Counter::SegsOut);
                rates[i].push(n as f64 / el);
                segs[i].push((s1 - s0) as f64 / el);
            }
        }
        for (i, rr) in rrs.iter().enumerate() {
            let r = median(std::mem::take(&mut rates[i]));
            println!(
                "{:>6} | {:>3} | {:>12.0} | {:>14.0} | {:>12.0}",
                conns,
                if i == 0 { "off" } else { "on" },
                r,
                1e9 / r,
                median(std::mem::take(&mut segs[i]))
            );
            assert_eq!(
                rr.ta.stats().get(ix_tcp::Counter::RtoFired),
                0,
                "no loss expected"
            );
        }
    }
}

fn bench_lookup(quick: bool) {
    println!("\nFlowTable::get, random order");
    println!("{:>7} | {:>10} | {:>10}", "flows", "hit ns", "miss ns");
    println!("{:-<7}-+-{:-<10}-+-{:-<10}", "", "", "");
    let lookups = if quick { 2_000_000 } else { 10_000_000 };
    for n in [1_000usize, 10_000, 100_000] {
        let mut t = FlowTable::new(n, 0x5eed);
        let key = |i: usize| {
            FlowKey::new(
                SocketAddrV4::new(
                    Ipv4Addr::from(0x0a00_0000 + (i as u32 / 50_000)),
                    1024 + (i % 50_000) as u16,
                ),
                80,
            )
        };
        let keys: Vec<FlowKey> = (0..n).map(key).collect();
        for (i, k) in keys.iter().enumerate() {
            t.insert(*k, i as u32).expect("room");
        }
        // A fixed pseudo-random visiting order (defeats the prefetcher like real traffic).
        let mut order: Vec<usize> = (0..lookups.min(1 << 20)).collect();
        let mut x = 88172645463325252u64;
        for o in order.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *o = (x % n as u64) as usize;
        }
        let misses: Vec<FlowKey> = (0..order.len()).map(|i| key(n + i % 100_000)).collect();
        let time = |f: &mut dyn FnMut(usize) -> Option<u32>| {
            let t0 = Instant::now();
            let mut acc = 0u64;
            for i in 0..lookups {
                acc += u64::from(f(i % order.len()).unwrap_or(1));
            }
            black_box(acc);
            t0.elapsed().as_nanos() as f64 / lookups as f64
        };
        let hit = time(&mut |i| t.get(keys[order[i]]));
        let miss = time(&mut |i| t.get(misses[i]));
        println!("{:>7} | {:>10.1} | {:>10.1}", n, hit, miss);
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    bench_rr(quick);
    bench_lookup(quick);
}
