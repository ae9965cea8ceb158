//! [`TxContext`]: what a layer holds while it may transmit, and the interface state
//! behind it.
//!
//! Every layer, ours or the upper one, transmits through a `TxContext`: it lends the
//! pool, the ARP state, the transmit queue and the counters for the duration of one
//! step of [`crate::Interface::poll`] (or of one [`crate::Interface::tx`] borrow), and
//! carries that step's time so a whole burst sees one `now`.

use crate::arp::{self, ArpCache, Pending};
use crate::config::{is_unicast, Config};
use crate::icmp::RateLimiter;
use crate::packet::{OutPacket, L4_OFFSET};
use crate::stats::{DropReason, Event, Stats};
use crate::txqueue::TxQueue;
use crate::{ethernet, ipv4, udp};
use core::ops::Range;
use ix_nic::{BufPool, Instant, TxFrame};
use std::net::{Ipv4Addr, SocketAddrV4};

/// Per-interface state shared by the receive and transmit paths.
#[derive(Debug)]
pub(crate) struct State<F> {
    pub cfg: Config,
    pub mac: [u8; 6],
    pub cache: ArpCache,
    pub pending: Pending<F>,
    pub txq: TxQueue<F>,
    pub stats: Stats,
    pub ident: u16,
    pub icmp_limit: RateLimiter,
}

impl<F> State<F> {
    /// State for `cfg` (assumed validated) with every table allocated now.
    pub fn new(cfg: Config, mac: [u8; 6]) -> Self {
        State {
            cache: ArpCache::new(
                cfg.arp.table_size,
                cfg.arp.entry_ttl,
                cfg.arp.refresh_before,
            ),
            pending: Pending::new(cfg.arp.pending_hops, cfg.arp.pending_per_hop),
            txq: TxQueue::new(cfg.tx_backlog),
            stats: Stats::new(),
            ident: 0,
            icmp_limit: RateLimiter::new(cfg.icmp_error_rate, cfg.icmp_error_burst),
            cfg,
            mac,
        }
    }
}

/// Where a packet went when sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// In the transmit queue; it leaves at the end of this poll (or the next, if the
    /// NIC's ring is full).
    Queued,
    /// Waiting for its next hop's ARP reply; it leaves when that comes, or is dropped
    /// (and counted) if it never does.
    AwaitingArp,
}

/// Why a packet was not sent; the drop is counted under [`SendError::reason`] by the
/// [`TxContext`] call that returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// No buffer for the frame, or no attachment slot left in it.
    #[error("no buffers")]
    NoBuffers,
    /// The transmit backlog is full.
    #[error("transmit queue full")]
    QueueFull,
    /// The destination cannot be reached: off-link with no gateway, ours, or not unicast
    /// nor broadcast.
    #[error("no route to host")]
    NoRoute,
    /// Over the MTU or the frame's room (no fragmentation).
    #[error("packet too big")]
    TooBig,
    /// Too many packets already wait for this next hop's ARP reply.
    #[error("ARP queue for the next hop is full")]
    ArpQueueFull,
    /// Too many next hops are being resolved at once.
    #[error("too many ARP resolutions in progress")]
    ArpBusy,
    /// A UDP datagram to destination port 0, which names no socket (Linux's `sendto`
    /// refuses it with EINVAL; our receive path drops such datagrams as malformed).
    #[error("destination port 0")]
    PortZero,
}

impl SendError {
    /// The counter this failure is counted under.
    pub fn reason(self) -> DropReason {
        match self {
            SendError::NoBuffers => DropReason::TxNoBuffers,
            SendError::QueueFull => DropReason::TxQueueFull,
            SendError::NoRoute => DropReason::TxNoRoute,
            SendError::TooBig => DropReason::TxTooBig,
            SendError::ArpQueueFull => DropReason::ArpPendingFull,
            SendError::ArpBusy => DropReason::ArpPendingHopsFull,
            SendError::PortZero => DropReason::TxPortZero,
        }
    }
}

/// The next hop of a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NextHop {
    /// The Ethernet broadcast address (no ARP).
    Broadcast,
    /// This neighbour's MAC, through ARP.
    Neighbour(Ipv4Addr),
}

/// The right to transmit during one step: lends the pool, ARP, the transmit queue and
/// the counters, and fixes the time.
pub struct TxContext<'a, P: BufPool> {
    pool: &'a P,
    st: &'a mut State<P::Frame>,
    now: Instant,
}

impl<P: BufPool> core::fmt::Debug for TxContext<'_, P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TxContext")
            .field("now", &self.now)
            .field("addr", &self.st.cfg.addr)
            .field("tx_room", &self.st.txq.room())
            .finish_non_exhaustive()
    }
}

impl<'a, P: BufPool> TxContext<'a, P> {
    pub(crate) fn new(pool: &'a P, st: &'a mut State<P::Frame>, now: Instant) -> Self {
        TxContext { pool, st, now }
    }

    pub(crate) fn st(&mut self) -> &mut State<P::Frame> {
        self.st
    }

    /// The time of this step (read once from the interface's clock).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The pool frames and payload buffers come from.
    pub fn pool(&self) -> &'a P {
        self.pool
    }

    /// Our IPv4 address (every packet's source).
    pub fn local_addr(&self) -> Ipv4Addr {
        self.st.cfg.addr
    }

    /// Our MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.st.mac
    }

    /// The largest IPv4 packet that can be sent, header included.
    pub fn mtu(&self) -> usize {
        self.st.cfg.mtu
    }

    /// The interface configuration.
    pub fn config(&self) -> &Config {
        &self.st.cfg
    }

    /// Frames that can still be queued for transmission now: a transport with more to
    /// send than this should keep it for the next poll rather than have it dropped.
    pub fn tx_room(&self) -> usize {
        self.st.txq.room()
    }

    /// The interface's counters.
    pub fn stats(&self) -> &Stats {
        &self.st.stats
    }

    /// Counts `e` as a drop and hands it back (for `?`).
    #[inline]
    pub(crate) fn fail(&mut self, e: SendError) -> SendError {
        self.st.stats.drop(e.reason());
        e
    }

    /// Queues a finished frame; counts and drops it if the queue is full.
    #[inline]
    pub(crate) fn queue(&mut self, frame: P::Frame) -> Result<(), SendError> {
        match self.st.txq.push(frame) {
            Ok(()) => Ok(()),
            Err(_dropped) => Err(self.fail(SendError::QueueFull)),
        }
    }

    /// Allocates a frame for an IPv4 packet to `dst` carrying `protocol`, with the
    /// Ethernet and IPv4 headers reserved and `l4_header_len` bytes of L4 header
    /// (contents unspecified) ready in [`OutPacket::l4_mut`].
    #[inline]
    pub fn packet(
        &mut self,
        dst: Ipv4Addr,
        protocol: u8,
        l4_header_len: usize,
    ) -> Result<OutPacket<P::Frame>, SendError> {
        let mut frame = self
            .pool
            .alloc_frame()
            .map_err(|_| self.fail(SendError::NoBuffers))?;
        let Some(len) = L4_OFFSET.checked_add(l4_header_len) else {
            return Err(self.fail(SendError::TooBig));
        };
        if frame.append(len).is_none() {
            return Err(self.fail(SendError::TooBig));
        }
        Ok(OutPacket::new(frame, self.st.cfg.addr, dst, protocol))
    }

    /// Emits `pkt`'s IPv4 and Ethernet headers, resolves its next hop and queues it.
    /// On error the packet is dropped and counted.
    #[inline]
    pub fn send(&mut self, pkt: OutPacket<P::Frame>) -> Result<Sent, SendError> {
        let (mut frame, src, dst, protocol) = pkt.into_parts();
        let ip_len = frame.len().saturating_sub(ethernet::HEADER_LEN);
        let payload_len = ip_len.saturating_sub(ipv4::HEADER_LEN);
        let (Ok(payload_len), true) = (u16::try_from(payload_len), ip_len <= self.st.cfg.mtu)
        else {
            return Err(self.fail(SendError::TooBig));
        };
        let Some(hop) = self.next_hop(dst) else {
            return Err(self.fail(SendError::NoRoute));
        };
        let ident = self.st.ident;
        self.st.ident = ident.wrapping_add(1);
        let buf = frame.linear_mut();
        ethernet::write_header(
            buf,
            ethernet::BROADCAST,
            self.st.mac,
            ethernet::ETHERTYPE_IPV4,
        );
        if let Some(ip) = buf.get_mut(ethernet::HEADER_LEN..) {
            let h = ipv4::Header {
                src,
                dst,
                protocol,
                ttl: self.st.cfg.ttl,
                ident,
            };
            h.write(ip, payload_len);
        }
        self.st.stats.count(Event::Ipv4Sent);
        match hop {
            NextHop::Broadcast => self.queue(frame).map(|()| Sent::Queued),
            NextHop::Neighbour(ip) => arp::output(self, ip, frame),
        }
    }

    /// Where a packet to `dst` goes first; `None` if nowhere.
    fn next_hop(&self, dst: Ipv4Addr) -> Option<NextHop> {
        let cfg = &self.st.cfg;
        if cfg.is_broadcast(dst) {
            Some(NextHop::Broadcast)
        } else if !is_unicast(dst) || dst == cfg.addr {
            // No loopback: a packet to ourselves never reaches the wire.
            None
        } else if cfg.on_link(dst) {
            Some(NextHop::Neighbour(dst))
        } else {
            cfg.gateway.map(NextHop::Neighbour)
        }
    }

    /// Sends a UDP datagram from our `src_port` to `dst` whose payload is
    /// `payload[range]`, attached by reference (zero copy). A datagram over the MTU
    /// fails with [`SendError::TooBig`], one to port 0 with [`SendError::PortZero`].
    pub fn udp_send(
        &mut self,
        src_port: u16,
        dst: SocketAddrV4,
        payload: &P::Shared,
        range: Range<usize>,
    ) -> Result<Sent, SendError> {
        udp::send(self, src_port, dst, udp::Payload::Shared(payload, range))
    }

    /// Sends a UDP datagram whose small payload `bytes` is copied into the frame
    /// (counted by [`ix_nic::copy`]); fails as [`TxContext::udp_send`] does.
    pub fn udp_send_copy(
        &mut self,
        src_port: u16,
        dst: SocketAddrV4,
        bytes: &[u8],
    ) -> Result<Sent, SendError> {
        udp::send(self, src_port, dst, udp::Payload::Copied(bytes))
    }
}
