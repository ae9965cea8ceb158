//! [`Interface`]: one core's network stack below TCP over one NIC queue pair, and its
//! run-to-completion [`Interface::poll`].

use crate::arp;
use crate::config::{Config, ConfigError};
use crate::context::{SendError, Sent, State, TxContext};
use crate::ingress;
use crate::stats::{Event, Stats};
use crate::transport::Transport;
use crate::udp::{Datagram, UdpError, UdpTable};
use core::ops::Range;
use ix_nic::{Batch, Clock, Nic, RxOf, SharedOf};
use std::net::{Ipv4Addr, SocketAddrV4};

/// What one [`Interface::poll`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Frames received (at most one burst).
    pub rx: usize,
    /// Frames the NIC accepted for transmission.
    pub tx: usize,
    /// Frames still queued for transmission (the NIC's ring was full).
    pub tx_backlog: usize,
}

impl PollReport {
    /// Whether the poll found nothing to do (a caller may back off).
    pub fn is_idle(&self) -> bool {
        self.rx == 0 && self.tx == 0
    }
}

/// One core's interface: owns the NIC queue pair, the clock, and every table, all
/// sized by the [`Config`] when made.
pub struct Interface<N: Nic, C: Clock> {
    nic: N,
    clock: C,
    rx: Batch<RxOf<N::Pool>>,
    st: State<ix_nic::FrameOf<N::Pool>>,
    udp: UdpTable<RxOf<N::Pool>>,
}

impl<N: Nic, C: Clock> core::fmt::Debug for Interface<N, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Interface")
            .field("config", &self.st.cfg)
            .field("mac", &self.st.mac)
            .field("tx_queued", &self.st.txq.len())
            .field("arp_entries", &self.st.cache.len())
            .field("drops", &self.st.stats.total_drops())
            .finish_non_exhaustive()
    }
}

impl<N: Nic, C: Clock> Interface<N, C> {
    /// An interface on `nic` with `config`, timed by `clock`. Allocates every table
    /// now and queues a gratuitous ARP announcement for the first poll.
    pub fn new(nic: N, clock: C, config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        let mac = nic.mac();
        let mut iface = Interface {
            st: State::new(config, mac),
            udp: UdpTable::new(config.udp_ports, config.udp_queue_depth),
            rx: Batch::new(),
            nic,
            clock,
        };
        iface.announce();
        Ok(iface)
    }

    /// Receives a burst, takes each frame up the stack (handing the transport what is
    /// its), lets the transport run, runs ARP timers and transmits what was produced.
    /// Never waits; allocates nothing once warm.
    pub fn poll<T: Transport<N::Pool>>(&mut self, upper: &mut T) -> PollReport {
        let now = self.clock.now();
        let mut report = PollReport::default();
        debug_assert!(self.rx.is_empty());
        report.rx = self.nic.rx_burst(&mut self.rx).min(self.rx.len());
        self.st.stats.count_n(Event::RxFrames, report.rx as u64);
        {
            let mut ctx = TxContext::new(self.nic.pool(), &mut self.st, now);
            for frame in self.rx.drain(..) {
                ingress::frame(&mut ctx, &mut self.udp, upper, frame);
            }
        }
        // Replies to the burst leave before the transport adds its own, freeing room.
        report.tx += self.flush();
        {
            let mut ctx = TxContext::new(self.nic.pool(), &mut self.st, now);
            upper.poll(&mut ctx);
            arp::poll_timers(&mut ctx);
        }
        report.tx += self.flush();
        report.tx_backlog = self.st.txq.len();
        report
    }

    /// Transmits queued frames until the queue is empty or the NIC is full; returns
    /// how many the NIC took.
    pub fn flush(&mut self) -> usize {
        let n = self.st.txq.flush(&mut self.nic);
        self.st.stats.count_n(Event::TxFrames, n as u64);
        n
    }

    /// A context for transmitting outside [`Interface::poll`] (an application sending
    /// between polls); what it queues leaves on the next poll or [`Interface::flush`].
    pub fn tx(&mut self) -> TxContext<'_, N::Pool> {
        let now = self.clock.now();
        TxContext::new(self.nic.pool(), &mut self.st, now)
    }

    /// Queues a gratuitous ARP announcing our address (done once by [`Interface::new`]).
    pub fn announce(&mut self) {
        arp::announce(&mut self.tx());
    }

    /// Starts queueing UDP datagrams for `port` (bounded, see [`Config::udp_queue_depth`]).
    pub fn udp_bind(&mut self, port: u16) -> Result<(), UdpError> {
        self.udp.bind(port)
    }

    /// Stops queueing for `port`, releasing queued datagrams; returns how many.
    pub fn udp_unbind(&mut self, port: u16) -> Result<usize, UdpError> {
        self.udp.unbind(port)
    }

    /// The oldest datagram received on bound `port`.
    pub fn udp_recv(&mut self, port: u16) -> Option<Datagram<RxOf<N::Pool>>> {
        self.udp.recv(port)
    }

    /// Datagrams waiting on `port`.
    pub fn udp_queued(&self, port: u16) -> usize {
        self.udp.queued(port)
    }

    /// Sends a UDP datagram with `payload[range]` attached by reference (zero copy);
    /// it leaves on the next poll or flush. Fails (counted) with
    /// [`SendError::TooBig`] over the MTU, [`SendError::PortZero`] to port 0, or as
    /// [`TxContext::send`] does.
    pub fn udp_send(
        &mut self,
        src_port: u16,
        dst: SocketAddrV4,
        payload: &SharedOf<N::Pool>,
        range: Range<usize>,
    ) -> Result<Sent, SendError> {
        self.tx().udp_send(src_port, dst, payload, range)
    }

    /// Sends a UDP datagram whose small payload is copied (counted by `ix_nic::copy`);
    /// fails as [`Interface::udp_send`] does.
    pub fn udp_send_copy(
        &mut self,
        src_port: u16,
        dst: SocketAddrV4,
        bytes: &[u8],
    ) -> Result<Sent, SendError> {
        self.tx().udp_send_copy(src_port, dst, bytes)
    }

    /// The live ARP mapping for `ip`.
    pub fn arp_lookup(&self, ip: Ipv4Addr) -> Option<[u8; 6]> {
        self.st.cache.peek(ip, self.clock.now())
    }

    /// Adds a mapping that never expires (control plane; test harnesses that skip
    /// ARP); `false` if the table is full of such entries.
    pub fn arp_insert_static(&mut self, ip: Ipv4Addr, mac: [u8; 6]) -> bool {
        let now = self.clock.now();
        self.st.cache.insert_permanent(ip, mac, now)
    }

    /// Forgets `ip`'s mapping; returns whether there was one.
    pub fn arp_remove(&mut self, ip: Ipv4Addr) -> bool {
        self.st.cache.remove(ip)
    }

    /// Live ARP mappings as `(ip, mac)` (control plane).
    pub fn arp_entries(&self) -> impl Iterator<Item = (Ipv4Addr, [u8; 6])> + '_ {
        self.st.cache.iter(self.clock.now())
    }

    /// Packets waiting for ARP resolution.
    pub fn arp_pending(&self) -> usize {
        self.st.pending.frames()
    }

    /// Frames queued for transmission.
    pub fn tx_queued(&self) -> usize {
        self.st.txq.len()
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.st.stats
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.st.cfg
    }

    /// Our MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.st.mac
    }

    /// The NIC.
    pub fn nic(&self) -> &N {
        &self.nic
    }

    /// The NIC, mutably (tests inject frames into a fake one).
    pub fn nic_mut(&mut self) -> &mut N {
        &mut self.nic
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Gives the NIC back, dropping every queued frame and datagram.
    pub fn into_nic(self) -> N {
        self.nic
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ethernet::BROADCAST;
    use crate::ipv4::{PROTO_ICMP, PROTO_UDP};
    use crate::stats::DropReason as D;
    use crate::testutil::*;
    use smoltcp::wire::ArpOperation;

    fn echo(seq: u16) -> Vec<u8> {
        ipv4_frame(PEER, US, PROTO_ICMP, &icmp_echo(1, seq, b"ping"))
    }

    #[test]
    fn ethernet_filtering_is_counted_by_reason() {
        let (mut i, _clock, pool) = iface();
        let ip = echo(0);
        let mut other = ip.clone();
        other[..6].copy_from_slice(&[2, 9, 9, 9, 9, 9]);
        let mut mcast = ip.clone();
        mcast[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0, 0, 1]);
        let ipv6 = eth(US_MAC, PEER_MAC, 0x86dd, &[0x60; 40]);
        let vlan = eth(US_MAC, PEER_MAC, 0x8100, &[0; 46]);
        for f in [
            &other[..],
            &mcast[..],
            &ipv6[..],
            &vlan[..],
            &ip[..13],
            &[][..],
        ] {
            i.nic_mut().inject(f);
        }
        let r = i.poll(&mut ());
        assert_eq!((r.rx, r.tx), (6, 0));
        let s = i.stats();
        assert_eq!(s.dropped(D::EthNotForUs), 1);
        assert_eq!(s.dropped(D::EthMulticast), 1);
        assert_eq!(s.dropped(D::EthUnknownType), 2);
        assert_eq!(s.dropped(D::EthTruncated), 2);
        assert_eq!(s.total_drops(), 6);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn ipv4_drops_through_the_interface() {
        let (mut i, _clock, _pool) = iface();
        let payload = icmp_echo(1, 1, b"x");
        let mut bad_sum = ipv4_frame(PEER, US, PROTO_ICMP, &payload);
        bad_sum[14 + 11] ^= 0xff;
        let frag = ipv4_frame_with(
            PEER,
            US,
            PROTO_UDP,
            b"12345678",
            IpOpts {
                more_frags: true,
                ..IpOpts::default()
            },
        );
        let not_us = ipv4_frame(PEER, Ipv4Addr::new(10, 0, 0, 9), PROTO_ICMP, &payload);
        for f in [bad_sum, frag, not_us] {
            i.nic_mut().inject(&f);
        }
        i.poll(&mut ());
        assert!(i.nic_mut().take_sent().is_empty());
        assert_eq!(i.stats().dropped(D::Ipv4BadChecksum), 1);
        assert_eq!(i.stats().dropped(D::Ipv4Fragment), 1);
        assert_eq!(i.stats().dropped(D::Ipv4NotForUs), 1);
    }

    #[test]
    fn a_full_nic_ring_keeps_frames_for_the_next_poll_within_the_bound() {
        let mut cfg = crate::Config::new(US, 24);
        cfg.tx_backlog = 10;
        let (mut i, _clock, pool) = iface_with(cfg);
        i.nic_mut().tx_limit = 0;
        for seq in 0..64 {
            i.nic_mut().inject(&echo(seq));
        }
        let r = i.poll(&mut ());
        assert_eq!((r.rx, r.tx, r.tx_backlog), (64, 0, 64));
        for seq in 64..80 {
            i.nic_mut().inject(&echo(seq));
        }
        let r = i.poll(&mut ());
        assert_eq!((r.rx, r.tx_backlog), (16, 64 + 10));
        assert_eq!(i.stats().dropped(D::TxQueueFull), 6);
        i.nic_mut().tx_limit = 20;
        let r = i.poll(&mut ());
        // Two flush points per poll (after the burst, after the transport), each
        // stopping at the ring's first refusal.
        assert_eq!((r.tx, r.tx_backlog), (40, 34));
        i.nic_mut().tx_limit = usize::MAX;
        let r = i.poll(&mut ());
        assert_eq!((r.tx, r.tx_backlog), (34, 0));
        let seqs: Vec<u16> = i
            .nic_mut()
            .take_sent()
            .iter()
            .map(|f| u16::from_be_bytes([f[40], f[41]]))
            .collect();
        assert_eq!(
            seqs,
            (0..74).collect::<Vec<_>>(),
            "order kept across refusals"
        );
        assert_eq!(
            i.stats().get(Event::TxFrames),
            74 + 1,
            "plus the announcement"
        );
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn at_most_one_burst_per_poll() {
        let (mut i, _clock, _pool) = iface();
        for seq in 0..100 {
            i.nic_mut().inject(&echo(seq));
        }
        assert_eq!(i.poll(&mut ()).rx, ix_nic::BURST);
        assert_eq!(i.poll(&mut ()).rx, 100 - ix_nic::BURST);
        assert!(i.poll(&mut ()).is_idle());
        assert_eq!(i.stats().get(Event::IcmpEchoReplies), 100);
    }

    #[test]
    fn pool_exhaustion_is_counted_not_fatal() {
        let pool = ix_nic::heap::HeapPool::new(3, 2048);
        let clock = ix_nic::VirtualClock::new();
        let mut i = Interface::new(
            TestNic::new(pool.clone()),
            clock,
            crate::Config::new(US, 24),
        )
        .unwrap();
        i.arp_insert_static(PEER, PEER_MAC);
        let held: Vec<_> = (0..2)
            .map(|_| ix_nic::BufPool::alloc_mut(&pool).unwrap())
            .collect();
        // One block left, taken by the queued announcement: sends fail, counted.
        assert_eq!(
            i.udp_send_copy(1, std::net::SocketAddrV4::new(PEER, 2), b"x"),
            Err(crate::SendError::NoBuffers)
        );
        assert_eq!(i.stats().dropped(D::TxNoBuffers), 1);
        i.poll(&mut ());
        drop(held);
        assert!(i
            .udp_send_copy(1, std::net::SocketAddrV4::new(PEER, 2), b"x")
            .is_ok());
    }

    /// A tiny deterministic generator (xorshift64*): no dependency, same run every time.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn garbage_and_mutated_frames_never_panic_and_never_leak() {
        let (mut i, _clock, pool) = iface();
        i.udp_bind(7).unwrap();
        i.arp_insert_static(PEER, PEER_MAC);
        let seeds = [
            echo(1),
            udp_frame(9, 7, b"datagram"),
            udp_frame(9, 8, b"closed port"),
            arp_frame(ArpOperation::Request, BROADCAST, PEER_MAC, PEER, [0; 6], US),
            ipv4_frame_with(
                PEER,
                US,
                PROTO_UDP,
                &udp(PEER, US, 9, 7, b"opts", false),
                IpOpts {
                    options: &[1, 1, 1, 0],
                    ..IpOpts::default()
                },
            ),
        ];
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut injected = 0u64;
        for round in 0..400 {
            for _ in 0..32 {
                let mut f = seeds[rng.below(seeds.len())].clone();
                match rng.below(4) {
                    0 => {
                        let n = rng.below(4) + 1;
                        for _ in 0..n {
                            let at = rng.below(f.len());
                            f[at] = rng.next() as u8;
                        }
                    }
                    1 => f.truncate(rng.below(f.len() + 1)),
                    2 => {
                        let len = rng.below(200);
                        f = (0..len).map(|_| rng.next() as u8).collect();
                        if len >= 14 && rng.below(2) == 0 {
                            f[..6].copy_from_slice(&US_MAC);
                            f[12..14].copy_from_slice(&[0x08, rng.below(2) as u8 * 6]);
                        }
                    }
                    _ => {}
                }
                i.nic_mut().inject(&f);
                injected += 1;
            }
            i.poll(&mut ());
            i.nic_mut().take_sent();
            while i.udp_recv(7).is_some() {}
            if round % 100 == 0 {
                assert!(pool.stats().in_use() <= 1, "nothing accumulates");
            }
        }
        assert_eq!(i.stats().get(Event::RxFrames), injected);
        assert!(i.stats().total_drops() > 0);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn control_plane_views() {
        let (mut i, _clock, _pool) = iface();
        assert!(i.arp_insert_static(PEER, PEER_MAC));
        assert_eq!(i.arp_entries().collect::<Vec<_>>(), vec![(PEER, PEER_MAC)]);
        assert!(i.arp_remove(PEER));
        assert_eq!(i.mac(), US_MAC);
        assert_eq!(i.config().addr, US);
        let text = i.stats().to_string();
        assert!(text.contains("arp_gratuitous_sent 1\n"));
        assert!(format!("{i:?}").contains("Interface"));
        assert!(Interface::new(
            TestNic::new(ix_nic::heap::HeapPool::new(1, 64)),
            ix_nic::VirtualClock::new(),
            crate::Config::new(Ipv4Addr::BROADCAST, 24)
        )
        .is_err());
    }
}
