//! Bulk transfer over an impaired link, in virtual time: loss recovery must be
//! driven by SACK and the ACK clock, not by the retransmission timer.
//!
//! The layout mirrors the end-to-end tap test (`apps/echo-ix/tests/tap_e2e.rs`),
//! where ix sends to Linux through ix's own fault injector plus a random drop in the
//! receiver's kernel: the sender A has a `FaultyNic` that drops, reorders and
//! duplicates in both directions; the receiver B drops a further share of what it
//! receives, and both directions are delayed by a fixed one-way latency (a path with
//! a round trip, not a zero-length wire). The receiver behaves as Linux does where
//! it matters: its buffer is larger than the sender's (autotuned), and it reports
//! duplicates with D-SACK.
//!
//! Every run is deterministic: the faults come from a seeded plan and time is a
//! virtual clock, so the bounds asserted below are bounds on counted events and on
//! virtual time, not on wall-clock timing. The engine before RACK-TLP (commit
//! e1343a3) fails every one of them: 8 MiB over the tap-like link took 17.9 s of
//! virtual time with 84 retransmission timeouts (now ~55 ms, none), reordering
//! alone cost 40 spurious recoveries, and a clean link took 20 ms (now 8.4 ms).
//!
//! Run with `--nocapture` to see each run's figures.

mod support;

use ix_fault::{FaultConfig, FaultPlan, FaultStats};
use ix_nic::heap::{HeapPool, HeapShared};
use ix_nic::{BufPool, Clock};
use ix_tcp::{ConnId, Counter, TcpConfig, TcpEngine, TcpStats};
use std::time::Duration;
use support::*;

const MIB: usize = 1 << 20;

/// One direction's faults at the sender.
fn faults(drop: f64, reorder: f64, duplicate: f64) -> FaultConfig {
    FaultConfig {
        drop,
        reorder,
        duplicate,
        hold_capacity: 4096,
        ..FaultConfig::default()
    }
}

/// A fixed delay on every frame (order kept), and a drop.
fn latency(drop: f64, one_way_us: u64) -> FaultConfig {
    FaultConfig {
        drop,
        delay: 1.0,
        delay_us: one_way_us,
        hold_capacity: 8192,
        ..FaultConfig::default()
    }
}

/// What one transfer did.
#[derive(Debug, Clone, Copy)]
struct Report {
    /// Virtual time from the first byte offered to the last byte received.
    took: Duration,
    rto: u64,
    /// Loss recovery episodes (fast retransmits).
    fast: u64,
    retransmits: u64,
    /// Segments the receiver already held entirely, less those the link itself
    /// duplicated: retransmissions that were not needed.
    spurious: u64,
    /// Duplicate ACKs by the definition in use (RFC 6675's with SACK).
    dupacks: u64,
    /// Data segments the link dropped (sender's transmit side and receiver's).
    dropped: u64,
    /// Data segments sent, retransmissions included.
    segs: u64,
}

struct Scenario {
    name: &'static str,
    seed: u64,
    bytes: usize,
    /// A's transmit and receive faults (ix's injector in the tap test).
    a_tx: FaultConfig,
    a_rx: FaultConfig,
    /// Extra drop of what B receives (the kernel's nftables rule in the tap test).
    b_rx_drop: f64,
    one_way_us: u64,
    cfg_a: TcpConfig,
    cfg_b: TcpConfig,
}

impl Scenario {
    fn new(name: &'static str, seed: u64, bytes: usize) -> Self {
        Scenario {
            name,
            seed,
            bytes,
            a_tx: FaultConfig::default(),
            a_rx: FaultConfig::default(),
            b_rx_drop: 0.0,
            one_way_us: 100,
            cfg_a: cfg(),
            cfg_b: TcpConfig {
                recv_buf: 1 << 20,
                dsack: true,
                ..cfg()
            },
        }
    }

    /// The tap test's impairment: 2% drop, 2% reorder, 1% duplication both ways at
    /// the sender, and 2% more drop at the receiver.
    fn tap_like(name: &'static str, seed: u64, bytes: usize) -> Self {
        Scenario {
            a_tx: faults(0.02, 0.02, 0.01),
            a_rx: faults(0.02, 0.02, 0.01),
            b_rx_drop: 0.02,
            ..Scenario::new(name, seed, bytes)
        }
    }

    /// Runs the transfer A -> B; panics unless it completes byte-exact within ten
    /// minutes of virtual time.
    fn run(&self) -> Report {
        let plan_a = FaultPlan {
            seed: self.seed,
            rx: self.a_rx,
            tx: self.a_tx,
        };
        let plan_b = FaultPlan {
            seed: self.seed ^ 0x5eed,
            rx: latency(self.b_rx_drop, self.one_way_us),
            tx: latency(0.0, self.one_way_us),
        };
        let mut n = faulty_pair(plan_a, plan_b, self.cfg_a.clone(), self.cfg_b.clone());
        let (ca, cb) = n.open(80);
        // A repeating source: 509 buffers (a prime count) of one pool block each,
        // offered as fast as the engine takes them.
        let pool = n.a.pool();
        let block = pool.buf_capacity();
        let period = 509 * block;
        let stream = pattern(period, self.seed);
        let bufs: Vec<HeapShared> = stream
            .chunks(block)
            .map(|c| pool.shared_from(c).unwrap())
            .collect();
        let dt = Duration::from_micros(20);
        let start = n.clock.now();
        let limit = start + Duration::from_secs(600);
        let (s0a, s0b) = (n.a.tcp.stats().clone(), n.b.tcp.stats().clone());
        let mut offered = 0;
        loop {
            offered += offer(&mut n.a.tcp, ca, &bufs, block, offered, self.bytes);
            n.step();
            let got = n.b.app.log.get(&cb).map_or(0, |l| l.data.len());
            if got >= self.bytes {
                break;
            }
            assert!(
                n.clock.now() < limit,
                "{}: {got} of {} bytes after {:?}\nA: {:?}\nB: {:?}",
                self.name,
                self.bytes,
                n.clock.now().saturating_since(start),
                n.a.tcp.stats(),
                n.b.tcp.stats(),
            );
            n.clock.advance(dt);
        }
        let took = n.clock.now().saturating_since(start);
        let got = &n.b.app.log[&cb].data;
        assert_eq!(got.len(), self.bytes, "{}: bytes received", self.name);
        for (i, chunk) in got.chunks(period).enumerate() {
            assert!(
                chunk == &stream[..chunk.len()],
                "{}: data differs in period {i}",
                self.name
            );
        }
        let (sa, sb) = (n.a.tcp.stats(), n.b.tcp.stats());
        let da = |c| delta(sa, &s0a, c);
        let a_tx: FaultStats = n.a.iface.nic().tx_stats();
        let b_rx: FaultStats = n.b.iface.nic().rx_stats();
        let r = Report {
            took,
            rto: da(Counter::RtoFired),
            fast: da(Counter::FastRetransmits),
            retransmits: da(Counter::Retransmits),
            spurious: delta(sb, &s0b, Counter::DupSegs).saturating_sub(a_tx.duplicated),
            dupacks: da(Counter::DupAcks),
            dropped: a_tx.dropped + b_rx.dropped,
            segs: da(Counter::SegsOut),
        };
        println!(
            "{}: {} bytes in {:?} of virtual time ({:.0} MB/s): {:?}\n  A: {:?}\n  B: {:?}",
            self.name,
            self.bytes,
            took,
            self.bytes as f64 / took.as_secs_f64() / 1e6,
            r,
            sa,
            sb
        );
        r
    }
}

/// How much counter `c` grew from `before` to `now`.
fn delta(now: &TcpStats, before: &TcpStats, c: Counter) -> u64 {
    now.get(c) - before.get(c)
}

/// Offers the engine as much of the stream as it takes; returns the bytes taken.
fn offer(
    tcp: &mut TcpEngine<HeapPool>,
    c: ConnId,
    bufs: &[HeapShared],
    block: usize,
    mut at: usize,
    total: usize,
) -> usize {
    let start = at;
    while at < total {
        let i = (at / block) % bufs.len();
        let off = at % block;
        let end = block.min(off + (total - at));
        match tcp.send(c, &bufs[i], off..end) {
            Ok(0) | Err(_) => break,
            Ok(n) => at += n,
        }
    }
    at - start
}

/// The virtual time a transfer of `bytes` takes over a clean link.
fn clean_time(bytes: usize) -> Duration {
    Scenario::new("clean", 1, bytes).run().took
}

/// A clean link: nothing is retransmitted, no timeout, no fast retransmit, no
/// duplicate ACK, and the transfer is window-limited.
#[test]
fn clean_link_sends_nothing_twice() {
    let r = Scenario::new("clean", 1, 8 * MIB).run();
    assert_eq!((r.retransmits, r.rto, r.fast, r.dupacks), (0, 0, 0, 0));
    // 5,746 segments of 1,460 bytes, one round trip of ~250 µs: the sender's window
    // is the limit, and slow start counts what stretch ACKs acknowledge.
    assert!(r.took < Duration::from_millis(15), "{:?}", r.took);
}

/// The tap test's impairment, three seeds: losses are repaired by SACK and RACK,
/// lost retransmissions and tails by RACK and probes, never a timeout; nothing is
/// sent twice that arrived, and the transfer takes tens of milliseconds, not the
/// tens of seconds a timer-driven recovery takes.
#[test]
fn tap_like_impairment_is_repaired_without_timeouts() {
    for seed in [1234, 1, 2] {
        let r = Scenario::tap_like("tap-like", seed, 8 * MIB).run();
        assert!(r.rto <= 1, "seed {seed}: {r:?}");
        assert!(r.took < Duration::from_millis(250), "seed {seed}: {r:?}");
        // Each drop costs one retransmission, plus the few retransmissions lost
        // in turn (4% of them) and probes.
        assert!(
            r.retransmits <= r.dropped * 11 / 10 + 10,
            "seed {seed}: {r:?}"
        );
        assert!(r.spurious <= r.segs / 200, "seed {seed}: {r:?}");
        assert!(r.fast <= r.dropped, "seed {seed}: {r:?}");
    }
}

/// Reordering alone (2% of frames overtaken by the next in both directions, and
/// 2% of data held for 60% of the round trip): not loss. The reordering window
/// absorbs what it can; what it cannot is resent, reported back with D-SACK, and
/// the window reduction undone.
#[test]
fn reordering_alone_is_not_loss() {
    let s = Scenario {
        a_tx: FaultConfig {
            delay: 0.02,
            delay_us: 150,
            ..faults(0.0, 0.02, 0.0)
        },
        a_rx: faults(0.0, 0.02, 0.0),
        ..Scenario::new("reorder", 7, 8 * MIB)
    };
    let r = s.run();
    assert_eq!(r.rto, 0, "{r:?}");
    assert!(r.retransmits <= 8, "{r:?}");
    assert!(r.took < clean_time(8 * MIB) * 2, "{r:?}");
}

/// Duplication alone (2% of frames both ways): duplicated data draws D-SACKs and
/// duplicated ACKs say nothing new, so nothing is retransmitted and nothing counts
/// as a duplicate ACK.
#[test]
fn duplication_alone_costs_nothing() {
    let s = Scenario {
        a_tx: faults(0.0, 0.0, 0.02),
        a_rx: faults(0.0, 0.0, 0.02),
        ..Scenario::new("duplicate", 9, 8 * MIB)
    };
    let r = s.run();
    assert_eq!(
        (r.retransmits, r.rto, r.fast, r.dupacks),
        (0, 0, 0, 0),
        "{r:?}"
    );
    assert!(r.took <= clean_time(8 * MIB) * 11 / 10, "{r:?}");
}

/// A longer path (10 ms round trip), the same impairment: the probe and
/// reordering timers scale with the RTT and the timer still never fires.
#[test]
fn tap_like_impairment_on_a_longer_path() {
    let r = Scenario {
        one_way_us: 5000,
        ..Scenario::tap_like("tap-like 10 ms", 1234, 4 * MIB)
    }
    .run();
    assert!(r.rto <= 1, "{r:?}");
    assert!(r.spurious <= r.segs / 200, "{r:?}");
    assert!(r.took < Duration::from_secs(4), "{r:?}");
}

/// Without SACK (NewReno, limited transmit): a lost retransmission, or a loss in a
/// window too small for three duplicate ACKs, can only be found by the timer; the
/// transfer still completes with a few timeouts (the engine before RACK-TLP: 47
/// timeouts and 9.7 s of virtual time for this run, and not one fast retransmit:
/// its receiver sent one duplicate ACK per burst, not one per out-of-order
/// segment, so three rarely came).
#[test]
fn tap_like_impairment_without_sack() {
    let mut s = Scenario::tap_like("newreno", 1234, 2 * MIB);
    s.cfg_a.sack = false;
    s.cfg_b.sack = false;
    let r = s.run();
    assert!(r.rto <= 8, "{r:?}");
    assert!(r.took < Duration::from_secs(3), "{r:?}");
}
