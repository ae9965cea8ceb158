//! A raw peer: one engine on a standalone NIC, the test writing the segments it
//! receives and reading every segment it sends.

use super::{Host, Seg, A, B, MAC_A, MAC_B};
use ix_fakenic::FakeNic;
use ix_nic::heap::HeapPool;
use ix_nic::{Clock, VirtualClock};
use ix_tcp::header::{Flags, Header};
use ix_tcp::seq::Seq;
use ix_tcp::{Counter, TcpConfig};
use std::net::Ipv4Addr;
use std::time::Duration;

/// One engine on a standalone NIC; the test plays the peer at `B`.
pub struct Raw {
    pub clock: VirtualClock,
    pub host: Host<FakeNic>,
}

/// A segment the engine sent.
#[derive(Debug, Clone)]
pub struct Out {
    pub hdr: Header,
    pub payload: Vec<u8>,
}

impl Raw {
    /// An engine configured by `cfg` at `A`, its gratuitous ARP already taken.
    pub fn new(cfg: TcpConfig) -> Raw {
        let clock = VirtualClock::new();
        let pool = HeapPool::new(4096, 2048);
        let nic = FakeNic::new(MAC_A, pool);
        let mut host = Host::new(nic, clock.clone(), A, cfg);
        host.iface.arp_insert_static(B, MAC_B);
        let mut r = Raw { clock, host };
        r.host.poll();
        r.sent(); // the gratuitous ARP
        r
    }

    /// An engine configured by [`super::cfg`] as changed by `change`.
    pub fn with(change: impl FnOnce(&mut TcpConfig)) -> Raw {
        let mut cfg = super::cfg();
        change(&mut cfg);
        Raw::new(cfg)
    }

    /// Puts the peer's segment `seg` on the wire to the engine (not yet polled).
    pub fn inject(&mut self, seg: Seg) {
        let frame = tcp_frame(B, A, &seg.header(), &seg.payload, MAC_B, MAC_A);
        self.host.iface.nic_mut().inject(&frame).unwrap();
    }

    /// Injects `seg` and polls once: what the engine sent in reply.
    pub fn reply_to(&mut self, seg: Seg) -> Vec<Out> {
        self.inject(seg);
        self.poll()
    }

    /// Polls the host once and returns every TCP segment it sent.
    pub fn poll(&mut self) -> Vec<Out> {
        self.host.poll();
        self.sent()
    }

    /// Every TCP segment the engine sent since the last call (checksums verified).
    pub fn sent(&mut self) -> Vec<Out> {
        let mut v = Vec::new();
        while let Some(f) = self.host.iface.nic_mut().pop_sent() {
            if f.len() < 34 || f[12..14] != [0x08, 0x00] || f[23] != 6 {
                continue;
            }
            let ihl = usize::from(f[14] & 0x0f) * 4;
            let l4 = &f[14 + ihl..];
            let hdr = Header::parse(l4).unwrap();
            // Verify the checksum the engine computed.
            let p = smoltcp::wire::TcpPacket::new_checked(l4).unwrap();
            assert!(p.verify_checksum(
                &smoltcp::wire::IpAddress::Ipv4(A),
                &smoltcp::wire::IpAddress::Ipv4(B)
            ));
            v.push(Out {
                payload: l4[hdr.header_len..].to_vec(),
                hdr,
            });
        }
        v
    }

    /// Moves the virtual clock by `d`.
    pub fn advance(&mut self, d: Duration) {
        self.clock.advance(d);
    }

    /// Moves the clock by `d` and polls once.
    pub fn tick(&mut self, d: Duration) -> Vec<Out> {
        self.advance(d);
        self.poll()
    }

    /// Ticks by `dt`, at most `max_steps` times, handing `step` the step number
    /// (from 1) and what that poll sent, until it returns true; whether it did.
    pub fn tick_until(
        &mut self,
        dt: Duration,
        max_steps: usize,
        mut step: impl FnMut(&mut Raw, usize, Vec<Out>) -> bool,
    ) -> bool {
        for k in 1..=max_steps {
            let out = self.tick(dt);
            if step(self, k, out) {
                return true;
            }
        }
        false
    }

    /// Ticks by `dt` (at most `max_steps` times) until the engine sends data:
    /// the step number (from 1) and the sequence numbers of its data segments.
    pub fn wait_for_data(&mut self, dt: Duration, max_steps: usize) -> Option<(usize, Vec<u32>)> {
        let mut found = None;
        self.tick_until(dt, max_steps, |_, k, out| {
            let seqs = data_seqs(&out);
            if !seqs.is_empty() {
                found = Some((k, seqs));
            }
            found.is_some()
        });
        found
    }

    /// The virtual time in milliseconds.
    pub fn clock_ms(&self) -> u64 {
        self.clock.now().as_millis()
    }

    /// The engine's counter `c`.
    pub fn count(&self, c: Counter) -> u64 {
        self.host.tcp.stats().get(c)
    }
}

/// (flags, seq, ack) of each segment: what most assertions compare.
pub fn shape(out: &[Out]) -> Vec<(Flags, Seq, Seq)> {
    out.iter()
        .map(|o| (o.hdr.flags, o.hdr.seq, o.hdr.ack))
        .collect()
}

/// Sequence numbers of the data segments in `out`.
pub fn data_seqs(out: &[Out]) -> Vec<u32> {
    out.iter()
        .filter(|o| !o.payload.is_empty())
        .map(|o| o.hdr.seq.0)
        .collect()
}

/// Payload bytes in `out`, all segments together.
pub fn payload_len(out: &[Out]) -> usize {
    out.iter().map(|o| o.payload.len()).sum()
}

/// An Ethernet + IPv4 + TCP frame (checksums filled).
pub fn tcp_frame(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    hdr: &Header,
    payload: &[u8],
    smac: [u8; 6],
    dmac: [u8; 6],
) -> Vec<u8> {
    let mut l4 = vec![0u8; hdr.emitted_len()];
    hdr.emit(&mut l4);
    l4.extend_from_slice(payload);
    {
        let mut p = smoltcp::wire::TcpPacket::new_unchecked(&mut l4[..]);
        p.fill_checksum(
            &smoltcp::wire::IpAddress::Ipv4(src),
            &smoltcp::wire::IpAddress::Ipv4(dst),
        );
    }
    let mut f = Vec::new();
    f.extend_from_slice(&dmac);
    f.extend_from_slice(&smac);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + l4.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = !smoltcp::wire::checksum::data(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&l4);
    f
}
