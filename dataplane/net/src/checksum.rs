//! The Internet checksum (RFC 1071) over data in pieces, and its incremental update.
//!
//! A frame is a linear header part plus payload attached by reference, so an L4
//! checksum is summed piece by piece; a piece starting at an odd offset of the
//! message contributes its sum byte-swapped (RFC 1071 section 2(B)). The per-byte
//! work is smoltcp's unrolled `checksum::data`.

use smoltcp::wire::{checksum, IpProtocol};
use std::net::Ipv4Addr;

/// Folds a 32-bit one's-complement accumulator to 16 bits (end-around carry).
#[inline]
const fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The one's-complement sum of `data` (not complemented), as a big-endian number.
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    checksum::data(data)
}

/// Whether `data`, checksum field included, sums to all ones (the checksum is valid).
#[inline]
pub fn is_valid(data: &[u8]) -> bool {
    sum(data) == 0xffff
}

/// The IPv4 pseudo-header sum for a UDP or TCP checksum over `len` L4 bytes.
#[inline]
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, len: u16) -> u16 {
    checksum::pseudo_header_v4(&src, &dst, IpProtocol::from(protocol), u32::from(len))
}

/// A running one's-complement sum over a message fed in pieces of any length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accumulator {
    sum: u32,
    /// Whether the bytes added so far are odd in number: the next piece then starts
    /// in the low half of a 16-bit word.
    odd: bool,
}

impl Accumulator {
    /// An empty sum.
    pub const fn new() -> Self {
        Accumulator { sum: 0, odd: false }
    }

    /// Adds an already-computed 16-bit sum (a pseudo header); assumes the bytes added
    /// so far are even in number, as they are at a message's start.
    #[inline]
    pub fn add_sum(&mut self, s: u16) {
        self.sum = u32::from(fold(self.sum + u32::from(s)));
    }

    /// Adds the next `bytes` of the message.
    #[inline]
    pub fn add(&mut self, bytes: &[u8]) {
        let s = sum(bytes);
        // One's-complement sums are byte-order independent: a piece shifted by one
        // byte contributes its sum with the bytes swapped.
        self.add_sum(if self.odd { s.swap_bytes() } else { s });
        if bytes.len() % 2 == 1 {
            self.odd = !self.odd;
        }
    }

    /// The sum so far, not complemented.
    pub fn sum(&self) -> u16 {
        fold(self.sum)
    }

    /// The checksum to store: the complement of the sum.
    pub fn finish(&self) -> u16 {
        !self.sum()
    }
}

/// A checksum updated for one 16-bit word of its message changing from `old` to
/// `new`, without reading the message again (RFC 1624, eqn. 3).
#[inline]
pub fn update(checksum: u16, old: u16, new: u16) -> u16 {
    !fold(u32::from(!checksum) + u32::from(!old) + u32::from(new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(data: &[u8]) -> u16 {
        !sum(data)
    }

    #[test]
    fn pieces_of_any_length_give_the_whole_sum() {
        let msg: Vec<u8> = (0..=250u8).map(|i| i.wrapping_mul(37)).collect();
        for cut1 in [0, 1, 2, 3, 7, 100] {
            for cut2 in [cut1, cut1 + 1, cut1 + 5, 200] {
                let mut acc = Accumulator::new();
                acc.add(&msg[..cut1]);
                acc.add(&msg[cut1..cut2]);
                acc.add(&msg[cut2..]);
                assert_eq!(acc.finish(), reference(&msg), "cuts {cut1} {cut2}");
            }
        }
    }

    #[test]
    fn incremental_update_matches_recomputation() {
        let mut msg = [0x08u8, 0, 0, 0, 0x12, 0x34, 0xab, 0xcd, 0xff, 0xff];
        let c = reference(&msg);
        msg[2..4].copy_from_slice(&c.to_be_bytes());
        assert!(is_valid(&msg));
        // Echo request -> echo reply: the first word goes from 0x0800 to 0x0000.
        msg[0] = 0;
        let c2 = update(c, 0x0800, 0x0000);
        msg[2..4].copy_from_slice(&c2.to_be_bytes());
        assert!(is_valid(&msg));
    }

    #[test]
    fn pseudo_header_matches_smoltcp_udp() {
        use smoltcp::wire::{IpAddress, UdpPacket};
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(10, 0, 0, 2);
        let mut udp = vec![0u8; 8 + 5];
        udp[0..2].copy_from_slice(&1234u16.to_be_bytes());
        udp[2..4].copy_from_slice(&80u16.to_be_bytes());
        udp[4..6].copy_from_slice(&13u16.to_be_bytes());
        udp[8..].copy_from_slice(b"hello");
        let mut acc = Accumulator::new();
        acc.add_sum(pseudo_header(src, dst, 17, 13));
        acc.add(&udp);
        udp[6..8].copy_from_slice(&acc.finish().to_be_bytes());
        let p = UdpPacket::new_checked(&udp[..]).unwrap();
        assert!(p.verify_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(dst)));
    }
}
