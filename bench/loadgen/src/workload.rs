//! What requests look like: keys, values, the get/set mix (mutilate's `-K`, `-V`,
//! `-r`, `-u`), and how each one is chosen.

use crate::dist::Distribution;
use crate::protocol::Protocol;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

/// memcached's longest key.
pub const MAX_KEY_LEN: usize = 250;
/// Largest value sent; memcached's default item limit is 1 MiB including overhead.
pub const MAX_VALUE_LEN: usize = 1_000_000;
/// Bytes of random printable text that values are cut from.
const VALUE_POOL: usize = 2 * MAX_VALUE_LEN;

/// The request mix shared by every connection of a run.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Key lengths (`-K`).
    pub keysize: Distribution,
    /// Value lengths (`-V`).
    pub valuesize: Distribution,
    /// Keys per server (`-r` divided by the number of servers, as mutilate does); >= 1.
    pub records: u64,
    /// Fraction of requests that are sets (`-u`), 0..=1.
    pub update: f64,
}

/// The kind of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A get.
    Get,
    /// A set.
    Set,
}

/// Produces requests for one connection; deterministic for a given seed.
#[derive(Debug, Clone)]
pub struct RequestGen {
    workload: Workload,
    rng: SmallRng,
    values: Arc<[u8]>,
    key: Vec<u8>,
}

/// The random printable bytes that values are cut from, shared by every connection
/// of a run (2 MB, so it is built once, before the run starts).
pub fn value_pool(seed: u64) -> Arc<[u8]> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..VALUE_POOL)
        .map(|_| rng.gen_range(b'a'..=b'z'))
        .collect()
}

/// mutilate's key-length hash: FNV-1a over the index's 8 little-endian bytes.
pub fn fnv1a_64(index: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in index.to_le_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl RequestGen {
    /// A generator for `workload` seeded by `seed`, cutting values from `values`
    /// (from `value_pool`).
    pub fn new(workload: Workload, seed: u64, values: Arc<[u8]>) -> Self {
        RequestGen {
            workload,
            rng: SmallRng::seed_from_u64(seed),
            values,
            key: Vec::with_capacity(MAX_KEY_LEN),
        }
    }

    /// The key of record `index`, as mutilate builds it: the index zero-padded to a
    /// length drawn (deterministically, from a hash of the index) from `-K`, at least
    /// as many digits as the record count has, at most 250.
    pub fn key(&mut self, index: u64) -> &[u8] {
        let u = fnv1a_64(index) as f64 / u64::MAX as f64;
        let drawn = self.workload.keysize.inverse(u).round();
        let digits = digits(self.workload.records.max(index));
        let len = if drawn.is_finite() && drawn > digits as f64 {
            (drawn as usize).min(MAX_KEY_LEN)
        } else {
            digits
        };
        self.key.clear();
        let text = format!("{index:0len$}");
        self.key
            .extend_from_slice(&text.as_bytes()[..text.len().min(MAX_KEY_LEN)]);
        &self.key
    }

    fn value_len(&mut self) -> usize {
        let v = self.workload.valuesize.sample(&mut self.rng).round();
        if v.is_finite() && v > 0.0 {
            (v as usize).min(MAX_VALUE_LEN)
        } else {
            0
        }
    }

    /// Appends the set that loads record `index` to `out`.
    pub fn encode_load(&mut self, proto: Protocol, index: u64, out: &mut Vec<u8>) {
        let len = self.value_len();
        let offset = self
            .rng
            .gen_range(0..=self.values.len().saturating_sub(len));
        let len = len.min(self.values.len() - offset);
        self.key(index);
        proto.encode_set(&self.key, &self.values[offset..offset + len], out);
    }

    /// Appends one request of the mix to `out`: a uniformly chosen record, a set with
    /// probability `update`, else a get.
    pub fn encode_next(&mut self, proto: Protocol, out: &mut Vec<u8>) -> Op {
        let index = self.rng.gen_range(0..self.workload.records.max(1));
        if self.rng.gen::<f64>() < self.workload.update {
            self.encode_load(proto, index, out);
            Op::Set
        } else {
            self.key(index);
            proto.encode_get(&self.key, out);
            Op::Get
        }
    }
}

fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(k: &str, update: f64) -> Workload {
        Workload {
            keysize: Distribution::parse("-K", k).unwrap(),
            valuesize: Distribution::parse("-V", "200").unwrap(),
            records: 10_000,
            update,
        }
    }

    #[test]
    fn keys_are_padded_indices_of_stable_length() {
        let mut g = RequestGen::new(workload("30", 0.0), 1, value_pool(1));
        assert_eq!(g.key(42), b"000000000000000000000000000042");
        let mut short = RequestGen::new(workload("2", 0.0), 1, value_pool(1));
        assert_eq!(
            short.key(42),
            b"00042",
            "at least the digits of the record count"
        );
        let mut fb = RequestGen::new(workload("fb_key", 0.0), 1, value_pool(1));
        let mut fb2 = RequestGen::new(workload("fb_key", 0.0), 99, value_pool(99));
        for i in [0, 1, 77, 9_999] {
            assert_eq!(
                fb.key(i).to_vec(),
                fb2.key(i).to_vec(),
                "key {i} independent of seed"
            );
            assert!(fb.key(i).len() >= 4 && fb.key(i).len() <= MAX_KEY_LEN);
        }
    }

    #[test]
    fn update_ratio_and_value_sizes() {
        let mut g = RequestGen::new(workload("30", 0.25), 3, value_pool(3));
        let mut sets = 0;
        for _ in 0..40_000 {
            let mut out = Vec::new();
            match g.encode_next(Protocol::Ascii, &mut out) {
                Op::Set => {
                    sets += 1;
                    // "set <30-byte key> 0 0 200\r\n" + 200 bytes + "\r\n"
                    assert_eq!(out.len(), 4 + 30 + 8 + 2 + 200 + 2);
                }
                Op::Get => assert_eq!(out.len(), 4 + 30 + 2),
            }
        }
        let ratio = sets as f64 / 40_000.0;
        assert!((ratio - 0.25).abs() < 0.01, "set ratio {ratio}");
    }
}
