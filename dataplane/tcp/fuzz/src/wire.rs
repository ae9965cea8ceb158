//! Bytes on the wire: the Internet checksum, segments and frames the peers inject,
//! and the first parse of what the engine transmits.
//!
//! Written independently of ix-net and ix-tcp (and of smoltcp, whose
//! `verify_checksum` returns `true` under `cfg(fuzzing)`), so a checksum or header
//! bug in the stack is not mirrored by the code that checks it.

use crate::addrs::{peer_mac, OUR_IP, OUR_MAC, PEER_IPS};
use std::net::Ipv4Addr;

/// Ethernet header bytes.
pub const ETH_LEN: usize = 14;
/// IPv4 header bytes (the peers never send options).
pub const IP_LEN: usize = 20;
/// The fixed TCP header.
pub const TCP_LEN: usize = 20;

/// The one's complement sum of `data` as big-endian 16-bit words, added to `acc`.
pub fn sum16(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// Folds a sum to 16 bits and complements it: the value to put in a checksum field.
pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The TCP checksum of `seg` (its checksum field included in the sum: 0 over a
/// segment whose field is right, the field's value over one whose field is zero).
pub fn tcp_checksum(src: Ipv4Addr, dst: Ipv4Addr, seg: &[u8]) -> u16 {
    let mut acc = sum16(&src.octets(), 0);
    acc = sum16(&dst.octets(), acc);
    acc += 6 + seg.len() as u32;
    fold(sum16(seg, acc))
}

/// What to put in an injected segment's checksum field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// The right checksum, computed last.
    Valid,
    /// Zero (wrong unless by chance).
    Zero,
    /// Whatever value.
    Random(u16),
}

/// A TCP segment as the peer writes it; [`RawSeg::bytes`] lays it out.
#[derive(Debug, Clone)]
pub struct RawSeg {
    /// Source (the peer's) port.
    pub sport: u16,
    /// Destination (the engine's) port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// The flags byte (ECN bits included).
    pub flags: u8,
    /// The window field.
    pub window: u16,
    /// Option bytes, already padded to a multiple of 4 and at most 40.
    pub options: Vec<u8>,
    /// Payload.
    pub payload: Vec<u8>,
    /// A data offset (in words) to write instead of the true one.
    pub offset: Option<u8>,
    /// The checksum policy.
    pub checksum: Checksum,
}

impl RawSeg {
    /// The segment's bytes, checksum filled as the policy says, from `src` to us.
    pub fn bytes(&self, src: Ipv4Addr) -> Vec<u8> {
        let hlen = TCP_LEN + self.options.len();
        let mut b = Vec::with_capacity(hlen + self.payload.len());
        b.extend_from_slice(&self.sport.to_be_bytes());
        b.extend_from_slice(&self.dport.to_be_bytes());
        b.extend_from_slice(&self.seq.to_be_bytes());
        b.extend_from_slice(&self.ack.to_be_bytes());
        let words = self.offset.unwrap_or((hlen / 4) as u8) & 0x0f;
        b.push(words << 4);
        b.push(self.flags);
        b.extend_from_slice(&self.window.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        b.extend_from_slice(&self.options);
        b.extend_from_slice(&self.payload);
        let sum = match self.checksum {
            Checksum::Valid => tcp_checksum(src, OUR_IP, &b),
            Checksum::Zero => 0,
            Checksum::Random(v) => v,
        };
        b[16..18].copy_from_slice(&sum.to_be_bytes());
        b
    }
}

/// An Ethernet frame from peer `peer` to us carrying the IPv4 packet of `l4`
/// (protocol TCP, right header checksum, no options).
pub fn frame_from(peer: usize, l4: &[u8]) -> Vec<u8> {
    let src = PEER_IPS[peer];
    let mut f = Vec::with_capacity(ETH_LEN + IP_LEN + l4.len());
    f.extend_from_slice(&OUR_MAC);
    f.extend_from_slice(&peer_mac(peer));
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (IP_LEN + l4.len()) as u16;
    let mut ip = [0u8; IP_LEN];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6] = 0x40; // DF
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&OUR_IP.octets());
    let c = fold(sum16(&ip, 0));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f
}

/// Big-endian u16 at `i` (the caller checked the length).
pub fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

/// Big-endian u32 at `i` (the caller checked the length).
pub fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_a_filled_segment_verifies_to_zero() {
        let s = RawSeg {
            sport: 1234,
            dport: 80,
            seq: 7,
            ack: 9,
            flags: 0x18,
            window: 100,
            options: vec![2, 4, 5, 180],
            payload: b"odd".to_vec(),
            offset: None,
            checksum: Checksum::Valid,
        };
        let b = s.bytes(PEER_IPS[0]);
        assert_eq!(b.len(), 27);
        assert_eq!(b[12] >> 4, 6);
        assert_eq!(tcp_checksum(PEER_IPS[0], OUR_IP, &b), 0);
        let f = frame_from(0, &b);
        assert_eq!(fold(sum16(&f[ETH_LEN..ETH_LEN + IP_LEN], 0)), 0);
    }
}
