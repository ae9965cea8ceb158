//! memcached's per-prefix stats (`stats detail on|off|dump`, `-D`): for keys
//! holding the delimiter, the gets, hits, sets and deletes of each prefix (the
//! key up to its first delimiter). Recorded only while enabled; dumped in
//! memcached's order (its 256 buckets by MurmurHash3 of the prefix, newest
//! first within a bucket), so the dump reads the same as memcached's.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError};

/// memcached's PREFIX_HASH_SIZE.
const BUCKETS: usize = 256;

/// One prefix's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    prefix: Box<[u8]>,
    gets: u64,
    hits: u64,
    sets: u64,
    deletes: u64,
}

/// The per-prefix counters, shared by every thread.
#[derive(Debug)]
pub struct PrefixStats {
    enabled: AtomicBool,
    delimiter: AtomicU8,
    buckets: Mutex<Vec<Vec<Entry>>>,
}

impl Default for PrefixStats {
    /// Off, delimiter ':' (memcached's defaults).
    fn default() -> Self {
        PrefixStats {
            enabled: AtomicBool::new(false),
            delimiter: AtomicU8::new(b':'),
            buckets: Mutex::new(Vec::new()),
        }
    }
}

impl PrefixStats {
    /// Whether recording is on (`stats detail on`, or `-D` given).
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Turns recording on or off (what was recorded stays).
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// The delimiter between prefix and the rest of a key.
    pub fn delimiter(&self) -> u8 {
        self.delimiter.load(Ordering::Relaxed)
    }

    /// Sets the delimiter (`-D`).
    pub fn set_delimiter(&self, d: u8) {
        self.delimiter.store(d, Ordering::Relaxed);
    }

    /// A retrieval of `key` (`hit`: found).
    pub fn record_get(&self, key: &[u8], hit: bool) {
        self.record(key, |e| {
            e.gets += 1;
            e.hits += u64::from(hit);
        });
    }

    /// A storage command for `key` (counted when asked, stored or not).
    pub fn record_set(&self, key: &[u8]) {
        self.record(key, |e| e.sets += 1);
    }

    /// A delete of `key` (found or not).
    pub fn record_delete(&self, key: &[u8]) {
        self.record(key, |e| e.deletes += 1);
    }

    fn record(&self, key: &[u8], f: impl FnOnce(&mut Entry)) {
        if !self.enabled() {
            return;
        }
        let d = self.delimiter();
        // memcached stops at a NUL too, and ignores keys without the delimiter.
        let Some(len) = key.iter().take_while(|&&b| b != 0).position(|&b| b == d) else {
            return;
        };
        let prefix = &key[..len];
        let mut b = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if b.is_empty() {
            b.resize(BUCKETS, Vec::new());
        }
        let bucket = &mut b[murmur3_32(prefix) as usize % BUCKETS];
        // Newest last here; the dump walks each bucket backwards.
        match bucket.iter_mut().find(|e| &*e.prefix == prefix) {
            Some(e) => f(e),
            None => {
                let mut e = Entry {
                    prefix: prefix.into(),
                    gets: 0,
                    hits: 0,
                    sets: 0,
                    deletes: 0,
                };
                f(&mut e);
                bucket.push(e);
            }
        }
    }

    /// Forgets every prefix (`stats reset`).
    pub fn clear(&self) {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// `stats detail dump`: one `PREFIX p get g hit h set s del d` line per
    /// prefix, then `END`.
    pub fn dump(&self) -> String {
        let b = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        for e in b.iter().flat_map(|bucket| bucket.iter().rev()) {
            out.push_str(&format!(
                "PREFIX {} get {} hit {} set {} del {}\r\n",
                String::from_utf8_lossy(&e.prefix),
                e.gets,
                e.hits,
                e.sets,
                e.deletes
            ));
        }
        out.push_str("END\r\n");
        out
    }
}

/// MurmurHash3 x86 32-bit, seed 0: memcached 1.6's default hash, which places
/// prefixes in its buckets.
pub fn murmur3_32(key: &[u8]) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h: u32 = 0;
    let mut blocks = key.chunks_exact(4);
    for b in &mut blocks {
        let mut k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    let mut k: u32 = 0;
    for (i, &t) in tail.iter().enumerate() {
        k ^= u32::from(t) << (8 * i);
    }
    if !tail.is_empty() {
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    }
    h ^= key.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_the_reference_vectors() {
        // SMHasher's MurmurHash3_x86_32 with seed 0.
        assert_eq!(murmur3_32(b""), 0);
        assert_eq!(murmur3_32(b"hello"), 0x248b_fa47);
        assert_eq!(murmur3_32(b"Hello, world!"), 0xc036_3e43);
        assert_eq!(
            murmur3_32(b"The quick brown fox jumps over the lazy dog"),
            0x2e4f_f723
        );
    }

    #[test]
    fn records_only_when_enabled_and_only_keys_with_the_delimiter() {
        let p = PrefixStats::default();
        p.record_set(b"a:1");
        assert_eq!(p.dump(), "END\r\n", "off: nothing recorded");
        p.set_enabled(true);
        p.record_set(b"a:1");
        p.record_get(b"a:1", true);
        p.record_get(b"a:2", false);
        p.record_delete(b"a:9");
        p.record_get(b"plain", true);
        p.record_set(b":x");
        let d = p.dump();
        assert!(d.contains("PREFIX a get 2 hit 1 set 1 del 1\r\n"), "{d}");
        assert!(d.contains("PREFIX  get 0 hit 0 set 1 del 0\r\n"), "{d}");
        assert!(!d.contains("plain"), "{d}");
        p.set_delimiter(b'/');
        p.record_set(b"b/1");
        assert!(p.dump().contains("PREFIX b get 0 hit 0 set 1 del 0"));
        p.clear();
        assert_eq!(p.dump(), "END\r\n");
    }

    #[test]
    fn dump_order_is_memcacheds() {
        // The order memcached 1.6.18 printed after these sets (checked by hand).
        let p = PrefixStats::default();
        p.set_enabled(true);
        for k in ["a", "b", "c", "d", "foo", "bar", "ab", "", "a", "q"] {
            p.record_set(format!("{k}:1").as_bytes());
        }
        let order: Vec<String> = p
            .dump()
            .lines()
            .filter_map(|l| l.strip_prefix("PREFIX "))
            .map(|l| l.split(' ').next().unwrap_or("").to_string())
            .collect();
        assert_eq!(order, ["", "b", "foo", "ab", "c", "d", "bar", "a", "q"]);
    }
}
