//! The store's operations: get, touch, the five storage modes with CAS, delete,
//! incr/decr, flush.

use super::item::{item_size, Item};
use super::{Found, Hit, Store, Value};
use crate::num::parse_stored_u64;
use ix_nic::BufPool;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// How a storage command combines with what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Store unconditionally.
    Set,
    /// Store only if absent.
    Add,
    /// Store only if present.
    Replace,
    /// Add bytes after the stored value (flags and expiry kept).
    Append,
    /// Add bytes before the stored value (flags and expiry kept).
    Prepend,
}

/// What a storage command came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    /// Stored, with the item's new CAS unique.
    Stored(u64),
    /// The mode's condition failed (add of a present key, replace/append/prepend
    /// of an absent one).
    NotStored,
    /// The CAS unique given does not match.
    Exists,
    /// A CAS was given and the key is absent.
    NotFound,
    /// The item would exceed the item size limit.
    TooLarge,
    /// No room could be made.
    NoMemory,
}

/// What a delete came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Removed.
    Deleted,
    /// Absent.
    NotFound,
    /// The CAS unique given does not match.
    Exists,
}

/// What incr/decr came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOutcome {
    /// The new value and CAS unique.
    Value(u64, u64),
    /// Absent (and not created).
    NotFound,
    /// The stored value is not a decimal number.
    NonNumeric,
    /// The CAS unique given does not match.
    Exists,
    /// No memory for the new value.
    NoMemory,
}

/// A storage request.
#[derive(Debug)]
pub struct StoreReq<'a, S: ix_nic::SharedBuf> {
    /// The mode.
    pub mode: Mode,
    /// The key.
    pub key: &'a [u8],
    /// Client flags.
    pub flags: u32,
    /// Expiry (relative time; 0 = never).
    pub exptime: u32,
    /// The value.
    pub value: Value<S>,
    /// CAS unique to compare (0: none).
    pub cas: u64,
}

impl<P: BufPool> Store<P> {
    /// Reads `key` (bumping it in its LRU); `None` if absent, expired or flushed.
    pub fn get(&self, key: &[u8], now: u32) -> Option<Hit<P::Shared>> {
        self.access(key, None, now)
    }

    /// Reads `key` and sets its expiry (gat, touch); `None` if absent.
    pub fn touch(&self, key: &[u8], exptime: u32, now: u32) -> Option<Hit<P::Shared>> {
        self.access(key, Some(exptime), now)
    }

    fn access(&self, key: &[u8], exptime: Option<u32>, now: u32) -> Option<Hit<P::Shared>> {
        let mut s = self.lock(self.shard_of(key));
        let Found::Live(i) = self.find(&mut s, key, now, true)? else {
            return None;
        };
        s.bump(i);
        let n = s.node_mut(i)?;
        if let Some(e) = exptime {
            n.exptime = e;
        }
        let hit = Hit {
            item: Arc::clone(&n.item),
            exptime: n.exptime,
            last_access: n.atime,
            fetched: n.fetched,
        };
        n.atime = now;
        n.fetched = true;
        Some(hit)
    }

    /// Looks at `key` without bumping or touching it (meta `me`, tests).
    pub fn peek(&self, key: &[u8], now: u32) -> Option<Hit<P::Shared>> {
        let mut s = self.lock(self.shard_of(key));
        let Found::Live(i) = self.find(&mut s, key, now, false)? else {
            return None;
        };
        let n = s.node(i)?;
        Some(Hit {
            item: Arc::clone(&n.item),
            exptime: n.exptime,
            last_access: n.atime,
            fetched: n.fetched,
        })
    }

    /// Runs a storage command at `now`.
    pub fn store(&self, req: StoreReq<'_, P::Shared>, now: u32) -> StoreOutcome {
        self.store_invalidating(req, false, now)
    }

    /// [`Store::store`], for meta `ms` with `I` when `invalidate`: a set or
    /// replace whose CAS is lower than the stored item's stores the value marked
    /// stale (keeping the old expiry and any token sent) instead of failing, as
    /// memcached 1.6 does; append/prepend with such a CAS still fail.
    pub fn store_invalidating(
        &self,
        req: StoreReq<'_, P::Shared>,
        invalidate: bool,
        now: u32,
    ) -> StoreOutcome {
        let StoreReq {
            mode,
            key,
            flags,
            exptime,
            value,
            cas,
        } = req;
        if !self.fits(key.len(), value.len()) {
            return StoreOutcome::TooLarge;
        }
        // Room for the new item first, without holding the shard (eviction locks
        // shards one at a time).
        if !self.make_room(key, item_size(key.len(), value.len()), now) {
            self.counters.outofmemory.fetch_add(1, Ordering::Relaxed);
            return StoreOutcome::NoMemory;
        }
        let si = self.shard_of(key);
        let mut s = self.lock(si);
        let current = match self.find(&mut s, key, now, false) {
            Some(Found::Live(i)) => s.node(i),
            _ => None,
        };
        // Some((expiry, token sent)) of the item a stale store replaces.
        let mut stale = None;
        if cas != 0 && mode != Mode::Add {
            match current {
                None => return StoreOutcome::NotFound,
                Some(n)
                    if invalidate
                        && cas < n.item.cas
                        && matches!(mode, Mode::Set | Mode::Replace) =>
                {
                    stale = Some((n.exptime, n.token_sent));
                }
                Some(n) if n.item.cas != cas => return StoreOutcome::Exists,
                Some(_) => {}
            }
        }
        let (flags, exptime, value) = match (mode, current) {
            (Mode::Add, Some(_)) => {
                // memcached bumps the existing item on a failed add.
                if let Some(i) = s.find(key) {
                    s.bump(i);
                }
                return StoreOutcome::NotStored;
            }
            (Mode::Replace | Mode::Append | Mode::Prepend, None) => return StoreOutcome::NotStored,
            (Mode::Append, Some(n)) => (
                n.item.flags,
                n.exptime,
                Value::concat(&n.item.value, &value),
            ),
            (Mode::Prepend, Some(n)) => (
                n.item.flags,
                n.exptime,
                Value::concat(&value, &n.item.value),
            ),
            _ => (flags, stale.map_or(exptime, |(e, _)| e), value),
        };
        if !self.fits(key.len(), value.len()) {
            return StoreOutcome::TooLarge;
        }
        let new_cas = self.new_cas();
        let size = item_size(key.len(), value.len());
        let item = Arc::new(Item {
            flags,
            cas: new_cas,
            time: now,
            value,
            size,
        });
        self.account(&item);
        let old = s.insert(key, item, exptime, now);
        if let Some((_, token_sent)) = stale {
            if let Some(n) = s.find(key).and_then(|i| s.node_mut(i)) {
                n.stale = true;
                n.token_sent = token_sent;
            }
        }
        drop(s);
        if let Some(old) = old {
            self.unaccount(&old);
        }
        self.counters.total_items.fetch_add(1, Ordering::Relaxed);
        // Concurrent stores may have passed the limit between make_room and here.
        if self.used.load(Ordering::Relaxed) > self.limit() {
            self.make_room(key, 0, now);
        }
        StoreOutcome::Stored(new_cas)
    }

    /// Deletes `key` (if `cas` is non-zero, only when it matches).
    pub fn delete(&self, key: &[u8], cas: u64, now: u32) -> DeleteOutcome {
        let mut s = self.lock(self.shard_of(key));
        let Some(Found::Live(i)) = self.find(&mut s, key, now, false) else {
            return DeleteOutcome::NotFound;
        };
        if cas != 0 && s.node(i).is_some_and(|n| n.item.cas != cas) {
            return DeleteOutcome::Exists;
        }
        if let Some(node) = s.remove(i) {
            drop(s);
            self.unaccount(&node);
        }
        DeleteOutcome::Deleted
    }

    /// incr (`incr`) or decr by `delta`: incr wraps at 2^64, decr stops at 0. A
    /// shorter result is padded with spaces to the old length, as memcached does.
    /// `create`: the initial value and expiry to store when absent (binary, meta).
    pub fn arith(
        &self,
        key: &[u8],
        incr: bool,
        delta: u64,
        cas: u64,
        create: Option<(u64, u32)>,
        now: u32,
    ) -> ArithOutcome {
        let si = self.shard_of(key);
        // Read, compute and build the new value without the shard (building may
        // evict, which locks shards), then store it if the item did not change.
        for _ in 0..64 {
            let current = {
                let mut s = self.lock(si);
                match self.find(&mut s, key, now, false) {
                    Some(Found::Live(i)) => s.node(i).map(|n| (Arc::clone(&n.item), n.exptime)),
                    _ => None,
                }
            };
            let (new, flags, exptime, pad_to) = match &current {
                None => match create {
                    Some((initial, exptime)) => (initial, 0, exptime, 0),
                    None => return ArithOutcome::NotFound,
                },
                Some((item, exptime)) => {
                    if cas != 0 && item.cas != cas {
                        return ArithOutcome::Exists;
                    }
                    let mut digits = [0u8; 24];
                    if item.value.len() > digits.len() {
                        return ArithOutcome::NonNumeric;
                    }
                    let n = item.value.copy_prefix(&mut digits);
                    let Some(v) = parse_stored_u64(&digits[..n]) else {
                        return ArithOutcome::NonNumeric;
                    };
                    let new = if incr {
                        v.wrapping_add(delta)
                    } else {
                        v.saturating_sub(delta)
                    };
                    (new, item.flags, *exptime, item.value.len())
                }
            };
            let mut text = [b' '; 24];
            let len = crate::num::write_u64(&mut text, new);
            let total = len.max(pad_to.min(text.len()));
            let Some(value) = self.value_from(&text[..total], now) else {
                return ArithOutcome::NoMemory;
            };
            let size = item_size(key.len(), value.len());
            let mut s = self.lock(si);
            let now_there = match self.find(&mut s, key, now, false) {
                Some(Found::Live(i)) => s.node(i).map(|n| Arc::clone(&n.item)),
                _ => None,
            };
            let unchanged = match (&current, &now_there) {
                (None, None) => true,
                (Some((a, _)), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            };
            if !unchanged {
                continue;
            }
            let new_cas = self.new_cas();
            let item = Arc::new(Item {
                flags,
                cas: new_cas,
                time: now,
                value,
                size,
            });
            self.account(&item);
            let old = s.insert(key, item, exptime, now);
            drop(s);
            match old {
                Some(old) => self.unaccount(&old),
                None => {
                    self.counters.total_items.fetch_add(1, Ordering::Relaxed);
                }
            }
            return ArithOutcome::Value(new, new_cas);
        }
        ArithOutcome::Exists
    }

    /// `flush_all`: invalidates every item now (`at` = 0) or at relative time `at`.
    pub fn flush(&self, at: u32, now: u32) {
        if at == 0 || at <= now {
            // Everything stored so far has a smaller CAS than the next one.
            self.oldest_cas.store(self.new_cas(), Ordering::Relaxed);
            self.oldest_live.store(0, Ordering::Relaxed);
        } else {
            self.oldest_live.store(at - 1, Ordering::Relaxed);
        }
    }
}
