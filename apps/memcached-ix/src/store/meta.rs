//! The meta protocol's stale/win machinery (memcached 1.6's `mg` N/R/T, `ms` I,
//! `md` I). The marks live in the shard node ([`super::shard::Node`]: `stale`,
//! `token_sent`) and change only under the shard lock, so exactly one client wins
//! the right to recache an item (the W flag); later ones see Z.

use super::item::{item_size, Item};
use super::ops::DeleteOutcome;
use super::{Found, Hit, Store, Value};
use ix_nic::BufPool;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// One of `mg`'s item-changing flags, or its `t` report, in request order
/// (memcached applies them in the order given: a `t` before `T` reports the old
/// TTL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaStep {
    /// `T`: set the found item's expiry (relative time; 0 = never).
    Ttl(u32),
    /// `N`: the expiry of an item this request vivified (ignored otherwise).
    Vivify(u32),
    /// `R`: win if no token was sent, the item was not just vivified, and its
    /// expiry is set and earlier than this relative time.
    Recache(u32),
    /// `t`: note the expiry as it is at this point.
    Report,
}

/// What `mg` found (or vivified), and the win/stale marks it reports.
#[derive(Debug, Clone)]
pub struct MetaHit<S: ix_nic::SharedBuf> {
    /// The item; `exptime` is its expiry after every step, `last_access` and
    /// `fetched` are from before this access.
    pub hit: Hit<S>,
    /// This request created it (vivify on miss: an empty item).
    pub created: bool,
    /// This request won the recache token (W).
    pub won: bool,
    /// A token had been sent to an earlier client (Z).
    pub token_was_sent: bool,
    /// The item is stale (X).
    pub stale: bool,
    /// A `T` step set its expiry (memcached counts the request as a touch).
    pub ttl_set: bool,
    /// The expiry at the [`MetaStep::Report`] step (the final one without it).
    pub reported_exptime: u32,
}

impl<P: BufPool> Store<P> {
    /// `mg`: reads `key` (bumping it), applying `steps` in order. On a miss with
    /// `vivify`, creates an empty item (flags 0) and reports it as won; `None` on
    /// a miss otherwise, or when no room can be made for the new item.
    pub fn meta_get(
        &self,
        key: &[u8],
        steps: &[MetaStep],
        vivify: bool,
        now: u32,
    ) -> Option<MetaHit<P::Shared>> {
        let si = self.shard_of(key);
        let mut s = self.lock(si);
        let mut found = match self.find(&mut s, key, now, true) {
            Some(Found::Live(i)) => Some(i),
            _ => None,
        };
        let mut created = false;
        if found.is_none() {
            if !vivify {
                return None;
            }
            // Room first, without the shard (eviction locks shards one at a time);
            // then look again: another client may have vivified it meanwhile.
            drop(s);
            let size = item_size(key.len(), 0);
            if !self.make_room(key, size, now) {
                self.counters.outofmemory.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            s = self.lock(si);
            found = match self.find(&mut s, key, now, false) {
                Some(Found::Live(i)) => Some(i),
                _ => None,
            };
            if found.is_none() {
                let item = Arc::new(Item {
                    flags: 0,
                    cas: self.new_cas(),
                    time: now,
                    value: Value::default(),
                    size,
                });
                self.account(&item);
                // The N step sets the expiry, in its place among the flags.
                s.insert(key, item, 0, now);
                self.counters.total_items.fetch_add(1, Ordering::Relaxed);
                created = true;
                found = s.find(key);
            }
        }
        let i = found?;
        s.bump(i);
        let n = s.node_mut(i)?;
        let (last_access, fetched) = (n.atime, n.fetched);
        let (mut won, mut ttl_set) = (false, false);
        let mut reported = None;
        for step in steps {
            match *step {
                MetaStep::Ttl(e) => {
                    n.exptime = e;
                    ttl_set = true;
                }
                MetaStep::Vivify(e) if created => {
                    n.exptime = e;
                    won = true;
                }
                MetaStep::Vivify(_) => {}
                MetaStep::Recache(r) => {
                    if !n.token_sent && !created && n.exptime != 0 && n.exptime < r {
                        won = true;
                    }
                }
                MetaStep::Report => reported = Some(n.exptime),
            }
        }
        let token_was_sent = n.token_sent;
        // A stale item hands its first fetcher the token even without R.
        if n.stale && !n.token_sent {
            won = true;
        }
        if won {
            n.token_sent = true;
        }
        n.atime = now;
        n.fetched = true;
        Some(MetaHit {
            hit: Hit {
                item: Arc::clone(&n.item),
                exptime: n.exptime,
                last_access,
                fetched,
            },
            created,
            won,
            token_was_sent,
            stale: n.stale,
            ttl_set,
            reported_exptime: reported.unwrap_or(n.exptime),
        })
    }

    /// `md I`: marks `key` stale instead of deleting it (if `cas` is non-zero,
    /// only when it matches): a new CAS unique, the token cleared so the next
    /// fetcher wins, the expiry set to `exptime` when given.
    pub fn invalidate(
        &self,
        key: &[u8],
        cas: u64,
        exptime: Option<u32>,
        now: u32,
    ) -> DeleteOutcome {
        let mut s = self.lock(self.shard_of(key));
        let Some(Found::Live(i)) = self.find(&mut s, key, now, false) else {
            return DeleteOutcome::NotFound;
        };
        let Some(n) = s.node_mut(i) else {
            return DeleteOutcome::NotFound;
        };
        if cas != 0 && n.item.cas != cas {
            return DeleteOutcome::Exists;
        }
        if let Some(e) = exptime {
            n.exptime = e;
        }
        n.stale = true;
        n.token_sent = false;
        // Items are immutable: the new CAS comes with a copy of the header; the
        // value is shared by reference, so accounting does not change.
        n.item = Arc::new(Item {
            flags: n.item.flags,
            cas: self.new_cas(),
            time: n.item.time,
            value: n.item.value.clone(),
            size: n.item.size,
        });
        DeleteOutcome::Deleted
    }

    /// The stale and token marks of `key` (tests, `me`); `None` if absent.
    pub fn marks(&self, key: &[u8], now: u32) -> Option<(bool, bool)> {
        let mut s = self.lock(self.shard_of(key));
        let Found::Live(i) = self.find(&mut s, key, now, false)? else {
            return None;
        };
        s.node(i).map(|n| (n.stale, n.token_sent))
    }
}
