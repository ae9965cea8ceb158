//! Two interfaces of one instance, ARP landing on thread 0's queue only.

use super::*;
use ix_fakenic::FakeNic;
use ix_net::{Config, Interface};
use ix_nic::heap::HeapPool;
use ix_nic::VirtualClock;
use std::net::{Ipv4Addr, SocketAddrV4};

const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const US_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 9];

type Iface = Interface<ArpSharingNic<FakeNic>, VirtualClock>;

fn ifaces() -> (Iface, Iface) {
    let mut ends = arp_share(2, 16).into_iter();
    let mut make = || {
        let nic = FakeNic::new(US_MAC, HeapPool::new(64, 2048));
        let share = ends.next().expect("two ends");
        Interface::new(
            ArpSharingNic::new(nic, share),
            VirtualClock::new(),
            Config::new(US, 24),
        )
        .expect("interface")
    };
    (make(), make())
}

/// An ARP frame from the peer: `op` 1 (request) or 2 (reply), for our address.
fn arp_from_peer(op: u8, eth_dst: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&eth_dst);
    f.extend_from_slice(&PEER_MAC);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, op]);
    f.extend_from_slice(&PEER_MAC);
    f.extend_from_slice(&PEER.octets());
    f.extend_from_slice(&if op == 2 { US_MAC } else { [0; 6] });
    f.extend_from_slice(&US.octets());
    f
}

/// Every frame the interface's NIC transmitted, as (ethertype, ARP op or 0).
fn sent(i: &mut Iface) -> Vec<(u16, u8)> {
    let mut v = Vec::new();
    while let Some(f) = i.nic_mut().inner_mut().pop_sent() {
        v.push((
            u16::from_be_bytes([f[12], f[13]]),
            if f[12..14] == [8, 6] { f[21] } else { 0 },
        ));
    }
    v
}

#[test]
fn a_reply_on_thread_0_s_queue_resolves_thread_1_s_request() {
    let (mut t0, mut t1) = ifaces();
    t0.poll(&mut ());
    t1.poll(&mut ());
    sent(&mut t0);
    sent(&mut t1);
    // Thread 1 sends to the peer: its datagram waits for ARP, a request goes out.
    t1.udp_send_copy(5000, SocketAddrV4::new(PEER, 7), b"hello")
        .unwrap();
    t1.flush();
    assert_eq!(sent(&mut t1), vec![(0x0806, 1)]);
    // The reply arrives on queue 0 (thread 0's).
    t0.nic_mut()
        .inner_mut()
        .inject(&arp_from_peer(2, US_MAC))
        .unwrap();
    t0.poll(&mut ());
    assert_eq!(t0.nic().share().forwarded(), 1);
    // Thread 1 gets it at its next burst, learns, and its datagram leaves.
    t1.poll(&mut ());
    t1.flush();
    assert_eq!(t1.arp_lookup(PEER), Some(PEER_MAC));
    assert_eq!(sent(&mut t1), vec![(0x0800, 0)]);
    assert_eq!(t1.nic().share().dropped(), 0);
}

#[test]
fn a_forwarded_request_teaches_without_a_second_answer() {
    let (mut t0, mut t1) = ifaces();
    t0.poll(&mut ());
    t1.poll(&mut ());
    sent(&mut t0);
    sent(&mut t1);
    t0.nic_mut()
        .inner_mut()
        .inject(&arp_from_peer(1, [0xff; 6]))
        .unwrap();
    t0.poll(&mut ());
    t0.flush();
    assert_eq!(sent(&mut t0), vec![(0x0806, 2)], "thread 0 answers");
    t1.poll(&mut ());
    t1.flush();
    assert_eq!(t1.arp_lookup(PEER), Some(PEER_MAC), "thread 1 learns");
    assert_eq!(sent(&mut t1), vec![], "but does not answer again");
    // Nothing comes back to thread 0: forwarded frames are not forwarded again.
    t0.poll(&mut ());
    assert_eq!(t1.nic().share().forwarded(), 0);
}

#[test]
fn one_thread_shares_nothing_and_a_full_inbox_drops_and_counts() {
    let single: Vec<ArpShare<u8>> = arp_share(1, 4);
    assert_eq!(single.len(), 1);
    assert!(single[0].peers.is_empty() && single[0].inbox.is_none());
    let mut ends = arp_share(2, 1).into_iter();
    let nic = FakeNic::new(US_MAC, HeapPool::new(64, 2048));
    let mut t0 = ArpSharingNic::new(nic, ends.next().unwrap());
    for _ in 0..3 {
        t0.inner_mut().inject(&arp_from_peer(2, US_MAC)).unwrap();
    }
    let mut out = Batch::new();
    assert_eq!(t0.rx_burst(&mut out), 3, "its own frames are all delivered");
    assert_eq!((t0.share().forwarded(), t0.share().dropped()), (1, 2));
}
