//! The Toeplitz hash NICs use for receive-side scaling, over an IPv4/TCP 4-tuple.
//!
//! Flow groups hash with it so that the group of a flow is the one the NIC's (or a
//! tap steering program's) RSS would pick with the same key. It is linear over GF(2)
//! in the input bits, which is what lets [`crate::flow_group`] compute local ports
//! instead of probing for them.

use std::net::SocketAddrV4;

/// Microsoft's RSS verification key (also DPDK's default for many drivers).
pub const DEFAULT_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// Bytes of hash input for an IPv4/TCP flow: source address, destination address,
/// source port, destination port.
pub const INPUT_LEN: usize = 12;

/// The 32 key bits starting at bit `bit` (bit 0 is the key's first MSB); assumes
/// `bit + 32 <= 320`.
pub fn window(key: &[u8; 40], bit: usize) -> u32 {
    let byte = bit / 8;
    let shift = bit % 8;
    let mut w = 0u64;
    for i in 0..5 {
        w = (w << 8) | u64::from(key.get(byte + i).copied().unwrap_or(0));
    }
    ((w << shift) >> 8) as u32
}

/// The Toeplitz hash of `input` under `key`; assumes `input.len() <= 36`.
pub fn hash(key: &[u8; 40], input: &[u8]) -> u32 {
    let mut h = 0u32;
    for (i, byte) in input.iter().enumerate() {
        for b in 0..8 {
            if byte & (0x80 >> b) != 0 {
                h ^= window(key, i * 8 + b);
            }
        }
    }
    h
}

/// The hash input of a packet from `src` to `dst`.
pub fn input(src: SocketAddrV4, dst: SocketAddrV4) -> [u8; INPUT_LEN] {
    let mut v = [0u8; INPUT_LEN];
    v[0..4].copy_from_slice(&src.ip().octets());
    v[4..8].copy_from_slice(&dst.ip().octets());
    v[8..10].copy_from_slice(&src.port().to_be_bytes());
    v[10..12].copy_from_slice(&dst.port().to_be_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn matches_the_published_rss_verification_vectors() {
        // Microsoft's "Verifying the RSS Hash Calculation", IPv4 with TCP ports.
        let cases = [
            (
                (66, 9, 149, 187),
                2794,
                (161, 142, 100, 80),
                1766,
                0x51cc_c178u32,
            ),
            (
                (199, 92, 111, 2),
                14230,
                (65, 69, 140, 83),
                4739,
                0xc626_b0ea,
            ),
            (
                (24, 19, 198, 95),
                12898,
                (12, 22, 207, 184),
                38024,
                0x5c2b_394a,
            ),
        ];
        for ((a, b, c, d), sp, (e, f, g, h), dp, want) in cases {
            let src = SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), sp);
            let dst = SocketAddrV4::new(Ipv4Addr::new(e, f, g, h), dp);
            assert_eq!(hash(&DEFAULT_KEY, &input(src, dst)), want);
        }
    }

    #[test]
    fn is_linear_in_its_input() {
        let a = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let b = [0xf0u8, 0, 0x33, 4, 0, 6, 0x80, 8, 0, 10, 0, 0xff];
        let x: Vec<u8> = a.iter().zip(b.iter()).map(|(p, q)| p ^ q).collect();
        assert_eq!(
            hash(&DEFAULT_KEY, &x),
            hash(&DEFAULT_KEY, &a) ^ hash(&DEFAULT_KEY, &b)
        );
    }
}
