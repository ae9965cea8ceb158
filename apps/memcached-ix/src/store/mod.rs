//! The item store all threads share, as memcached has one.
//!
//! Structure: `shards` striped locks ([`DEFAULT_SHARDS`], chosen by measured
//! contention: `benches/store`), each a hash map with its own LRU list
//! ([`shard::Shard`]); a key's shard is an FNV-1a hash of the key. Memory is
//! accounted globally (one atomic: bytes = key + value + memcached's per-item
//! overhead) against the `-m` limit; when a store would pass it, items are evicted,
//! each time the least recently accessed of the LRU tails of [`EVICT_SAMPLE`]
//! shards from the key's on (an approximation of global LRU, as memcached's
//! per-slab-class LRUs are). Values live in buffers of the store's own pool (`-m`
//! worth of them): when the pool runs dry before the byte limit (values much
//! smaller than a buffer), LRU items are evicted too. Expiry is checked lazily on
//! access against a time the caller passes in (tests run on a fake clock).

pub mod clock;
mod evict;
pub mod item;
pub mod meta;
pub mod ops;
pub mod shard;
pub mod value;

#[cfg(test)]
mod meta_tests;
#[cfg(test)]
mod tests;

pub use clock::Clock;
pub use item::{item_size, Item, ITEM_OVERHEAD};
pub use meta::{MetaHit, MetaStep};
pub use ops::{ArithOutcome, DeleteOutcome, Mode, StoreOutcome};
pub use value::{Value, ValueBuilder};

use ix_nic::{BufPool, SharedBuf};
use shard::Shard;
pub(crate) use std::sync::atomic::Ordering;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

/// Lock stripes by default. Measured (`cargo bench -p memcached-ix --bench
/// store`, README "Store structure"): on 2 threads 64 shards make 4x fewer lock
/// waits than 16 (about 12 per 1000 ops against 45) at no single-thread cost, for
/// a hit ratio about 2 points lower in a store of a few hundred items (each shard
/// has its own LRU); 256 showed no throughput gain that held across runs, and
/// lower hit ratios still.
pub const DEFAULT_SHARDS: usize = 64;

/// Shards whose LRU tails an eviction compares (see [`Store::evict_one`]).
pub const EVICT_SAMPLE: usize = 4;

/// The store's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    /// Memory limit in bytes (`-m` MiB).
    pub limit_bytes: u64,
    /// Largest item in bytes, overhead included (`-I`).
    pub item_max: usize,
    /// Lock stripes.
    pub shards: usize,
}

impl Default for StoreConfig {
    /// memcached's defaults: 64 MiB, 1 MiB items; [`DEFAULT_SHARDS`] shards.
    fn default() -> Self {
        StoreConfig {
            limit_bytes: 64 << 20,
            item_max: 1 << 20,
            shards: DEFAULT_SHARDS,
        }
    }
}

/// What a found item looks like to a reader.
#[derive(Debug, Clone)]
pub struct Hit<S: SharedBuf> {
    /// The item (a reference: its value's buffers stay alive while held).
    pub item: Arc<Item<S>>,
    /// Its expiry (relative time, 0 = never).
    pub exptime: u32,
    /// Relative time of the access before this one.
    pub last_access: u32,
    /// Whether it had been read before this access.
    pub fetched: bool,
}

/// Counters the store keeps (totals since start).
#[derive(Debug, Default)]
pub struct StoreCounters {
    /// Items stored.
    pub total_items: AtomicU64,
    /// Live items evicted to make room.
    pub evictions: AtomicU64,
    /// Evicted items that had never been read.
    pub evicted_unfetched: AtomicU64,
    /// Expired items whose memory was taken back (on access or at the LRU tail).
    pub reclaimed: AtomicU64,
    /// Expired items taken back that had never been read.
    pub expired_unfetched: AtomicU64,
    /// Reads that found an expired item.
    pub get_expired: AtomicU64,
    /// Reads that found an item invalidated by `flush_all`.
    pub get_flushed: AtomicU64,
    /// Stores refused for lack of memory.
    pub outofmemory: AtomicU64,
    /// Shard lock acquisitions that found the lock held and had to wait
    /// (memcached-ix's contention evidence: `store_lock_waits` in `stats`).
    pub lock_waits: AtomicU64,
}

/// The shared store; values are `P::Shared` buffers from its own pool `P`.
pub struct Store<P: BufPool> {
    shards: Box<[Mutex<Shard<P::Shared>>]>,
    pool: P,
    cfg: StoreConfig,
    clock: Clock,
    /// The memory limit now (`cfg.limit_bytes` at start; `cache_memlimit` moves it).
    limit: AtomicU64,
    next_cas: AtomicU64,
    used: AtomicU64,
    items: AtomicU64,
    buffers: AtomicU64,
    oldest_live: AtomicU32,
    oldest_cas: AtomicU64,
    evict_cursor: AtomicU64,
    counters: StoreCounters,
}

impl<P: BufPool> core::fmt::Debug for Store<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Store")
            .field("cfg", &self.cfg)
            .field("items", &self.items)
            .field("used", &self.used)
            .finish_non_exhaustive()
    }
}

/// How a lookup found a key.
enum Found {
    Live(u32),
    Gone,
}

impl<P: BufPool> Store<P> {
    /// A store over `pool` (the values' memory) with `cfg`'s limits and `clock`.
    pub fn new(pool: P, cfg: StoreConfig, clock: Clock) -> Self {
        let n = cfg.shards.max(1);
        Store {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
            pool,
            limit: AtomicU64::new(cfg.limit_bytes),
            cfg,
            clock,
            next_cas: AtomicU64::new(1),
            used: AtomicU64::new(0),
            items: AtomicU64::new(0),
            buffers: AtomicU64::new(0),
            oldest_live: AtomicU32::new(0),
            oldest_cas: AtomicU64::new(0),
            evict_cursor: AtomicU64::new(0),
            counters: StoreCounters::default(),
        }
    }

    /// The memory limit now, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Moves the memory limit (memcached's `cache_memlimit`): later stores evict
    /// down to it. Values still live in the pool sized at start, so a limit above
    /// it is reached only as far as the pool's buffers go (then the LRU evicts).
    pub fn set_limit(&self, bytes: u64) {
        self.limit.store(bytes, Ordering::Relaxed);
    }

    /// The limits (`limit_bytes` as configured at start; see [`Store::limit`]).
    pub fn config(&self) -> StoreConfig {
        self.cfg
    }

    /// The clock (its `now` is what callers pass as `now`).
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// The pool values are built in.
    pub fn pool(&self) -> &P {
        &self.pool
    }

    /// The counters.
    pub fn counters(&self) -> &StoreCounters {
        &self.counters
    }

    /// Items stored now (expired ones not yet reclaimed included, as memcached).
    pub fn curr_items(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }

    /// Bytes accounted to stored items now.
    pub fn bytes(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether an item of this key and value length is within the item size limit.
    pub fn fits(&self, key_len: usize, value_len: usize) -> bool {
        item_size(key_len, value_len) <= self.cfg.item_max
            && item_size(key_len, value_len) as u64 <= self.limit()
    }

    /// A fresh CAS unique.
    pub fn new_cas(&self) -> u64 {
        self.next_cas.fetch_add(1, Ordering::Relaxed)
    }

    fn shard_of(&self, key: &[u8]) -> usize {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in key {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        (h % self.shards.len() as u64) as usize
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, Shard<P::Shared>> {
        // A panic while holding a shard cannot leave it inconsistent in a way that
        // matters more than refusing service: keep going with its state.
        let m = &self.shards[i % self.shards.len()];
        // try_lock first costs nothing more than lock when free (the same CAS) and
        // counts the times the lock was held: the contention figure.
        match m.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                self.counters.lock_waits.fetch_add(1, Ordering::Relaxed);
                m.lock().unwrap_or_else(PoisonError::into_inner)
            }
        }
    }

    fn flushed(&self, item: &Item<P::Shared>, now: u32) -> bool {
        let live = self.oldest_live.load(Ordering::Relaxed);
        if live != 0 && live <= now && item.time <= live {
            return true;
        }
        let cas = self.oldest_cas.load(Ordering::Relaxed);
        cas != 0 && item.cas < cas
    }

    /// Finds `key` in `shard`, reclaiming it if it expired or was flushed.
    fn find(
        &self,
        shard: &mut Shard<P::Shared>,
        key: &[u8],
        now: u32,
        count: bool,
    ) -> Option<Found> {
        let i = shard.find(key)?;
        let node = shard.node(i)?;
        let expired = node.exptime != 0 && node.exptime <= now;
        let flushed = !expired && self.flushed(&node.item, now);
        if !expired && !flushed {
            return Some(Found::Live(i));
        }
        if count {
            let c = if expired {
                &self.counters.get_expired
            } else {
                &self.counters.get_flushed
            };
            c.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(node) = shard.remove(i) {
            self.reclaimed(&node);
        }
        Some(Found::Gone)
    }

    fn account(&self, item: &Item<P::Shared>) {
        self.used.fetch_add(item.size as u64, Ordering::Relaxed);
        self.items.fetch_add(1, Ordering::Relaxed);
        self.buffers
            .fetch_add(item.value.buffers() as u64, Ordering::Relaxed);
    }

    fn unaccount(&self, node: &shard::Node<P::Shared>) {
        self.used
            .fetch_sub(node.item.size as u64, Ordering::Relaxed);
        self.items.fetch_sub(1, Ordering::Relaxed);
        self.buffers
            .fetch_sub(node.item.value.buffers() as u64, Ordering::Relaxed);
    }

    /// Value buffer references held by stored items (a buffer shared by an
    /// appended value and its origin counts once per item).
    pub fn buffers_in_use(&self) -> u64 {
        self.buffers.load(Ordering::Relaxed)
    }

    /// Seconds since the least recently used item (over all shards) was accessed.
    pub fn oldest_age(&self, now: u32) -> u32 {
        let mut oldest = now;
        for i in 0..self.shards.len() {
            let s = self.lock(i);
            if let Some(n) = s.tail().and_then(|t| s.node(t)) {
                oldest = oldest.min(n.atime);
            }
        }
        now - oldest
    }

    fn reclaimed(&self, node: &shard::Node<P::Shared>) {
        self.unaccount(node);
        self.counters.reclaimed.fetch_add(1, Ordering::Relaxed);
        if !node.fetched {
            self.counters
                .expired_unfetched
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Builds a value from `bytes` in the store's pool, evicting while the pool is
    /// dry; `None` if even an empty store has no buffer.
    pub fn value_from(&self, bytes: &[u8], now: u32) -> Option<Value<P::Shared>> {
        loop {
            if let Ok(v) = ValueBuilder::from_bytes(&self.pool, bytes) {
                return Some(v);
            }
            if !self.free_buffers(now) {
                return None;
            }
        }
    }

    /// Drops every item (for tests and shutdown).
    pub fn clear(&self) {
        for i in 0..self.shards.len() {
            let nodes = self.lock(i).clear();
            for n in &nodes {
                self.unaccount(n);
            }
        }
    }
}
