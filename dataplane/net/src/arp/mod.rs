//! ARP (RFC 826) for Ethernet/IPv4: answering for our address, learning neighbours,
//! resolving next hops for outgoing packets, and announcing ourselves.
//!
//! Learning follows RFC 826's merge rule: a sender already in the table is refreshed
//! by any ARP it sends; a new sender is added only when the packet is addressed to us
//! (or answers a resolution we started). Neighbours' gratuitous announcements refresh
//! what we know of them; other requests for other addresses are counted and
//! otherwise ignored. Replies to requests are made in place, turning the received
//! frame into the reply: no allocation, no copy.

pub mod cache;
pub mod pending;

pub use cache::{ArpCache, Lookup};
pub use pending::{Enqueued, Pending, Tick};

use crate::context::{SendError, Sent, State, TxContext};
use crate::ethernet::{self, BROADCAST, ETHERTYPE_ARP};
use crate::stats::{DropReason, Event};
use ix_nic::{BufPool, RxBuf, TxFrame};
use smoltcp::wire::{ArpOperation, ArpPacket, ArpRepr, EthernetAddress};
use std::net::Ipv4Addr;

/// Bytes of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;

/// Bytes of a frame carrying one (before link padding).
pub const FRAME_LEN: usize = ethernet::HEADER_LEN + PACKET_LEN;

/// The fields of a received Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpFields {
    /// Request or reply.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub sha: [u8; 6],
    /// Sender protocol address.
    pub spa: Ipv4Addr,
    /// Target hardware address.
    pub tha: [u8; 6],
    /// Target protocol address.
    pub tpa: Ipv4Addr,
}

/// Reads the ARP packet in `frame` (after its Ethernet header); `None` unless it is a
/// well-formed Ethernet/IPv4 request or reply.
pub fn parse(frame: &[u8]) -> Option<ArpFields> {
    let body = frame.get(ethernet::HEADER_LEN..)?;
    let pkt = ArpPacket::new_checked(body).ok()?;
    let ArpRepr::EthernetIpv4 {
        operation,
        source_hardware_addr,
        source_protocol_addr,
        target_hardware_addr,
        target_protocol_addr,
    } = ArpRepr::parse(&pkt).ok()?
    else {
        return None;
    };
    if !matches!(operation, ArpOperation::Request | ArpOperation::Reply) {
        return None;
    }
    Some(ArpFields {
        operation,
        sha: source_hardware_addr.0,
        spa: source_protocol_addr,
        tha: target_hardware_addr.0,
        tpa: target_protocol_addr,
    })
}

/// Writes a whole ARP frame at the start of `buf`; `None` if `buf` is too short.
fn write(buf: &mut [u8], eth_dst: [u8; 6], fields: &ArpFields) -> Option<()> {
    let frame = buf.get_mut(..FRAME_LEN)?;
    ethernet::write_header(frame, eth_dst, fields.sha, ETHERTYPE_ARP);
    let mut pkt = ArpPacket::new_unchecked(frame.get_mut(ethernet::HEADER_LEN..)?);
    ArpRepr::EthernetIpv4 {
        operation: fields.operation,
        source_hardware_addr: EthernetAddress(fields.sha),
        source_protocol_addr: fields.spa,
        target_hardware_addr: EthernetAddress(fields.tha),
        target_protocol_addr: fields.tpa,
    }
    .emit(&mut pkt);
    Some(())
}

/// Handles a received ARP frame: learns, answers requests for our address, and
/// releases packets waiting for the sender.
pub(crate) fn receive<P: BufPool>(ctx: &mut TxContext<'_, P>, rx: P::Rx) {
    let now = ctx.now();
    let st = ctx.st();
    let Some(arp) = parse(rx.data()) else {
        st.stats.drop(DropReason::ArpMalformed);
        return;
    };
    if ethernet::is_multicast(arp.sha) || arp.sha == [0; 6] || arp.sha == st.mac {
        // A group address cannot own an IP address; our own MAC is our own frame
        // reflected back.
        st.stats.drop(DropReason::ArpBadSender);
        return;
    }
    if arp.spa == st.cfg.addr {
        st.stats.drop(DropReason::ArpAddrConflict);
        return;
    }
    let for_us = arp.tpa == st.cfg.addr;
    // 0.0.0.0 is an address probe (RFC 5227): answer it, learn nothing. Senders off
    // our subnet are never neighbours.
    if !arp.spa.is_unspecified() && st.cfg.on_link(arp.spa) {
        let learned = if for_us || st.pending.is_pending(arp.spa) {
            st.cache.insert(arp.spa, arp.sha, now)
        } else {
            st.cache.update_existing(arp.spa, arp.sha, now)
        };
        if learned {
            st.stats.count(Event::ArpLearned);
            release(st, arp.spa, arp.sha);
        }
    }
    match arp.operation {
        ArpOperation::Request if for_us => reply(ctx, rx, &arp),
        // A neighbour announcing itself (gratuitous ARP): merged above, not a drop.
        ArpOperation::Request if arp.spa == arp.tpa => st.stats.count(Event::ArpAnnouncementsSeen),
        ArpOperation::Request => st.stats.drop(DropReason::ArpNotForUs),
        // A reply has done its work by being learned from.
        _ => {}
    }
}

/// Sends the packets waiting for `ip`, now known to be at `mac`.
fn release<F: TxFrame>(st: &mut State<F>, ip: Ipv4Addr, mac: [u8; 6]) {
    let State {
        pending,
        txq,
        stats,
        ..
    } = st;
    let n = pending.resolve(ip, |mut frame| {
        ethernet::set_dst(frame.linear_mut(), mac);
        if txq.push(frame).is_err() {
            stats.drop(DropReason::TxQueueFull);
        }
    });
    stats.count_n(Event::ArpPendingReleased, n as u64);
}

/// Turns the request in `rx` into our reply, in place.
fn reply<P: BufPool>(ctx: &mut TxContext<'_, P>, rx: P::Rx, req: &ArpFields) {
    let mut frame = ctx.pool().rx_into_frame(rx);
    frame.truncate(FRAME_LEN);
    let answer = ArpFields {
        operation: ArpOperation::Reply,
        sha: ctx.mac(),
        spa: ctx.local_addr(),
        tha: req.sha,
        tpa: req.spa,
    };
    if write(frame.linear_mut(), req.sha, &answer).is_none() {
        // Unreachable: parse() saw a whole ARP packet in this very buffer.
        ctx.st().stats.drop(DropReason::ArpMalformed);
        return;
    }
    if ctx.queue(frame).is_ok() {
        ctx.st().stats.count(Event::ArpRepliesSent);
    }
}

/// Queues a request from us for `tpa`, to `eth_dst`; returns whether it was queued.
fn request<P: BufPool>(ctx: &mut TxContext<'_, P>, eth_dst: [u8; 6], tpa: Ipv4Addr) -> bool {
    let Ok(mut frame) = ctx.pool().alloc_frame() else {
        ctx.fail(SendError::NoBuffers);
        return false;
    };
    let fields = ArpFields {
        operation: ArpOperation::Request,
        sha: ctx.mac(),
        spa: ctx.local_addr(),
        tha: [0; 6],
        tpa,
    };
    let written = frame
        .append(FRAME_LEN)
        .and_then(|buf| write(buf, eth_dst, &fields));
    if written.is_none() {
        ctx.fail(SendError::TooBig);
        return false;
    }
    ctx.queue(frame).is_ok()
}

/// Asks who has `ip`: broadcast for a resolution, unicast to `eth_dst` for a refresh.
pub(crate) fn send_request<P: BufPool>(ctx: &mut TxContext<'_, P>, ip: Ipv4Addr, eth_dst: [u8; 6]) {
    if request(ctx, eth_dst, ip) {
        ctx.st().stats.count(Event::ArpRequestsSent);
    }
}

/// Announces our address to the link with a gratuitous ARP request (RFC 5227
/// announcement: sender and target both our address), so neighbours update caches.
pub(crate) fn announce<P: BufPool>(ctx: &mut TxContext<'_, P>) {
    let ours = ctx.local_addr();
    if request(ctx, BROADCAST, ours) {
        ctx.st().stats.count(Event::ArpGratuitousSent);
    }
}

/// Addresses a finished IPv4 frame to neighbour `hop` and queues it, or parks it
/// until `hop` is resolved (sending the first request).
#[inline]
pub(crate) fn output<P: BufPool>(
    ctx: &mut TxContext<'_, P>,
    hop: Ipv4Addr,
    mut frame: P::Frame,
) -> Result<Sent, SendError> {
    let now = ctx.now();
    let st = ctx.st();
    match st.cache.lookup(hop, now) {
        Lookup::Hit(mac) => {
            ethernet::set_dst(frame.linear_mut(), mac);
            ctx.queue(frame).map(|()| Sent::Queued)
        }
        Lookup::Refresh(mac) => {
            ethernet::set_dst(frame.linear_mut(), mac);
            let queued = ctx.queue(frame).map(|()| Sent::Queued);
            send_request(ctx, hop, mac);
            queued
        }
        Lookup::Miss => {
            let retry = st.cfg.arp.retry_interval;
            match st.pending.enqueue(hop, frame, now, retry) {
                Enqueued::NewHop => {
                    send_request(ctx, hop, BROADCAST);
                    Ok(Sent::AwaitingArp)
                }
                Enqueued::Queued => Ok(Sent::AwaitingArp),
                Enqueued::HopFull(_dropped) => Err(ctx.fail(SendError::ArpQueueFull)),
                Enqueued::NoSlot(_dropped) => Err(ctx.fail(SendError::ArpBusy)),
            }
        }
    }
}

/// Runs the resolution timers: re-sends due requests, and drops (counting them) the
/// packets of next hops that never answered.
pub(crate) fn poll_timers<P: BufPool>(ctx: &mut TxContext<'_, P>) {
    if ctx.st().pending.active_hops() == 0 {
        return;
    }
    let now = ctx.now();
    let (retry, max) = (
        ctx.config().arp.retry_interval,
        ctx.config().arp.max_requests,
    );
    for i in 0..ctx.st().pending.slots() {
        match ctx.st().pending.tick(i, now, retry, max) {
            Tick::Idle => {}
            Tick::Retry(ip) => send_request(ctx, ip, BROADCAST),
            Tick::GaveUp(_, n) => ctx.st().stats.drop_n(DropReason::ArpUnresolved, n as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::DropReason as D;
    use crate::testutil::*;
    use crate::{Config, Sent};
    use smoltcp::wire::ArpOperation::{Reply, Request};
    use std::net::SocketAddrV4;
    use std::time::Duration;

    const PEER3: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
    const MAC3: [u8; 6] = [2, 0, 0, 0, 0, 3];

    fn request_from_peer(tpa: Ipv4Addr) -> Vec<u8> {
        arp_frame(Request, BROADCAST, PEER_MAC, PEER, [0; 6], tpa)
    }

    fn reply_from_peer() -> Vec<u8> {
        arp_frame(Reply, US_MAC, PEER_MAC, PEER, US_MAC, US)
    }

    fn arp_of(frame: &[u8]) -> (ethernet::EthHeader, ArpFields) {
        assert_eq!(frame.len(), FRAME_LEN);
        (ethernet::parse(frame).unwrap(), parse(frame).unwrap())
    }

    fn to_peer(port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(PEER, port)
    }

    #[test]
    fn gratuitous_announcement_on_start() {
        let pool = ix_nic::heap::HeapPool::new(16, 2048);
        let clock = ix_nic::VirtualClock::new();
        let mut i =
            crate::Interface::new(TestNic::new(pool.clone()), clock, Config::new(US, 24)).unwrap();
        let r = i.poll(&mut ());
        assert_eq!(r.tx, 1);
        let sent = i.nic_mut().take_sent();
        let (eth, a) = arp_of(&sent[0]);
        assert_eq!(
            (eth.dst, eth.src, eth.ethertype),
            (BROADCAST, US_MAC, 0x0806)
        );
        assert_eq!(a.operation, Request);
        assert_eq!((a.sha, a.spa, a.tha, a.tpa), (US_MAC, US, [0; 6], US));
        assert_eq!(i.stats().get(Event::ArpGratuitousSent), 1);
        assert!(i.poll(&mut ()).is_idle(), "announced once");
        drop(sent);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn replies_to_a_request_for_us_in_place_and_learns() {
        let (mut i, _clock, pool) = iface();
        let mut req = request_from_peer(US);
        req.resize(60, 0); // link padding must not leak into the reply
        i.nic_mut().inject(&req);
        let allocs = pool.stats().allocs;
        i.poll(&mut ());
        assert_eq!(
            pool.stats().allocs - allocs,
            0,
            "reply reuses the request's buffer"
        );
        let sent = i.nic_mut().take_sent();
        assert_eq!(sent.len(), 1);
        let (eth, a) = arp_of(&sent[0]);
        assert_eq!((eth.dst, eth.src), (PEER_MAC, US_MAC));
        assert_eq!(a.operation, Reply);
        assert_eq!((a.sha, a.spa, a.tha, a.tpa), (US_MAC, US, PEER_MAC, PEER));
        assert_eq!(
            i.arp_lookup(PEER),
            Some(PEER_MAC),
            "learned from a request to us"
        );
        assert_eq!(i.stats().get(Event::ArpRepliesSent), 1);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn learns_from_replies_to_us() {
        let (mut i, _clock, _pool) = iface();
        i.nic_mut().inject(&reply_from_peer());
        i.poll(&mut ());
        assert!(
            i.nic_mut().take_sent().is_empty(),
            "a reply is not answered"
        );
        assert_eq!(i.arp_lookup(PEER), Some(PEER_MAC));
        assert_eq!(i.stats().get(Event::ArpLearned), 1);
    }

    #[test]
    fn requests_for_other_addresses_are_ignored_and_counted() {
        let (mut i, _clock, _pool) = iface();
        i.nic_mut().inject(&request_from_peer(PEER3));
        i.poll(&mut ());
        assert!(i.nic_mut().take_sent().is_empty());
        assert_eq!(i.arp_lookup(PEER), None, "not learned: not for us");
        assert_eq!(i.stats().dropped(D::ArpNotForUs), 1);
        // ...but a sender we already know is refreshed (RFC 826 merge), e.g. a new MAC.
        i.arp_insert_static(PEER3, MAC3);
        i.nic_mut().inject(&reply_from_peer());
        i.poll(&mut ());
        let moved = [2, 0, 0, 0, 0, 0x22];
        i.nic_mut()
            .inject(&arp_frame(Request, BROADCAST, moved, PEER, [0; 6], PEER3));
        i.poll(&mut ());
        assert_eq!(i.arp_lookup(PEER), Some(moved));
        assert_eq!(i.stats().dropped(D::ArpNotForUs), 2);
    }

    #[test]
    fn neighbour_announcements_update_known_entries_without_a_drop() {
        let (mut i, _clock, _pool) = iface();
        let announce = |mac| arp_frame(Request, BROADCAST, mac, PEER, [0; 6], PEER);
        i.nic_mut().inject(&announce(PEER_MAC));
        i.poll(&mut ());
        assert_eq!(i.arp_lookup(PEER), None, "not learned: RFC 826 merges only");
        i.arp_insert_static(PEER3, MAC3);
        i.nic_mut().inject(&reply_from_peer());
        i.nic_mut().inject(&announce(MAC3));
        i.poll(&mut ());
        assert_eq!(i.arp_lookup(PEER), Some(MAC3), "moved to a new MAC");
        assert_eq!(i.stats().get(Event::ArpAnnouncementsSeen), 2);
        assert_eq!(i.stats().total_drops(), 0);
        assert!(i.nic_mut().take_sent().is_empty());
    }

    #[test]
    fn malformed_and_hostile_arp_is_counted() {
        let (mut i, _clock, _pool) = iface();
        let good = request_from_peer(US);
        i.nic_mut().inject(&good[..30]); // truncated
        let mut bad_hw = good.clone();
        bad_hw[14 + 1] = 6; // hardware type 0x0006
        i.nic_mut().inject(&bad_hw);
        let mut bad_op = good.clone();
        bad_op[14 + 7] = 9;
        i.nic_mut().inject(&bad_op);
        let group_sender = arp_frame(
            Request,
            BROADCAST,
            [0x01, 0, 0x5e, 0, 0, 1],
            PEER,
            [0; 6],
            US,
        );
        // From a group MAC on the wire too: refused by Ethernet before ARP sees it.
        i.nic_mut().inject(&group_sender);
        // From a station's MAC, claiming a group, zero or our MAC as sender.
        for sha in [[0x01, 0, 0x5e, 0, 0, 1], [0; 6], US_MAC] {
            let mut f = arp_frame(Request, BROADCAST, sha, PEER, [0; 6], US);
            f[6..12].copy_from_slice(&PEER_MAC);
            i.nic_mut().inject(&f);
        }
        i.nic_mut()
            .inject(&arp_frame(Request, BROADCAST, PEER_MAC, US, [0; 6], US));
        i.poll(&mut ());
        assert!(i.nic_mut().take_sent().is_empty());
        assert_eq!(i.stats().dropped(D::ArpMalformed), 3);
        assert_eq!(i.stats().dropped(D::EthSourceMulticast), 1);
        assert_eq!(i.stats().dropped(D::ArpBadSender), 3);
        assert_eq!(i.stats().dropped(D::ArpAddrConflict), 1);
        assert_eq!(i.arp_entries().count(), 0);
    }

    #[test]
    fn probe_from_unspecified_is_answered_without_learning() {
        let (mut i, _clock, _pool) = iface();
        i.nic_mut().inject(&arp_frame(
            Request,
            BROADCAST,
            PEER_MAC,
            Ipv4Addr::UNSPECIFIED,
            [0; 6],
            US,
        ));
        i.poll(&mut ());
        let sent = i.nic_mut().take_sent();
        let (_, a) = arp_of(&sent[0]);
        assert_eq!((a.operation, a.tpa), (Reply, Ipv4Addr::UNSPECIFIED));
        assert_eq!(i.arp_entries().count(), 0);
    }

    #[test]
    fn entries_expire_on_the_virtual_clock() {
        let mut cfg = Config::new(US, 24);
        cfg.arp.entry_ttl = Duration::from_secs(30);
        cfg.arp.refresh_before = Duration::ZERO;
        let (mut i, clock, _pool) = iface_with(cfg);
        i.nic_mut().inject(&reply_from_peer());
        i.poll(&mut ());
        clock.advance(Duration::from_millis(29_999));
        assert_eq!(i.arp_lookup(PEER), Some(PEER_MAC));
        assert_eq!(i.udp_send_copy(9, to_peer(9), b"x"), Ok(Sent::Queued));
        i.poll(&mut ());
        assert_eq!(i.nic_mut().take_sent().len(), 1, "datagram only, no ARP");
        clock.advance(Duration::from_millis(1));
        assert_eq!(i.arp_lookup(PEER), None, "expired");
        assert_eq!(i.udp_send_copy(9, to_peer(9), b"y"), Ok(Sent::AwaitingArp));
        i.poll(&mut ());
        let sent = i.nic_mut().take_sent();
        assert_eq!(sent.len(), 1);
        let (eth, a) = arp_of(&sent[0]);
        assert_eq!((eth.dst, a.operation, a.tpa), (BROADCAST, Request, PEER));
    }

    #[test]
    fn near_expiry_entry_is_refreshed_by_unicast_while_still_used() {
        let mut cfg = Config::new(US, 24);
        cfg.arp.entry_ttl = Duration::from_secs(30);
        cfg.arp.refresh_before = Duration::from_secs(5);
        let (mut i, clock, _pool) = iface_with(cfg);
        i.nic_mut().inject(&reply_from_peer());
        i.poll(&mut ());
        clock.advance(Duration::from_secs(26));
        assert_eq!(i.udp_send_copy(9, to_peer(9), b"x"), Ok(Sent::Queued));
        assert_eq!(i.udp_send_copy(9, to_peer(9), b"x"), Ok(Sent::Queued));
        i.poll(&mut ());
        let sent = i.nic_mut().take_sent();
        assert_eq!(sent.len(), 3, "two datagrams and one refresh");
        let (eth, a) = arp_of(&sent[1]);
        assert_eq!((eth.dst, a.operation, a.tpa), (PEER_MAC, Request, PEER));
        // The answer re-confirms the entry for another full lifetime.
        i.nic_mut().inject(&reply_from_peer());
        i.poll(&mut ());
        clock.advance(Duration::from_secs(20));
        assert_eq!(i.arp_lookup(PEER), Some(PEER_MAC));
    }

    #[test]
    fn pending_queue_is_bounded_and_flushed_in_order_on_reply() {
        let mut cfg = Config::new(US, 24);
        cfg.arp.pending_per_hop = 3;
        let (mut i, _clock, pool) = iface_with(cfg);
        for n in 0..5u8 {
            let r = i.udp_send_copy(9, to_peer(9), &[n]);
            if n < 3 {
                assert_eq!(r, Ok(Sent::AwaitingArp));
            } else {
                assert_eq!(r, Err(SendError::ArpQueueFull));
            }
        }
        assert_eq!(i.stats().dropped(D::ArpPendingFull), 2);
        assert_eq!(i.arp_pending(), 3);
        i.poll(&mut ());
        let sent = i.nic_mut().take_sent();
        assert_eq!(sent.len(), 1, "one request, packets held");
        assert_eq!(arp_of(&sent[0]).1.tpa, PEER);
        i.nic_mut().inject(&reply_from_peer());
        i.poll(&mut ());
        let sent = i.nic_mut().take_sent();
        assert_eq!(sent.len(), 3);
        for (n, f) in sent.iter().enumerate() {
            assert_eq!(&f[..6], &PEER_MAC, "addressed once resolved");
            assert_eq!(*f.last().unwrap(), n as u8, "in order");
        }
        assert_eq!(i.stats().get(Event::ArpPendingReleased), 3);
        assert_eq!(i.arp_pending(), 0);
        drop(sent);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn unanswered_requests_are_retried_then_packets_dropped_and_counted() {
        let mut cfg = Config::new(US, 24);
        cfg.arp.retry_interval = Duration::from_millis(500);
        cfg.arp.max_requests = 3;
        let (mut i, clock, pool) = iface_with(cfg);
        i.udp_send_copy(9, to_peer(9), b"a").unwrap();
        i.udp_send_copy(9, to_peer(9), b"b").unwrap();
        let mut requests = 0;
        for _ in 0..10 {
            i.poll(&mut ());
            requests += i.nic_mut().take_sent().len();
            clock.advance(Duration::from_millis(250));
        }
        assert_eq!(requests, 3, "max_requests, spaced by the retry interval");
        assert_eq!(i.stats().get(Event::ArpRequestsSent), 3);
        assert_eq!(i.stats().dropped(D::ArpUnresolved), 2);
        assert_eq!(i.arp_pending(), 0);
        assert_eq!(pool.stats().in_use(), 0, "dropped frames released");
        // A late reply finds nothing waiting; the slot is free for new resolutions.
        i.nic_mut().inject(&reply_from_peer());
        i.poll(&mut ());
        assert!(i.nic_mut().take_sent().is_empty());
    }

    #[test]
    fn resolution_slots_are_bounded() {
        let mut cfg = Config::new(US, 24);
        cfg.arp.pending_hops = 1;
        let (mut i, _clock, _pool) = iface_with(cfg);
        assert_eq!(i.udp_send_copy(9, to_peer(9), b"a"), Ok(Sent::AwaitingArp));
        assert_eq!(
            i.udp_send_copy(9, SocketAddrV4::new(PEER3, 9), b"b"),
            Err(SendError::ArpBusy)
        );
        assert_eq!(i.stats().dropped(D::ArpPendingHopsFull), 1);
    }

    #[test]
    fn off_link_goes_through_the_gateway_or_nowhere() {
        let far = SocketAddrV4::new(Ipv4Addr::new(192, 168, 1, 1), 53);
        let (mut i, _clock, _pool) = iface();
        assert_eq!(i.udp_send_copy(9, far, b"q"), Err(SendError::NoRoute));
        assert_eq!(i.stats().dropped(D::TxNoRoute), 1);
        let gw = Ipv4Addr::new(10, 0, 0, 254);
        let (mut i, _clock, _pool) = iface_with(Config::new(US, 24).with_gateway(gw));
        assert_eq!(i.udp_send_copy(9, far, b"q"), Ok(Sent::AwaitingArp));
        i.poll(&mut ());
        let sent = i.nic_mut().take_sent();
        assert_eq!(
            arp_of(&sent[0]).1.tpa,
            gw,
            "resolves the gateway, not the host"
        );
        i.nic_mut()
            .inject(&arp_frame(Reply, US_MAC, MAC3, gw, US_MAC, US));
        i.poll(&mut ());
        let sent = i.nic_mut().take_sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(&sent[0][..6], &MAC3);
        assert_eq!(
            &sent[0][14 + 16..14 + 20],
            &[192, 168, 1, 1],
            "IP dst unchanged"
        );
    }
}
