//! The harness: one `ix-net` interface over a `FakeNic` and a `VirtualClock`, driven
//! by [`Action`]s, with every invariant checked after every step.
//!
//! Invariants (a failure panics, which libFuzzer reports as a crash):
//! - nothing panics inside `ix-net`;
//! - every transmitted frame passes [`check::frame`];
//! - every bounded structure stays within its configured bound;
//! - every pool buffer in use is accounted for: NIC rings, transmit queue, ARP wait
//!   queues, UDP queues, segments the transport holds, payload frames still refer to;
//!   at the end, with everything drained and every timer run out, none is in use;
//! - UDP bind/unbind/send answer as the configuration says they must;
//! - the interface's frame counters agree with the NIC's.

use crate::addrs::{OUR_IP, OUR_MAC, SUBNET_BROADCAST};
use crate::check;
use crate::emit;
use crate::grammar::{Action, Payload};
use crate::known;
use crate::samples;
use crate::setup::{Setup, BLOCK_SIZE};
use crate::upper::Upper;
use ix_fakenic::FakeNic;
use ix_net::{Event, Interface, SendError, UdpError};
use ix_nic::heap::{HeapPool, HeapShared};
use ix_nic::{VirtualClock, BURST};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// Actions played from one input at most (the rest is ignored).
pub const MAX_ACTIONS: usize = 64;

/// Fill-and-poll rounds of one [`Action::Storm`] at most.
const MAX_STORM_ROUNDS: u8 = 16;

/// Headers in front of a UDP payload inside the MTU: IPv4 and UDP.
const UDP_OVERHEAD: usize = 28;

/// An interface under test and everything needed to check it.
pub struct World {
    iface: Interface<FakeNic, VirtualClock>,
    clock: VirtualClock,
    pool: HeapPool,
    upper: Upper,
    /// The ports bound, as the harness expects them to be.
    bound: Vec<u16>,
    /// Payload buffers the harness froze that a queued frame may still refer to.
    shared: Vec<HeapShared>,
    /// Whether the wire has stopped taking frames (they stay in the NIC's ring).
    stalled: bool,
}

impl World {
    /// A fresh interface made as `setup` says, checked once.
    pub fn new(setup: Setup) -> World {
        let pool = HeapPool::new(setup.pool_blocks(), BLOCK_SIZE);
        let nic = FakeNic::with_ring_depth(OUR_MAC.0, pool.clone(), setup.ring_depth());
        let clock = VirtualClock::new();
        let mut iface =
            Interface::new(nic, clock.clone(), setup.config()).expect("the setup is valid");
        if let Some((ip, mac)) = setup.static_entry() {
            assert!(
                iface.arp_insert_static(ip, mac),
                "empty table refused an entry"
            );
        }
        let mut w = World {
            iface,
            clock,
            pool,
            upper: Upper::new(setup.transport_icmp),
            bound: Vec::new(),
            shared: Vec::new(),
            stalled: false,
        };
        w.check();
        w
    }

    /// Plays `actions` (at most [`MAX_ACTIONS`]) against a fresh interface, then
    /// drains it and checks nothing leaked.
    pub fn run(setup: Setup, actions: &[Action]) {
        let mut w = World::new(setup);
        for a in actions.iter().take(MAX_ACTIONS) {
            w.step(a);
        }
        w.finish();
    }

    /// The interface under test (for tests that look at its counters or call it
    /// directly; what they do is checked by the next [`World::step`] or
    /// [`World::finish`]).
    pub fn iface(&mut self) -> &mut Interface<FakeNic, VirtualClock> {
        &mut self.iface
    }

    /// Pops every transmitted frame, unchecked (for tests that look at them).
    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| self.iface.nic_mut().pop_sent()).collect()
    }

    /// Performs one action, collects and checks what was transmitted, and checks
    /// every invariant.
    pub fn step(&mut self, action: &Action) {
        match action {
            Action::Inject(f) => self.inject(&emit::frame(f)),
            Action::Flood { frame, count } => {
                let bytes = emit::frame(frame);
                for _ in 0..*count {
                    self.inject(&bytes);
                }
            }
            Action::Storm { frame, rounds } => {
                let bytes = emit::frame(frame);
                for _ in 0..=(*rounds % MAX_STORM_ROUNDS) {
                    for _ in 0..BURST {
                        if self.iface.nic_mut().inject(&bytes).is_err() {
                            break;
                        }
                    }
                    self.poll();
                    self.collect_sent();
                }
            }
            Action::Learn(n) => self.inject(&emit::frame(&samples::who_has_us(*n))),
            Action::Advance(ms) => self.clock.advance(Duration::from_millis(ms.0)),
            Action::Poll => self.poll(),
            Action::Bind(p) => self.bind(p.resolve()),
            Action::Unbind(p) => self.unbind(p.resolve()),
            Action::SendUdp {
                from,
                to,
                port,
                payload,
                zero_copy,
            } => {
                let dst = SocketAddrV4::new(to.resolve(), port.resolve());
                self.send(from.resolve(), dst, payload, *zero_copy);
            }
            Action::Drain => self.drain(),
            Action::Stall(on) => self.stalled = *on,
            Action::ArpStatic { ip, mac } => self.arp_static(ip.resolve(), mac.resolve().0),
            Action::ArpRemove(ip) => {
                let ip = ip.resolve();
                self.iface.arp_remove(ip);
                assert_eq!(
                    self.iface.arp_lookup(ip),
                    None,
                    "{ip} still mapped after removal"
                );
            }
            Action::Announce => self.iface.announce(),
            Action::Flush => {
                self.iface.flush();
            }
        }
        self.collect_sent();
        self.check();
    }

    /// Queues `bytes` on the NIC's receive ring (a full ring or pool drops it,
    /// counted by the NIC, as on a real link).
    pub fn inject(&mut self, bytes: &[u8]) {
        let _ = self.iface.nic_mut().inject(bytes);
    }

    /// Runs the interface's poll once.
    pub fn poll(&mut self) {
        let r = self.iface.poll(&mut self.upper);
        assert!(r.rx <= BURST, "received {} frames in one poll", r.rx);
        assert_eq!(r.tx_backlog, self.iface.tx_queued(), "reported backlog");
    }

    /// Binds `port`, checking the answer against the expected table.
    pub fn bind(&mut self, port: u16) {
        let full = self.bound.len() >= self.iface.config().udp_ports;
        let is_bound = self.bound.contains(&port);
        match self.iface.udp_bind(port) {
            Ok(()) => {
                assert!(port != 0 && !is_bound && !full, "bind({port}) succeeded");
                self.bound.push(port);
            }
            Err(UdpError::PortZero) => assert_eq!(port, 0),
            Err(UdpError::InUse(p)) => assert!(p == port && is_bound, "InUse({p})"),
            Err(UdpError::TableFull) => assert!(full, "TableFull with room"),
            Err(e) => panic!("bind({port}) failed with {e:?}"),
        }
    }

    /// Unbinds `port`, checking it releases exactly what was queued.
    pub fn unbind(&mut self, port: u16) {
        let queued = self.iface.udp_queued(port);
        match self.iface.udp_unbind(port) {
            Ok(n) => {
                assert!(
                    self.bound.contains(&port),
                    "unbind({port}) of an unbound port"
                );
                assert_eq!(n, queued, "unbind released a different count");
                self.bound.retain(|&p| p != port);
            }
            Err(UdpError::NotBound(p)) => {
                assert!(p == port && !self.bound.contains(&port), "NotBound({p})")
            }
            Err(e) => panic!("unbind({port}) failed with {e:?}"),
        }
    }

    /// Adds a permanent ARP entry, checking it is then what the table answers.
    ///
    /// Only other stations' unicast MACs: the control plane is trusted, and
    /// `arp_insert_static` takes whatever it is given (a multicast MAC, or ours,
    /// would send unicast IP to it, which the checker rightly refuses).
    fn arp_static(&mut self, ip: Ipv4Addr, mac: [u8; 6]) {
        if mac[0] & 1 != 0 || mac == [0; 6] || mac == OUR_MAC.0 {
            return;
        }
        if self.iface.arp_insert_static(ip, mac) {
            assert_eq!(
                self.iface.arp_lookup(ip),
                Some(mac),
                "static entry for {ip}"
            );
        } else {
            let table = self.iface.config().arp.table_size;
            assert_eq!(self.iface.arp_entries().count(), table, "refused with room");
        }
    }

    /// Sends a datagram from the stack, by reference or by copy.
    fn send(&mut self, from: u16, dst: SocketAddrV4, payload: &Payload, zero_copy: bool) {
        if dst.port() == 0 && known::SENDS_TO_PORT_ZERO {
            return;
        }
        let bytes = payload.to_vec();
        let result = if zero_copy {
            let Ok(shared) = self.pool.shared_from(&bytes) else {
                return; // pool dry: nothing to send from
            };
            let r = self.iface.udp_send(from, dst, &shared, 0..bytes.len());
            self.shared.push(shared);
            r
        } else {
            self.iface.udp_send_copy(from, dst, &bytes)
        };
        let too_big = bytes.len() + UDP_OVERHEAD > self.iface.config().mtu;
        match result {
            Err(SendError::TooBig) => assert!(too_big, "{}-byte datagram TooBig", bytes.len()),
            _ => assert!(
                !too_big,
                "{}-byte datagram over the MTU: {result:?}",
                bytes.len()
            ),
        }
    }

    /// Takes every datagram from every bound port and releases every segment the
    /// transport holds, checking each datagram is addressed to us and to its port.
    pub fn drain(&mut self) {
        for &port in &self.bound {
            while let Some(d) = self.iface.udp_recv(port) {
                assert_eq!(d.dst.port(), port, "datagram for another port");
                let to = *d.dst.ip();
                assert!(
                    to == OUR_IP || to == Ipv4Addr::BROADCAST || to == SUBNET_BROADCAST,
                    "datagram for {to} delivered"
                );
                assert!(d.payload.len() + UDP_OVERHEAD <= BLOCK_SIZE);
            }
        }
        self.upper.release();
    }

    /// Pops every transmitted frame and checks it (unless the wire is stalled).
    fn collect_sent(&mut self) {
        if self.stalled {
            return;
        }
        let mtu = self.iface.config().mtu;
        while let Some(f) = self.iface.nic_mut().pop_sent() {
            if let Err(e) = check::frame(&f, mtu) {
                let head = &f[..f.len().min(80)];
                panic!(
                    "transmitted frame is wrong: {e}\n{} bytes: {head:02x?}",
                    f.len()
                );
            }
        }
    }

    /// Checks bounds, buffer accounting and counters.
    pub fn check(&mut self) {
        let cfg = *self.iface.config();
        let arp_entries = self.iface.arp_entries().count();
        assert!(
            arp_entries <= cfg.arp.table_size,
            "{arp_entries} ARP entries"
        );
        let waiting = self.iface.arp_pending();
        let bound = cfg.arp.pending_hops * cfg.arp.pending_per_hop;
        assert!(
            waiting <= bound,
            "{waiting} packets wait for ARP (bound {bound})"
        );
        let txq = self.iface.tx_queued();
        assert!(
            txq <= BURST + cfg.tx_backlog,
            "{txq} frames queued for transmit"
        );
        let mut queued = 0;
        for &port in &self.bound {
            let q = self.iface.udp_queued(port);
            assert!(q <= cfg.udp_queue_depth, "{q} datagrams queued on {port}");
            queued += q;
        }
        self.shared.retain(|s| s.ref_count() > 1);
        let nic = self.iface.nic();
        let held = nic.rx_pending() + nic.sent_len() + txq + waiting + queued + self.upper.held();
        let in_use = self.pool.stats().in_use();
        assert_eq!(
            in_use,
            (held + self.shared.len()) as u64,
            "buffers in use vs accounted: rx ring {}, sent {}, tx queue {txq}, ARP wait \
             {waiting}, UDP queues {queued}, transport {}, attached payloads {}",
            nic.rx_pending(),
            nic.sent_len(),
            self.upper.held(),
            self.shared.len()
        );
        let (stats, nic_stats) = (self.iface.stats(), nic.stats());
        assert_eq!(
            stats.get(Event::RxFrames),
            nic_stats.rx_frames,
            "rx counters"
        );
        assert_eq!(
            stats.get(Event::TxFrames),
            nic_stats.tx_frames,
            "tx counters"
        );
    }

    /// Drains everything, lets every timer run out, and checks no buffer is left in
    /// use, then that dropping the interface leaves none either.
    pub fn finish(mut self) {
        self.stalled = false;
        self.drain();
        // Each round lets every timer due run (ARP gives up on a silent next hop after
        // `max_requests` rounds), then polls until the receive ring is empty.
        for _ in 0..8 {
            self.clock.advance(Duration::from_secs(120));
            for _ in 0..64 {
                self.poll();
                self.collect_sent();
                if self.iface.nic().rx_pending() == 0 && self.iface.tx_queued() == 0 {
                    break;
                }
            }
            self.drain();
            self.check();
            if self.iface.arp_pending() == 0 {
                break;
            }
        }
        assert_eq!(self.iface.arp_pending(), 0, "packets wait for ARP forever");
        assert_eq!(self.iface.tx_queued(), 0, "frames never leave");
        assert_eq!(self.pool.stats().in_use(), 0, "buffers leaked");
        drop(self.iface);
        drop(self.upper);
        assert_eq!(self.pool.stats().in_use(), 0, "buffers leaked by drop");
    }
}
