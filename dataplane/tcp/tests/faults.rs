//! Property test: two engines over a lossy, reordering, duplicating, corrupting and
//! delaying link transfer random data both ways byte-exact and close cleanly, for
//! many seeds, within bounded virtual time.

mod support;

use ix_fault::{FaultConfig, FaultPlan};
use ix_tcp::{CloseReason, Counter};
use std::time::Duration;
use support::*;

/// A random fault plan for `seed`: up to 5% drops, 3% duplicates, 5% reordering,
/// 2% corruption and 5% delays, drawn per direction.
fn plan(seed: u64) -> FaultPlan {
    let mut r = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        (r % 1000) as f64 / 1000.0
    };
    let dir = |next: &mut dyn FnMut() -> f64| FaultConfig {
        drop: next() * 0.05,
        duplicate: next() * 0.03,
        reorder: next() * 0.05,
        corrupt: next() * 0.02,
        delay: next() * 0.05,
        delay_us: 2_000,
        reorder_wait_us: 1_000,
        ..FaultConfig::default()
    };
    FaultPlan {
        seed,
        rx: dir(&mut next),
        tx: dir(&mut next),
    }
}

/// Transfers random data both ways over `plan(seed)` (SACK as `sack`, RFC 7323
/// timestamps as `timestamps`) and checks both streams arrive byte-exact and both
/// sides close cleanly.
fn run_seed(seed: u64, sack: bool, timestamps: bool) {
    let mut ca_cfg = cfg();
    let mut cb_cfg = cfg();
    ca_cfg.sack = sack;
    cb_cfg.sack = sack;
    ca_cfg.timestamps = timestamps;
    cb_cfg.timestamps = timestamps;
    // Make loss recovery quick in virtual time.
    ca_cfg.rto_min = Duration::from_millis(20);
    cb_cfg.rto_min = Duration::from_millis(20);
    ca_cfg.rto_initial = Duration::from_millis(100);
    cb_cfg.rto_initial = Duration::from_millis(100);
    let mut n = faulty_pair(plan(seed), plan(seed ^ 0xdead), ca_cfg, cb_cfg);
    n.b.tcp.listen(80).unwrap();
    let ca =
        n.a.tcp
            .connect(std::net::SocketAddrV4::new(B, 80), None)
            .unwrap();
    let to_b = pattern(20_000 + (seed as usize * 7919) % 60_000, seed);
    let to_a = pattern(10_000 + (seed as usize * 104_729) % 50_000, seed + 1);
    n.a.queue(ca, &to_b);
    n.a.app.close_when_sent.insert(ca, true);
    let dt = Duration::from_micros(250);
    let ok = n.run_until(Duration::from_secs(60), dt, |n| !n.b.app.knocks.is_empty());
    assert!(
        ok,
        "seed {seed}: no handshake\nA: {:?} {:?}\nB: {:?} {:?}\n{:?}\n{:?} {:?}",
        n.a.tcp.stats(),
        n.a.tcp.conns().collect::<Vec<_>>(),
        n.b.tcp.stats(),
        n.b.tcp.conns().collect::<Vec<_>>(),
        n.a.app.log,
        n.a.iface.stats(),
        n.b.iface.stats()
    );
    let cb = n.b.app.knocks[0];
    if let Ok(info) = n.b.tcp.conn_info(cb) {
        assert_eq!(
            info.timestamps, timestamps,
            "seed {seed}: negotiated as configured"
        );
    }
    n.b.queue(cb, &to_a);
    n.b.app.close_when_sent.insert(cb, true);
    let ok = n.run_until(Duration::from_secs(300), dt, |n| n.both_dead(ca, cb));
    let la = n.a.app.log.get(&ca).cloned().unwrap_or_default();
    let lb = n.b.app.log.get(&cb).cloned().unwrap_or_default();
    assert!(
        ok,
        "seed {seed}: not closed in time: a got {}/{} {:?}, b got {}/{} {:?}\nA: {:?}\nB: {:?}",
        la.data.len(),
        to_a.len(),
        la.dead,
        lb.data.len(),
        to_b.len(),
        lb.dead,
        n.a.tcp.stats(),
        n.b.tcp.stats()
    );
    assert!(
        lb.data == to_b,
        "seed {seed}: A->B bytes differ ({} vs {})",
        lb.data.len(),
        to_b.len()
    );
    assert!(
        la.data == to_a,
        "seed {seed}: B->A bytes differ ({} vs {})",
        la.data.len(),
        to_a.len()
    );
    assert_eq!(la.dead, Some(CloseReason::Closed), "seed {seed}");
    assert_eq!(lb.dead, Some(CloseReason::Closed), "seed {seed}");
    assert!(la.peer_closed && lb.peer_closed);
}

/// Fifty seeds of a lossy, reordering, duplicating, corrupting link with SACK:
/// every transfer is byte-exact both ways and closes cleanly.
#[test]
fn lossy_link_with_sack_many_seeds() {
    for seed in 0..50 {
        run_seed(seed, true, false);
    }
}

/// Forty more seeds with SACK and RFC 7323 timestamps at both ends (PAWS, TS.Recent,
/// RTT from TSecr under loss, duplication and reordering).
#[test]
fn lossy_link_with_timestamps_many_seeds() {
    for seed in 2000..2040 {
        run_seed(seed, true, true);
    }
}

/// Twenty seeds with timestamps and without SACK.
#[test]
fn lossy_link_timestamps_newreno_seeds() {
    for seed in 3000..3020 {
        run_seed(seed, false, true);
    }
}

/// The same for fifty other seeds without SACK (NewReno recovery).
#[test]
fn lossy_link_newreno_many_seeds() {
    for seed in 1000..1050 {
        run_seed(seed, false, false);
    }
}

/// Corrupted frames are detected (checksum), counted and dropped, and the
/// transfer still completes byte-exact.
#[test]
fn corrupted_segments_are_counted_and_dropped() {
    let p = FaultPlan {
        seed: 5,
        rx: FaultConfig {
            corrupt: 0.2,
            ..FaultConfig::default()
        },
        tx: FaultConfig::default(),
    };
    let mut n = faulty_pair(p, FaultPlan::default(), cfg(), cfg());
    n.b.tcp.listen(80).unwrap();
    let ca =
        n.a.tcp
            .connect(std::net::SocketAddrV4::new(B, 80), None)
            .unwrap();
    n.run_until(Duration::from_secs(30), Duration::from_millis(1), |n| {
        !n.b.app.knocks.is_empty()
    });
    let cb = n.b.app.knocks[0];
    let data = pattern(200_000, 11);
    n.b.queue(cb, &data);
    let ok = n.run_until(Duration::from_secs(120), Duration::from_millis(1), |n| {
        n.a.app
            .log
            .get(&ca)
            .is_some_and(|l| l.data.len() == data.len())
    });
    assert!(ok);
    assert!(n.a.app.log[&ca].data == data);
    let bad = n.a.tcp.stats().get(Counter::BadChecksum) + n.a.iface.stats().total_drops();
    assert!(bad > 0, "corruption was seen and dropped");
}
