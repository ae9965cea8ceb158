//! The structure under test: memcached-ix's own `Store` (striped `Mutex` shards),
//! one shared by all threads, and how SET values are made for it.

use super::run::Worker;
use super::workload::{size_of_class, Keys, SIZE_CLASSES, VALUE_MAX};
use ix_nic::heap::{HeapPool, HeapShared};
use memcached_ix::store::ops::StoreReq;
use memcached_ix::store::Store;
use memcached_ix::store::{item_size, Clock, Mode, StoreConfig, StoreOutcome, Value};

/// Relative time the benchmark runs at (nothing expires).
pub const NOW: u32 = 100;
/// Value buffer size: the server's `--value-block` default.
pub const BLOCK: usize = 2048;

/// How a SET gets its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    /// As the server does: a copy of the bytes into fresh buffers of the store's
    /// pool (one shared lock-free queue, the kernel transport's pool).
    Copy,
    /// A reference to one of the thread's prebuilt values (no pool, no copy):
    /// only the map, its lock and the accounting are measured.
    Ref,
}

/// A store with `shards` stripes whose memory limit is `room` times the bytes
/// of the keys `mine` selects (>= 1: no eviction).
pub fn new_store(
    keys: &Keys,
    shards: usize,
    values: Values,
    threads: usize,
    room: f64,
    mine: impl Fn(usize) -> bool,
) -> Store<HeapPool> {
    let (mut bytes, mut blocks) = (0u64, 0usize);
    let selected = keys.keys.iter().zip(&keys.class).enumerate();
    for (_, (k, &c)) in selected.filter(|(i, _)| mine(*i)) {
        let len = size_of_class(usize::from(c));
        bytes += item_size(k.len(), len) as u64;
        blocks += len.div_ceil(BLOCK);
    }
    // Replaced items give their buffers back after the new one is in: a few in
    // flight per thread. In Ref mode the store pool is not used.
    let blocks = match values {
        Values::Copy => blocks + 64 * threads + 1024,
        Values::Ref => 1,
    };
    let cfg = StoreConfig {
        limit_bytes: (bytes as f64 * room) as u64,
        item_max: 1 << 20,
        shards,
    };
    Store::new(
        HeapPool::new(blocks, BLOCK),
        cfg,
        Clock {
            epoch_unix: 1_000_000_000,
        },
    )
}

/// Stores every key whose index satisfies `mine` (the preload: gets then hit),
/// with values from `src` (in `Ref` mode they share its prebuilt buffers).
pub fn preload(
    store: &Store<HeapPool>,
    keys: &Keys,
    src: &ValueSource,
    mine: impl Fn(usize) -> bool,
) {
    for (i, k) in keys.keys.iter().enumerate().filter(|(i, _)| mine(*i)) {
        if let Some(value) = src.value(store, usize::from(keys.class[i])) {
            set(store, k, value);
        }
    }
}

/// One plain SET.
pub fn set(store: &Store<HeapPool>, key: &[u8], value: Value<HeapShared>) -> bool {
    let req = StoreReq {
        mode: Mode::Set,
        key,
        flags: 0,
        exptime: 0,
        value,
        cas: 0,
    };
    matches!(store.store(req, NOW), StoreOutcome::Stored(_))
}

/// A thread's source of SET values.
pub struct ValueSource {
    mode: Values,
    payload: Vec<u8>,
    prebuilt: Vec<Value<HeapShared>>,
    _pool: HeapPool,
}

impl ValueSource {
    /// Values for one thread; `Ref` builds one per size class in a private pool.
    pub fn new(mode: Values) -> Self {
        let pool = HeapPool::new(SIZE_CLASSES * VALUE_MAX.div_ceil(BLOCK), BLOCK);
        let payload = vec![b'w'; VALUE_MAX];
        let prebuilt = match mode {
            Values::Copy => Vec::new(),
            Values::Ref => (0..SIZE_CLASSES)
                .filter_map(|c| {
                    memcached_ix::store::ValueBuilder::from_bytes(
                        &pool,
                        &payload[..size_of_class(c)],
                    )
                    .ok()
                })
                .collect(),
        };
        ValueSource {
            mode,
            payload,
            prebuilt,
            _pool: pool,
        }
    }

    /// The value for size class `class`, built in `store`'s pool or referenced.
    pub fn value(&self, store: &Store<HeapPool>, class: usize) -> Option<Value<HeapShared>> {
        match self.mode {
            Values::Copy => store.value_from(&self.payload[..size_of_class(class)], NOW),
            Values::Ref => self.prebuilt.get(class).cloned(),
        }
    }
}

/// A thread's handle on the shared store.
pub struct SharedWorker<'a> {
    /// The store all threads share.
    pub store: &'a Store<HeapPool>,
    /// The keys.
    pub keys: &'a Keys,
    /// Where SET values come from.
    pub values: ValueSource,
}

impl Worker for SharedWorker<'_> {
    fn get(&mut self, k: usize) -> bool {
        self.store.get(&self.keys.keys[k], NOW).is_some()
    }

    fn set(&mut self, k: usize) -> bool {
        match self
            .values
            .value(self.store, usize::from(self.keys.class[k]))
        {
            Some(v) => set(self.store, &self.keys.keys[k], v),
            None => false,
        }
    }
}
