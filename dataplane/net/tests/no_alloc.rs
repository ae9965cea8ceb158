//! The steady-state path allocates nothing: the allocation-counter crate's counting
//! global allocator watches two interfaces over a FakeLink exchanging pings and UDP
//! once ARP has resolved.
//!
//! This file is its own test binary, so the allocator affects nothing else; counts
//! are per thread, so the test harness's own threads do not disturb them.

use ix_fakenic::FakeLink;
use ix_net::ipv4::{Ipv4Info, PROTO_ICMP};
use ix_net::stats::Event;
use ix_net::{Config, Interface, Sent, Transport, TxContext};
use ix_nic::heap::{HeapPool, HeapRx};
use ix_nic::{Nic, RxSeg, VirtualClock};
use std::net::{Ipv4Addr, SocketAddrV4};

const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// Sends `n` pings per poll and counts replies, allocating nothing itself.
struct Pinger {
    per_poll: u16,
    seq: u16,
    replies: u64,
}

impl Transport<HeapPool> for Pinger {
    fn accepts(&self, protocol: u8) -> bool {
        protocol == PROTO_ICMP
    }

    fn receive(&mut self, _ctx: &mut TxContext<'_, HeapPool>, _ip: &Ipv4Info, seg: RxSeg<HeapRx>) {
        if seg.first() == Some(&0) {
            self.replies += 1;
        }
    }

    fn poll(&mut self, ctx: &mut TxContext<'_, HeapPool>) {
        for _ in 0..self.per_poll {
            let Ok(mut pkt) = ctx.packet(B, PROTO_ICMP, 8 + 32) else {
                return;
            };
            let h = pkt.l4_mut();
            h.fill(0x61);
            h[..8].copy_from_slice(&[8, 0, 0, 0, 0, 1, 0, 0]);
            h[6..8].copy_from_slice(&self.seq.to_be_bytes());
            self.seq = self.seq.wrapping_add(1);
            pkt.fill_plain_checksum(2);
            let _ = ctx.send(pkt);
        }
    }
}

#[test]
fn steady_state_allocates_nothing() {
    let clock = VirtualClock::new();
    let (na, nb) = FakeLink::pair([2, 0, 0, 0, 0, 0xa], [2, 0, 0, 0, 0, 0xb], 1024, 2048);
    let mut a = Interface::new(na, clock.clone(), Config::new(A, 24)).unwrap();
    let mut b = Interface::new(nb, clock.clone(), Config::new(B, 24)).unwrap();
    b.udp_bind(9).unwrap();
    let value = a.nic().pool().shared_from(&[7u8; 512]).unwrap();
    let to_b = SocketAddrV4::new(B, 9);
    let mut pinger = Pinger {
        per_poll: 8,
        seq: 0,
        replies: 0,
    };

    let round = |a: &mut Interface<_, _>, b: &mut Interface<_, _>, pinger: &mut Pinger| {
        for n in 0..8 {
            assert_eq!(a.udp_send(1000, to_b, &value, n..n + 256), Ok(Sent::Queued));
        }
        a.poll(pinger);
        b.poll(&mut ());
        let mut got = 0;
        while let Some(d) = b.udp_recv(9) {
            got += d.payload.len();
        }
        assert_eq!(got, 8 * 256);
    };

    // Warm up: ARP resolution, first use of every queue.
    assert_eq!(a.udp_send(1000, to_b, &value, 0..1), Ok(Sent::AwaitingArp));
    for _ in 0..4 {
        a.poll(&mut pinger);
        b.poll(&mut ());
        while b.udp_recv(9).is_some() {}
    }
    let replies_before = pinger.replies;

    // The counter works: a deliberate allocation is seen.
    let probe = allocation_counter::measure(|| {
        drop(std::hint::black_box(Vec::<u8>::with_capacity(16)));
    });
    assert_eq!(probe.count_total, 1);

    let during = allocation_counter::measure(|| {
        for _ in 0..1000 {
            round(&mut a, &mut b, &mut pinger);
        }
    })
    .count_total;

    assert_eq!(during, 0, "heap allocations on the steady-state path");
    assert!(
        pinger.replies - replies_before >= 999 * 8,
        "pings were answered"
    );
    assert!(b.stats().get(Event::UdpDelivered) >= 8000);
    assert_eq!(a.stats().total_drops() + b.stats().total_drops(), 0);
}
