//! Test helpers: a minimal in-memory NIC and frame builders (smoltcp's emitters, so
//! the frames are built independently of the code under test).

use crate::{Config, Interface};
use ix_nic::heap::{HeapFrame, HeapPool, HeapRx};
use ix_nic::{Batch, Nic, VirtualClock};
use smoltcp::wire::{ArpOperation, ArpPacket, ArpRepr, EthernetAddress};
use std::collections::VecDeque;
use std::net::Ipv4Addr;

pub const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const US_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
pub const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

/// A NIC whose wire is two queues the test reads and writes.
#[derive(Debug)]
pub struct TestNic {
    pub pool: HeapPool,
    pub mac: [u8; 6],
    pub rx: VecDeque<HeapRx>,
    pub sent: Vec<Vec<u8>>,
    /// Frames taken per tx_burst call at most (a full ring takes fewer).
    pub tx_limit: usize,
}

impl TestNic {
    pub fn new(pool: HeapPool) -> Self {
        TestNic {
            pool,
            mac: US_MAC,
            rx: VecDeque::new(),
            sent: Vec::new(),
            tx_limit: usize::MAX,
        }
    }

    pub fn inject(&mut self, frame: &[u8]) {
        self.rx
            .push_back(self.pool.rx_from(frame).expect("pool has room"));
    }

    /// Takes every transmitted frame so far.
    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.sent)
    }
}

impl Nic for TestNic {
    type Pool = HeapPool;

    fn pool(&self) -> &HeapPool {
        &self.pool
    }

    fn rx_burst(&mut self, out: &mut Batch<HeapRx>) -> usize {
        let mut n = 0;
        while !out.is_full() {
            let Some(f) = self.rx.pop_front() else { break };
            out.push(f);
            n += 1;
        }
        n
    }

    fn tx_burst(&mut self, frames: &mut Batch<HeapFrame>) -> usize {
        let n = frames.len().min(self.tx_limit);
        for f in frames.drain(..n) {
            let mut wire = Vec::new();
            f.write_to(&mut wire);
            self.sent.push(wire);
        }
        n
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }
}

/// What the helpers below return: the interface, its clock, its pool.
pub type Setup = (Interface<TestNic, VirtualClock>, VirtualClock, HeapPool);

/// An interface with `cfg` on a fresh TestNic at US_MAC, its clock, with the
/// start-up announcement already flushed and discarded.
pub fn iface_with(cfg: Config) -> Setup {
    iface_at(cfg, US_MAC)
}

/// [`iface_with`] on a NIC whose MAC is `mac`.
pub fn iface_at(cfg: Config, mac: [u8; 6]) -> Setup {
    let pool = HeapPool::new(1024, 2048);
    let clock = VirtualClock::new();
    let mut nic = TestNic::new(pool.clone());
    nic.mac = mac;
    let mut i = Interface::new(nic, clock.clone(), cfg).unwrap();
    i.poll(&mut ());
    i.nic_mut().take_sent();
    (i, clock, pool)
}

/// [`iface_with`] the default configuration.
pub fn iface() -> Setup {
    iface_with(Config::new(US, 24))
}

pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An ARP frame from `sha`, to `eth_dst`.
pub fn arp_frame(
    op: ArpOperation,
    eth_dst: [u8; 6],
    sha: [u8; 6],
    spa: Ipv4Addr,
    tha: [u8; 6],
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut body = [0u8; 28];
    ArpRepr::EthernetIpv4 {
        operation: op,
        source_hardware_addr: EthernetAddress(sha),
        source_protocol_addr: spa,
        target_hardware_addr: EthernetAddress(tha),
        target_protocol_addr: tpa,
    }
    .emit(&mut ArpPacket::new_unchecked(&mut body[..]));
    eth(eth_dst, sha, 0x0806, &body)
}

/// Knobs for [`ipv4_frame_with`].
#[derive(Debug, Clone, Copy)]
pub struct IpOpts<'a> {
    pub options: &'a [u8],
    pub more_frags: bool,
    pub frag_offset: u16,
    pub total_len: Option<u16>,
    pub ttl: u8,
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
}

impl Default for IpOpts<'_> {
    fn default() -> Self {
        IpOpts {
            options: &[],
            more_frags: false,
            frag_offset: 0,
            total_len: None,
            ttl: 64,
            eth_dst: US_MAC,
            eth_src: PEER_MAC,
        }
    }
}

/// An IPv4 frame from PEER_MAC to US_MAC with a valid header checksum.
pub fn ipv4_frame(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_frame_with(src, dst, proto, payload, IpOpts::default())
}

pub fn ipv4_frame_with(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    payload: &[u8],
    o: IpOpts<'_>,
) -> Vec<u8> {
    assert_eq!(o.options.len() % 4, 0);
    let hl = 20 + o.options.len();
    let mut ip = vec![0u8; hl + payload.len()];
    ip[0] = 0x40 | (hl / 4) as u8;
    let total = o.total_len.unwrap_or((hl + payload.len()) as u16);
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
    let flags_off = (u16::from(o.more_frags) << 13) | (o.frag_offset / 8);
    ip[6..8].copy_from_slice(&flags_off.to_be_bytes());
    ip[8] = o.ttl;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    ip[20..hl].copy_from_slice(o.options);
    let c = !smoltcp::wire::checksum::data(&ip[..hl]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip[hl..].copy_from_slice(payload);
    eth(o.eth_dst, o.eth_src, 0x0800, &ip)
}

/// An ICMP echo request message (type 8) with a valid checksum.
pub fn icmp_echo(ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut m = vec![8u8, 0, 0, 0];
    m.extend_from_slice(&ident.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    let c = !smoltcp::wire::checksum::data(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// A UDP message from `src:sport` to `dst:dport`; checksum filled unless `no_checksum`.
pub fn udp(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    payload: &[u8],
    no_checksum: bool,
) -> Vec<u8> {
    use smoltcp::wire::{IpAddress, UdpPacket};
    let mut m = vec![0u8; 8 + payload.len()];
    let mut p = UdpPacket::new_unchecked(&mut m[..]);
    p.set_src_port(sport);
    p.set_dst_port(dport);
    p.set_len((8 + payload.len()) as u16);
    p.payload_mut().copy_from_slice(payload);
    if no_checksum {
        p.set_checksum(0);
    } else {
        p.fill_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(dst));
    }
    m
}

/// A whole UDP frame from PEER to US.
pub fn udp_frame(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    ipv4_frame(PEER, US, 17, &udp(PEER, US, sport, dport, payload, false))
}
