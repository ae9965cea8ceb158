//! The per-core flow table: 4-tuple -> connection, open addressing with linear
//! probing, preallocated for the configured maximum and never resized.
//!
//! An engine has one local address, so a flow is keyed by (remote address, remote
//! port, local port): 64 bits, hashed with a keyed mixer (the key is random per
//! engine, so an attacker cannot aim SYNs at one probe chain). Capacity is a power of
//! two at least twice the maximum entries, so probe chains stay short; deletion
//! shifts entries back (no tombstones), so lookups never degrade with churn.

use std::net::{Ipv4Addr, SocketAddrV4};

/// A flow's identity on this engine: remote address and port, local port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey(pub u64);

impl FlowKey {
    /// The key of the flow between `remote` and our `local_port`.
    #[inline]
    pub fn new(remote: SocketAddrV4, local_port: u16) -> FlowKey {
        FlowKey(
            (u64::from(u32::from(*remote.ip())) << 32)
                | (u64::from(remote.port()) << 16)
                | u64::from(local_port),
        )
    }

    /// The remote end.
    pub fn remote(self) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::from((self.0 >> 32) as u32), (self.0 >> 16) as u16)
    }

    /// Our port.
    pub fn local_port(self) -> u16 {
        self.0 as u16
    }
}

const EMPTY: u32 = u32::MAX;

/// The table was full (cannot happen when sized for the engine's maxima).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFull;

/// An open-addressing map from [`FlowKey`] to a `u32` (slot index, tagged).
#[derive(Debug)]
pub struct FlowTable {
    keys: Box<[u64]>,
    vals: Box<[u32]>,
    mask: usize,
    len: usize,
    max: usize,
    seed: u64,
}

impl FlowTable {
    /// A table for up to `max` entries, hashed under `seed`. Allocates everything now.
    pub fn new(max: usize, seed: u64) -> FlowTable {
        let cap = (max.max(1) * 2).next_power_of_two();
        FlowTable {
            keys: vec![0; cap].into_boxed_slice(),
            vals: vec![EMPTY; cap].into_boxed_slice(),
            mask: cap - 1,
            len: 0,
            max: max.max(1),
            seed,
        }
    }

    /// Entries stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bucket `key` probes first (keyed hash, so peers cannot aim at one).
    #[inline]
    fn home(&self, key: FlowKey) -> usize {
        // splitmix64's finalizer over the keyed input: every input bit affects every
        // output bit, so nearby tuples (sequential ports) spread over the table.
        let mut z = key.0 ^ self.seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z as usize) & self.mask
    }

    /// The value stored for `key`.
    #[inline]
    pub fn get(&self, key: FlowKey) -> Option<u32> {
        let mut i = self.home(key);
        loop {
            let v = self.vals[i];
            if v == EMPTY {
                return None;
            }
            if self.keys[i] == key.0 {
                return Some(v);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Stores `val` (not `u32::MAX`) for `key`, replacing any value; errs only when
    /// `max` entries are stored already and `key` is new.
    pub fn insert(&mut self, key: FlowKey, val: u32) -> Result<(), TableFull> {
        let mut i = self.home(key);
        loop {
            if self.vals[i] == EMPTY {
                if self.len >= self.max {
                    return Err(TableFull);
                }
                self.keys[i] = key.0;
                self.vals[i] = val;
                self.len += 1;
                return Ok(());
            }
            if self.keys[i] == key.0 {
                self.vals[i] = val;
                return Ok(());
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: FlowKey) -> Option<u32> {
        let mut i = self.home(key);
        loop {
            let v = self.vals[i];
            if v == EMPTY {
                return None;
            }
            if self.keys[i] == key.0 {
                break;
            }
            i = (i + 1) & self.mask;
        }
        let removed = self.vals[i];
        // Backward-shift deletion: move later members of the chain into the hole
        // when their home position allows, so no tombstone is needed.
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            if self.vals[j] == EMPTY {
                break;
            }
            let home = self.home(FlowKey(self.keys[j]));
            // Entry j may move to `hole` if its home is not cyclically in (hole, j].
            let dist_hole = hole.wrapping_sub(home) & self.mask;
            let dist_j = j.wrapping_sub(home) & self.mask;
            if dist_hole <= dist_j {
                self.keys[hole] = self.keys[j];
                self.vals[hole] = self.vals[j];
                hole = j;
            }
        }
        self.vals[hole] = EMPTY;
        self.len -= 1;
        Some(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn key(i: u32) -> FlowKey {
        FlowKey::new(
            SocketAddrV4::new(
                Ipv4Addr::from(0x0a00_0000 + (i >> 8)),
                1000 + (i & 0xff) as u16,
            ),
            80,
        )
    }

    #[test]
    fn key_round_trips() {
        let r = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 7), 443);
        let k = FlowKey::new(r, 50000);
        assert_eq!((k.remote(), k.local_port()), (r, 50000));
    }

    #[test]
    fn matches_a_hashmap_under_random_churn() {
        let mut t = FlowTable::new(500, 0x1234);
        let mut m = HashMap::new();
        let mut x: u64 = 88172645463325252;
        for step in 0..50_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = key((x % 700) as u32);
            if x.is_multiple_of(3) {
                assert_eq!(t.remove(k), m.remove(&k), "step {step}");
            } else if m.len() < 500 || m.contains_key(&k) {
                t.insert(k, step).unwrap();
                m.insert(k, step);
            } else {
                assert_eq!(t.insert(k, step), Err(TableFull));
            }
            assert_eq!(t.len(), m.len());
        }
        for i in 0..700 {
            assert_eq!(t.get(key(i)), m.get(&key(i)).copied());
        }
    }
}
