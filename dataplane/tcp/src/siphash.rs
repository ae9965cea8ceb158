//! SipHash-2-4 (Aumasson and Bernstein), the keyed hash behind ISNs and SYN cookies.
//!
//! Written out here (a few dozen lines) rather than taken from std, whose keyed
//! `SipHasher` is deprecated and whose `DefaultHasher` algorithm is unspecified.

/// A SipHash-2-4 key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SipKey {
    k0: u64,
    k1: u64,
}

impl core::fmt::Debug for SipKey {
    /// Prints no key material.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print a secret.
        f.write_str("SipKey(..)")
    }
}

/// One SipRound over the state `v`.
#[inline]
fn round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

impl SipKey {
    /// A key from 16 bytes (little-endian halves, as the reference code reads them).
    pub fn new(bytes: [u8; 16]) -> SipKey {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&bytes[..8]);
        b.copy_from_slice(&bytes[8..]);
        SipKey {
            k0: u64::from_le_bytes(a),
            k1: u64::from_le_bytes(b),
        }
    }

    /// SipHash-2-4 of `data` under this key.
    pub fn hash(&self, data: &[u8]) -> u64 {
        let mut v = [
            self.k0 ^ 0x736f_6d65_7073_6575,
            self.k1 ^ 0x646f_7261_6e64_6f6d,
            self.k0 ^ 0x6c79_6765_6e65_7261,
            self.k1 ^ 0x7465_6462_7974_6573,
        ];
        let mut chunks = data.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            let m = u64::from_le_bytes(w);
            v[3] ^= m;
            round(&mut v);
            round(&mut v);
            v[0] ^= m;
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        let m = u64::from_le_bytes(last) | ((data.len() as u64 & 0xff) << 56);
        v[3] ^= m;
        round(&mut v);
        round(&mut v);
        v[0] ^= m;
        v[2] ^= 0xff;
        for _ in 0..4 {
            round(&mut v);
        }
        v[0] ^ v[1] ^ v[2] ^ v[3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        // From the SipHash paper's reference implementation (vectors.h): key
        // 00..0f, messages 00..(n-1).
        let mut k = [0u8; 16];
        for (i, b) in k.iter_mut().enumerate() {
            *b = i as u8;
        }
        let key = SipKey::new(k);
        let msg: Vec<u8> = (0..64u8).collect();
        assert_eq!(key.hash(&msg[..0]), 0x726f_db47_dd0e_0e31);
        assert_eq!(key.hash(&msg[..1]), 0x74f8_39c5_93dc_67fd);
        assert_eq!(key.hash(&msg[..15]), 0xa129_ca61_49be_45e5);
        assert_eq!(format!("{key:?}"), "SipKey(..)");
    }
}
