//! Settings clients change at run time (`lru_crawler`, `slabs automove`, `lru`),
//! as memcached keeps them, reported by `stats settings`.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};

/// memcached's run-time settings with its defaults; relaxed atomics (admin
/// commands write, `stats settings` reads).
#[derive(Debug)]
pub struct Tunables {
    /// `lru_crawler enable|disable`.
    pub crawler: AtomicBool,
    /// `lru_crawler sleep` (µs between crawl steps).
    pub crawler_sleep: AtomicU32,
    /// `lru_crawler tocrawl` (items per class per crawl, 0 = all).
    pub crawler_tocrawl: AtomicU32,
    /// `slabs automove` level.
    pub slab_automove: AtomicU32,
    /// `slabs automove ratio` (f64 bits).
    pub slab_automove_ratio: AtomicU64,
    /// `lru tune` hot percentage.
    pub hot_lru_pct: AtomicU32,
    /// `lru tune` warm percentage.
    pub warm_lru_pct: AtomicU32,
    /// `lru tune` hot age factor (f64 bits).
    pub hot_max_factor: AtomicU64,
    /// `lru tune` warm age factor (f64 bits).
    pub warm_max_factor: AtomicU64,
    /// `lru mode segmented|flat`.
    pub lru_segmented: AtomicBool,
    /// `lru temp_ttl` set (>= 0).
    pub temp_lru: AtomicBool,
    /// `lru temp_ttl` value.
    pub temporary_ttl: AtomicI32,
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            crawler: AtomicBool::new(true),
            crawler_sleep: AtomicU32::new(100),
            crawler_tocrawl: AtomicU32::new(0),
            slab_automove: AtomicU32::new(1),
            slab_automove_ratio: AtomicU64::new(0.8f64.to_bits()),
            hot_lru_pct: AtomicU32::new(20),
            warm_lru_pct: AtomicU32::new(40),
            hot_max_factor: AtomicU64::new(0.2f64.to_bits()),
            warm_max_factor: AtomicU64::new(2.0f64.to_bits()),
            lru_segmented: AtomicBool::new(true),
            temp_lru: AtomicBool::new(false),
            temporary_ttl: AtomicI32::new(61),
        }
    }
}

/// Reads an f64 kept as bits.
pub fn load_f64(a: &AtomicU64) -> f64 {
    f64::from_bits(a.load(Ordering::Relaxed))
}

/// Stores an f64 as bits.
pub fn store_f64(a: &AtomicU64, v: f64) {
    a.store(v.to_bits(), Ordering::Relaxed);
}
