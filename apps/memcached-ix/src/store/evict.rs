//! Eviction: making room under the memory limit, and freeing value buffers when
//! the pool runs dry, by taking LRU tails.

use super::{shard, Ordering, Store, EVICT_SAMPLE};
use ix_nic::BufPool;

impl<P: BufPool> Store<P> {
    /// Evicts one item: of the LRU tails of up to [`EVICT_SAMPLE`] non-empty shards
    /// from `start` on, the least recently accessed (the first on a tie); an
    /// expired or flushed one is reclaimed, a live one evicted. `false` if every
    /// shard is empty.
    pub fn evict_one(&self, start: usize, now: u32) -> bool {
        let n = self.shards.len();
        // Sampling several tails keeps eviction close to global LRU however many
        // shards there are (with one tail, a shard of few items gives up recent ones).
        let mut oldest: Option<(usize, u32)> = None;
        let mut sampled = 0;
        for k in 0..n {
            if sampled == EVICT_SAMPLE {
                break;
            }
            let i = (start + k) % n;
            let s = self.lock(i);
            let Some(atime) = s.tail().and_then(|t| s.node(t)).map(|t| t.atime) else {
                continue;
            };
            sampled += 1;
            if oldest.is_none_or(|(_, a)| atime < a) {
                oldest = Some((i, atime));
            }
        }
        let Some((chosen, _)) = oldest else {
            return false;
        };
        // The chosen shard may have emptied since: then the first non-empty one.
        for k in 0..=n {
            let i = if k == 0 { chosen } else { start + k - 1 };
            let mut s = self.lock(i);
            let Some(t) = s.tail() else { continue };
            let Some(node) = s.remove(t) else { continue };
            drop(s);
            self.evicted(&node, now);
            return true;
        }
        false
    }

    fn evicted(&self, node: &shard::Node<P::Shared>, now: u32) {
        let dead = (node.exptime != 0 && node.exptime <= now) || self.flushed(&node.item, now);
        if dead {
            self.reclaimed(node);
        } else {
            self.unaccount(node);
            self.counters.evictions.fetch_add(1, Ordering::Relaxed);
            if !node.fetched {
                self.counters
                    .evicted_unfetched
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Evicts until `need` more bytes fit under the limit, starting at `key`'s
    /// shard; `false` if that cannot be done.
    pub fn make_room(&self, key: &[u8], need: usize, now: u32) -> bool {
        let start = self.shard_of(key);
        while self.used.load(Ordering::Relaxed) + need as u64 > self.limit() {
            if !self.evict_one(start, now) {
                return false;
            }
        }
        true
    }

    /// Evicts one item to free value buffers (the pool ran dry), rotating over the
    /// shards; `false` if the store is empty.
    pub fn free_buffers(&self, now: u32) -> bool {
        let start = self.evict_cursor.fetch_add(1, Ordering::Relaxed) as usize;
        self.evict_one(start % self.shards.len(), now)
    }

    /// memcached's LRU crawler, run once over every shard: reclaims every expired
    /// or flushed item now (otherwise reclaimed lazily when touched); returns how
    /// many. Holds one shard lock at a time.
    pub fn crawl(&self, now: u32) -> u64 {
        let mut n = 0;
        for i in 0..self.shards.len() {
            let mut s = self.lock(i);
            for slot in 0..s.slots() {
                let Some(node) = s.node(slot) else { continue };
                let expired = node.exptime != 0 && node.exptime <= now;
                if !expired && !self.flushed(&node.item, now) {
                    continue;
                }
                if let Some(node) = s.remove(slot) {
                    self.reclaimed(&node);
                    n += 1;
                }
            }
        }
        n
    }
}
