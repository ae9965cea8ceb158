//! Two interfaces cabled back to back by `ix-fakenic`'s FakeLink: ARP resolution,
//! pings and UDP exchanges end to end, with time on a virtual clock.

use ix_fakenic::{FakeLink, FakeNic};
use ix_net::ipv4::{Ipv4Info, PROTO_ICMP};
use ix_net::stats::{DropReason, Event};
use ix_net::{Config, Interface, Sent, Transport, TxContext};
use ix_nic::heap::{HeapPool, HeapRx};
use ix_nic::{Nic, RxSeg, VirtualClock};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];

type Iface = Interface<FakeNic, VirtualClock>;

fn pair(clock: &VirtualClock) -> (Iface, Iface) {
    let (na, nb) = FakeLink::pair(MAC_A, MAC_B, 512, 2048);
    let a = Interface::new(na, clock.clone(), Config::new(A, 24)).unwrap();
    let b = Interface::new(nb, clock.clone(), Config::new(B, 24)).unwrap();
    (a, b)
}

/// A ping client as an upper layer: sends echo requests through the raw IPv4 API and
/// collects the replies the interface offers it.
#[derive(Default)]
struct Pinger {
    replies: Vec<(Ipv4Addr, u16, Vec<u8>)>,
}

impl Pinger {
    fn send(ctx: &mut TxContext<'_, HeapPool>, to: Ipv4Addr, seq: u16, data: &[u8]) -> Sent {
        let mut pkt = ctx.packet(to, PROTO_ICMP, 8).unwrap();
        let h = pkt.l4_mut();
        h.copy_from_slice(&[8, 0, 0, 0, 0x12, 0x34, 0, 0]);
        h[6..8].copy_from_slice(&seq.to_be_bytes());
        pkt.append_copy(data).unwrap();
        pkt.fill_plain_checksum(2);
        ctx.send(pkt).unwrap()
    }
}

impl Transport<HeapPool> for Pinger {
    fn accepts(&self, protocol: u8) -> bool {
        protocol == PROTO_ICMP
    }

    fn receive(&mut self, _ctx: &mut TxContext<'_, HeapPool>, ip: &Ipv4Info, seg: RxSeg<HeapRx>) {
        if seg.len() >= 8 && seg[0] == 0 && ix_net::checksum::is_valid(&seg) {
            let seq = u16::from_be_bytes([seg[6], seg[7]]);
            self.replies.push((ip.src, seq, seg[8..].to_vec()));
        }
    }

    fn poll(&mut self, _ctx: &mut TxContext<'_, HeapPool>) {}
}

fn run(a: &mut Iface, pa: &mut impl Transport<HeapPool>, b: &mut Iface, rounds: usize) {
    for _ in 0..rounds {
        a.poll(pa);
        b.poll(&mut ());
    }
}

fn in_use(i: &Iface) -> u64 {
    i.nic().pool().stats().in_use()
}

#[test]
fn ping_across_the_link_resolves_arp_and_gets_every_reply() {
    let clock = VirtualClock::new();
    let (mut a, mut b) = pair(&clock);
    let mut pinger = Pinger::default();
    run(&mut a, &mut pinger, &mut b, 2); // start-up announcements cross
    assert_eq!(
        Pinger::send(&mut a.tx(), B, 0, b"first"),
        Sent::AwaitingArp,
        "a gratuitous ARP is not learned from: a must ask"
    );
    run(&mut a, &mut pinger, &mut b, 3);
    assert_eq!(a.arp_lookup(B), Some(MAC_B));
    assert_eq!(b.arp_lookup(A), Some(MAC_A), "b learned a from a's request");
    for seq in 1..10u16 {
        assert_eq!(
            Pinger::send(&mut a.tx(), B, seq, &seq.to_be_bytes()),
            Sent::Queued
        );
    }
    run(&mut a, &mut pinger, &mut b, 3);
    assert_eq!(pinger.replies.len(), 10);
    assert_eq!(pinger.replies[0], (B, 0, b"first".to_vec()));
    for (i, (from, seq, data)) in pinger.replies.iter().enumerate().skip(1) {
        assert_eq!((*from, *seq), (B, i as u16));
        assert_eq!(data, &(i as u16).to_be_bytes());
    }
    assert_eq!(b.stats().get(Event::IcmpEchoReplies), 10);
    assert_eq!(a.stats().total_drops() + b.stats().total_drops(), 0);
    assert_eq!(in_use(&a) + in_use(&b), 0, "no frame leaked on either side");
}

#[test]
fn udp_request_response_both_ways() {
    let clock = VirtualClock::new();
    let (mut a, mut b) = pair(&clock);
    b.udp_bind(7).unwrap();
    a.udp_bind(40000).unwrap();
    let value = a.nic().pool().shared_from(&[0x5a; 1000]).unwrap();
    ix_nic::copy::reset();
    let to_b = SocketAddrV4::new(B, 7);
    assert_eq!(
        a.udp_send(40000, to_b, &value, 0..900),
        Ok(Sent::AwaitingArp)
    );
    run(&mut a, &mut (), &mut b, 3);
    for n in 1..20 {
        assert_eq!(
            a.udp_send(40000, to_b, &value, n..n + 900),
            Ok(Sent::Queued)
        );
    }
    run(&mut a, &mut (), &mut b, 2);
    assert_eq!(ix_nic::copy::copied_bytes(), 0, "sent by reference");
    assert_eq!(b.udp_queued(7), 20);
    // b echoes each datagram back (copying: an RxSeg is not a SharedBuf).
    while let Some(d) = b.udp_recv(7) {
        assert_eq!(d.payload.len(), 900);
        assert_eq!(d.src, SocketAddrV4::new(A, 40000));
        b.udp_send_copy(7, d.src, &d.payload[..10]).unwrap();
    }
    run(&mut a, &mut (), &mut b, 2);
    assert_eq!(a.udp_queued(40000), 20);
    while let Some(d) = a.udp_recv(40000) {
        assert_eq!(
            (d.src, d.payload.data()),
            (SocketAddrV4::new(B, 7), &[0x5a; 10][..])
        );
    }
    assert_eq!(
        value.ref_count(),
        1,
        "every frame referring to it was released"
    );
    drop(value);
    assert_eq!(a.stats().total_drops() + b.stats().total_drops(), 0);
    assert_eq!(in_use(&a) + in_use(&b), 0);
}

#[test]
fn a_silent_host_costs_counted_drops_after_the_retries() {
    let clock = VirtualClock::new();
    let (mut a, mut b) = pair(&clock);
    let ghost = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 99), 9);
    for _ in 0..5 {
        assert_eq!(a.udp_send_copy(1, ghost, b"hello?"), Ok(Sent::AwaitingArp));
    }
    for _ in 0..5 {
        run(&mut a, &mut (), &mut b, 1);
        clock.advance(Duration::from_secs(1));
    }
    assert_eq!(a.stats().dropped(DropReason::ArpUnresolved), 5);
    assert_eq!(a.stats().get(Event::ArpRequestsSent), 3);
    assert_eq!(
        b.stats().dropped(DropReason::ArpNotForUs),
        3,
        "b saw the broadcasts"
    );
    assert_eq!(in_use(&a) + in_use(&b), 0);
}
