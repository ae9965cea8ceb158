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
/// `new`, without reading the message again (RFC 1624, eqn. 3); never 0x0000.
///
/// Eqn. 3 yields 0x0000 (+0) whenever the new sum of the other words is one's
/// complement zero, but the two zeros are not interchangeable there: if the message
/// is now all zero bytes, its sum is +0, its checksum must be 0xFFFF, and 0x0000
/// fails verification. 0xFFFF is right in every case where eqn. 3 gives 0x0000
/// (it verifies whether the rest sums to +0 or to -0), and it is also what UDP must
/// send for a computed zero (RFC 768), so it is what this returns.
#[inline]
pub fn update(checksum: u16, old: u16, new: u16) -> u16 {
    match !fold(u32::from(!checksum) + u32::from(!old) + u32::from(new)) {
        0 => 0xffff,
        c => c,
    }
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
    fn incremental_update_of_an_all_zero_result_is_0xffff() {
        // An echo request with identifier, sequence and data all zero: its checksum
        // is 0xF7FF; the reply is all zero bytes but for its checksum.
        let mut msg = [0x08u8, 0, 0, 0, 0, 0, 0, 0];
        let c = reference(&msg);
        assert_eq!(c, 0xf7ff);
        msg[0] = 0;
        let c2 = update(c, 0x0800, 0x0000);
        assert_eq!(c2, 0xffff, "eqn. 3 alone gives 0x0000, which fails");
        assert_eq!(c2, reference(&msg), "what recomputation gives");
        msg[2..4].copy_from_slice(&c2.to_be_bytes());
        assert!(is_valid(&msg));
        // Where the rest sums to -0, recomputation gives 0x0000; 0xFFFF verifies too.
        let mut neg = [0xffu8, 0xff, 0x12, 0x34, 0, 0];
        let c = reference(&neg);
        neg[4..6].copy_from_slice(&c.to_be_bytes());
        assert!(is_valid(&neg));
        neg[2..4].fill(0);
        let c2 = update(c, 0x1234, 0x0000);
        assert_eq!((reference(&[0xff, 0xff, 0, 0]), c2), (0x0000, 0xffff));
        neg[4..6].copy_from_slice(&c2.to_be_bytes());
        assert!(is_valid(&neg));
    }

    #[test]
    fn incremental_update_agrees_with_recomputation_everywhere_else() {
        // Every old/new value of one word, over a few messages: the update verifies,
        // and equals recomputation except where that gives 0x0000 (0xFFFF instead).
        for rest in [0x0000u16, 0x0001, 0x7fff, 0xfffe, 0xffff, 0x1234] {
            for old in (0..=0xffffu16).step_by(257) {
                for new in (0..=0xffffu16).step_by(263) {
                    let (r, o, n) = (rest.to_be_bytes(), old.to_be_bytes(), new.to_be_bytes());
                    let c = reference(&[r[0], r[1], o[0], o[1], 0, 0]);
                    let fresh = reference(&[r[0], r[1], n[0], n[1], 0, 0]);
                    let c2 = update(c, old, new);
                    let [c0, c1] = c2.to_be_bytes();
                    assert!(is_valid(&[r[0], r[1], n[0], n[1], c0, c1]));
                    assert_ne!(c2, 0);
                    assert!(
                        c2 == fresh || (fresh == 0 && c2 == 0xffff),
                        "{rest} {old} {new}"
                    );
                }
            }
        }
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
