//! The ARP table: IPv4 address to MAC, with expiry on the stack's clock.
//!
//! Preallocated and bounded: a full table evicts its least recently confirmed
//! entry. Lookups scan linearly (the table is small: a host mostly talks to its
//! gateway and a few neighbours) after trying the entry that answered last, which
//! is the common case for a burst to one peer.

use ix_nic::Instant;
use std::net::Ipv4Addr;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
struct Entry {
    ip: Ipv4Addr,
    mac: [u8; 6],
    /// When the mapping was last confirmed by received ARP.
    confirmed: Instant,
    /// Never expires nor is evicted (configured by the control plane).
    permanent: bool,
    /// A refresh request went out since the last confirmation.
    refreshing: bool,
}

/// What a lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A live mapping.
    Hit([u8; 6]),
    /// A live mapping close to expiry: use it, and send one unicast request to
    /// re-confirm it (returned once per confirmation).
    Refresh([u8; 6]),
    /// No live mapping: resolve.
    Miss,
}

/// A bounded ARP table.
#[derive(Debug)]
pub struct ArpCache {
    entries: Vec<Entry>,
    capacity: usize,
    last_hit: usize,
    ttl: Duration,
    refresh_before: Duration,
}

impl ArpCache {
    /// A table of `capacity` entries (allocated now, never grown) whose entries live
    /// `ttl` after confirmation and are refreshed from `refresh_before` ahead of it.
    pub fn new(capacity: usize, ttl: Duration, refresh_before: Duration) -> Self {
        ArpCache {
            entries: Vec::with_capacity(capacity),
            capacity,
            last_hit: 0,
            ttl,
            refresh_before,
        }
    }

    fn position(&self, ip: Ipv4Addr) -> Option<usize> {
        if self.entries.get(self.last_hit).is_some_and(|e| e.ip == ip) {
            return Some(self.last_hit);
        }
        self.entries.iter().position(|e| e.ip == ip)
    }

    fn age(&self, e: &Entry, now: Instant) -> Duration {
        now.saturating_since(e.confirmed)
    }

    /// The live mapping for `ip` at `now`.
    pub fn lookup(&mut self, ip: Ipv4Addr, now: Instant) -> Lookup {
        let Some(i) = self.position(ip) else {
            return Lookup::Miss;
        };
        self.last_hit = i;
        let (ttl, refresh_before) = (self.ttl, self.refresh_before);
        let Some(e) = self.entries.get_mut(i) else {
            return Lookup::Miss;
        };
        if e.permanent {
            return Lookup::Hit(e.mac);
        }
        let age = now.saturating_since(e.confirmed);
        if age >= ttl {
            Lookup::Miss
        } else if !refresh_before.is_zero()
            && age >= ttl.saturating_sub(refresh_before)
            && !e.refreshing
        {
            e.refreshing = true;
            Lookup::Refresh(e.mac)
        } else {
            Lookup::Hit(e.mac)
        }
    }

    /// The live mapping for `ip` at `now`, without side effects (control plane).
    pub fn peek(&self, ip: Ipv4Addr, now: Instant) -> Option<[u8; 6]> {
        let e = self.entries.get(self.position(ip)?)?;
        (e.permanent || self.age(e, now) < self.ttl).then_some(e.mac)
    }

    /// Records `ip` at `mac`, confirmed at `now`: updates its entry, or takes a free
    /// slot, or evicts the least recently confirmed dynamic entry. Returns `false`
    /// only when every entry is permanent. A permanent entry is not overwritten.
    pub fn insert(&mut self, ip: Ipv4Addr, mac: [u8; 6], now: Instant) -> bool {
        self.put(ip, mac, now, false)
    }

    /// Records a mapping that never expires nor is evicted (control plane, tests).
    pub fn insert_permanent(&mut self, ip: Ipv4Addr, mac: [u8; 6], now: Instant) -> bool {
        self.put(ip, mac, now, true)
    }

    fn put(&mut self, ip: Ipv4Addr, mac: [u8; 6], now: Instant, permanent: bool) -> bool {
        let fresh = Entry {
            ip,
            mac,
            confirmed: now,
            permanent,
            refreshing: false,
        };
        if let Some(i) = self.position(ip) {
            if let Some(e) = self.entries.get_mut(i) {
                if e.permanent && !permanent {
                    return true;
                }
                *e = fresh;
            }
            return true;
        }
        if self.entries.len() < self.capacity {
            // Within the capacity reserved in new(): no allocation.
            self.entries.push(fresh);
            return true;
        }
        let victim = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.permanent)
            .min_by_key(|(_, e)| e.confirmed)
            .map(|(i, _)| i);
        match victim.and_then(|i| self.entries.get_mut(i)) {
            Some(e) => {
                *e = fresh;
                true
            }
            None => false,
        }
    }

    /// Re-confirms `ip` at `mac` if it is already in the table (RFC 826's merge);
    /// returns whether it was.
    pub fn update_existing(&mut self, ip: Ipv4Addr, mac: [u8; 6], now: Instant) -> bool {
        match self.position(ip) {
            Some(_) => self.insert(ip, mac, now),
            None => false,
        }
    }

    /// Forgets `ip`; returns whether it was there.
    pub fn remove(&mut self, ip: Ipv4Addr) -> bool {
        match self.position(ip) {
            Some(i) => {
                self.entries.swap_remove(i);
                self.last_hit = 0;
                true
            }
            None => false,
        }
    }

    /// Entries held, live or expired (expired ones are reused first by eviction).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Live mappings at `now` as `(ip, mac)` (control plane).
    pub fn iter(&self, now: Instant) -> impl Iterator<Item = (Ipv4Addr, [u8; 6])> + '_ {
        self.entries
            .iter()
            .filter(move |e| e.permanent || self.age(e, now) < self.ttl)
            .map(|e| (e.ip, e.mac))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
    const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];

    fn ip(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, n)
    }

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    #[test]
    fn entries_expire_after_ttl() {
        let mut c = ArpCache::new(4, Duration::from_secs(10), Duration::ZERO);
        assert_eq!(c.lookup(ip(1), ms(0)), Lookup::Miss);
        c.insert(ip(1), MAC_A, ms(0));
        assert_eq!(c.lookup(ip(1), ms(9_999)), Lookup::Hit(MAC_A));
        assert_eq!(c.lookup(ip(1), ms(10_000)), Lookup::Miss);
        assert_eq!(c.peek(ip(1), ms(10_000)), None);
        // Confirmation restarts the clock; the MAC may change.
        c.insert(ip(1), MAC_B, ms(10_000));
        assert_eq!(c.lookup(ip(1), ms(19_000)), Lookup::Hit(MAC_B));
    }

    #[test]
    fn refresh_is_asked_once_per_confirmation() {
        let mut c = ArpCache::new(4, Duration::from_secs(10), Duration::from_secs(2));
        c.insert(ip(1), MAC_A, ms(0));
        assert_eq!(c.lookup(ip(1), ms(7_999)), Lookup::Hit(MAC_A));
        assert_eq!(c.lookup(ip(1), ms(8_000)), Lookup::Refresh(MAC_A));
        assert_eq!(c.lookup(ip(1), ms(8_001)), Lookup::Hit(MAC_A));
        c.insert(ip(1), MAC_A, ms(9_000));
        assert_eq!(c.lookup(ip(1), ms(17_000)), Lookup::Refresh(MAC_A));
    }

    #[test]
    fn full_table_evicts_the_oldest_and_keeps_permanent() {
        let mut c = ArpCache::new(3, Duration::from_secs(60), Duration::ZERO);
        c.insert_permanent(ip(1), MAC_A, ms(0));
        c.insert(ip(2), MAC_A, ms(10));
        c.insert(ip(3), MAC_A, ms(20));
        c.insert(ip(4), MAC_B, ms(30));
        assert_eq!(c.len(), 3);
        assert_eq!(c.peek(ip(2), ms(30)), None, "oldest dynamic evicted");
        assert_eq!(c.peek(ip(1), ms(30)), Some(MAC_A), "permanent kept");
        assert_eq!(c.peek(ip(4), ms(30)), Some(MAC_B));
        // Permanent entries never expire and are not overwritten by learning.
        c.insert(ip(1), MAC_B, ms(40));
        assert_eq!(c.lookup(ip(1), ms(1_000_000_000)), Lookup::Hit(MAC_A));
        assert_eq!(c.entries.capacity(), 3, "never grown");
    }

    #[test]
    fn table_of_only_permanent_entries_refuses() {
        let mut c = ArpCache::new(1, Duration::from_secs(60), Duration::ZERO);
        assert!(c.insert_permanent(ip(1), MAC_A, ms(0)));
        assert!(!c.insert(ip(2), MAC_B, ms(0)));
    }

    #[test]
    fn merge_updates_only_known_entries() {
        let mut c = ArpCache::new(2, Duration::from_secs(60), Duration::ZERO);
        assert!(!c.update_existing(ip(1), MAC_A, ms(0)));
        assert!(c.is_empty());
        c.insert(ip(1), MAC_A, ms(0));
        assert!(c.update_existing(ip(1), MAC_B, ms(5)));
        assert_eq!(c.iter(ms(5)).collect::<Vec<_>>(), vec![(ip(1), MAC_B)]);
        assert!(c.remove(ip(1)));
        assert!(!c.remove(ip(1)));
    }
}
