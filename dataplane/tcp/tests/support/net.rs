//! Two hosts on one fake link and one virtual clock, stepped together.

use super::{Host, A, B, MAC_A, MAC_B};
use ix_fakenic::{FakeLink, FakeNic};
use ix_fault::{FaultPlan, FaultyNic};
use ix_nic::heap::HeapPool;
use ix_nic::{Clock, Nic, VirtualClock};
use ix_tcp::{ConnId, TcpConfig};
use std::net::SocketAddrV4;
use std::time::Duration;

/// Two hosts on one link and one clock.
pub struct Net<N: Nic<Pool = HeapPool>> {
    pub clock: VirtualClock,
    pub a: Host<N>,
    pub b: Host<N>,
}

impl<N: Nic<Pool = HeapPool>> Net<N> {
    /// One round: A polls, then B.
    pub fn step(&mut self) {
        self.a.poll();
        self.b.poll();
    }

    /// Whether A's `ca` and B's `cb` have both ended.
    pub fn both_dead(&self, ca: ConnId, cb: ConnId) -> bool {
        self.a.dead(ca).is_some() && self.b.dead(cb).is_some()
    }

    /// The virtual time in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.clock.now().as_millis()
    }

    /// Steps, advancing the clock by `dt` between steps, until `cond` holds or
    /// `limit` of virtual time passed; returns whether `cond` held.
    pub fn run_until(
        &mut self,
        limit: Duration,
        dt: Duration,
        mut cond: impl FnMut(&mut Self) -> bool,
    ) -> bool {
        let end = self.clock.now() + limit;
        loop {
            self.step();
            if cond(self) {
                return true;
            }
            if self.clock.now() >= end {
                return false;
            }
            self.clock.advance(dt);
        }
    }

    /// Steps for `d` of virtual time in increments of `dt`.
    pub fn run_for(&mut self, d: Duration, dt: Duration) {
        self.run_until(d, dt, |_| false);
    }

    /// Connects A to B's `port`; returns (A's id, B's id) once both are open.
    pub fn open(&mut self, port: u16) -> (ConnId, ConnId) {
        let _ = self.b.tcp.listen(port);
        let ca = self
            .a
            .tcp
            .connect(SocketAddrV4::new(B, port), None)
            .unwrap();
        let ok = self.run_until(Duration::from_secs(5), Duration::from_micros(100), |n| {
            n.a.app.log.get(&ca).is_some_and(|l| l.connected) && !n.b.app.knocks.is_empty()
        });
        assert!(ok, "handshake did not complete");
        let cb = *self.b.app.knocks.last().unwrap();
        (ca, cb)
    }
}

/// Two hosts (A and B, configured by `cfg_a` and `cfg_b`) on a fake link.
pub fn pair_with(cfg_a: TcpConfig, cfg_b: TcpConfig) -> Net<FakeNic> {
    let clock = VirtualClock::new();
    let (na, nb) = FakeLink::pair(MAC_A, MAC_B, 16384, 2048);
    let mut a = Host::new(na, clock.clone(), A, cfg_a);
    let mut b = Host::new(nb, clock.clone(), B, cfg_b);
    a.iface.arp_insert_static(B, MAC_B);
    b.iface.arp_insert_static(A, MAC_A);
    Net { clock, a, b }
}

/// Two hosts with the test configuration on a fake link.
pub fn pair() -> Net<FakeNic> {
    pair_with(super::cfg(), super::cfg())
}

/// A fake NIC behind the fault injector.
pub type Faulty = FaultyNic<FakeNic, VirtualClock>;

/// Two hosts on a fake link, each NIC impaired by its fault plan.
pub fn faulty_pair(
    plan_a: FaultPlan,
    plan_b: FaultPlan,
    cfg_a: TcpConfig,
    cfg_b: TcpConfig,
) -> Net<Faulty> {
    let clock = VirtualClock::new();
    let (na, nb) = FakeLink::pair(MAC_A, MAC_B, 16384, 2048);
    let na = FaultyNic::new(na, clock.clone(), &plan_a).unwrap();
    let nb = FaultyNic::new(nb, clock.clone(), &plan_b).unwrap();
    let mut a = Host::new(na, clock.clone(), A, cfg_a);
    let mut b = Host::new(nb, clock.clone(), B, cfg_b);
    a.iface.arp_insert_static(B, MAC_B);
    b.iface.arp_insert_static(A, MAC_A);
    Net { clock, a, b }
}
