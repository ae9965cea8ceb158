//! TIME_WAIT: what is left of a closed connection for 2*MSL, kept compactly outside
//! the connection table.
//!
//! Every entry lasts the same time, so entries expire in the order they were made: a
//! ring, oldest first, needs no timer per entry. When the ring is full the oldest
//! entry is recycled early (counted). An entry can also end early when a new SYN
//! reuses its 4-tuple; it is then marked dead and skipped when the ring reaches it.

use crate::flow_table::FlowKey;
use crate::seq::Seq;
use ix_nic::Instant;

/// One connection in TIME_WAIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWaitEntry {
    /// Its 4-tuple.
    pub key: FlowKey,
    /// Our next sequence number (after our FIN).
    pub snd_nxt: Seq,
    /// The peer's next sequence number (after their FIN).
    pub rcv_nxt: Seq,
    /// The window field to put in the ACKs we still send.
    pub window: u16,
    /// If the connection negotiated timestamps: our TSval offset and TS.Recent,
    /// for the TSopt of the ACKs we still send (RFC 7323 3.2).
    pub ts: Option<(u32, u32)>,
    /// When it ends.
    pub expires: Instant,
    live: bool,
}

/// The ring of TIME_WAIT entries.
#[derive(Debug)]
pub struct TimeWaitTable {
    ring: Vec<TimeWaitEntry>,
    cap: usize,
    /// Absolute positions: entries live in `head..tail`, at `pos % cap`.
    head: u64,
    tail: u64,
    live: usize,
}

impl TimeWaitTable {
    /// Room for `cap` entries, reserved now.
    pub fn new(cap: usize) -> Self {
        TimeWaitTable {
            ring: Vec::with_capacity(cap.max(1)),
            cap: cap.max(1),
            head: 0,
            tail: 0,
            live: 0,
        }
    }

    /// Entries in TIME_WAIT now.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Adds an entry; returns its index (for the flow table) and, if the ring was
    /// full, the key of the live entry recycled to make room.
    pub fn push(
        &mut self,
        key: FlowKey,
        snd_nxt: Seq,
        rcv_nxt: Seq,
        window: u16,
        ts: Option<(u32, u32)>,
        expires: Instant,
    ) -> (u32, Option<FlowKey>) {
        let mut recycled = None;
        if self.tail - self.head == self.cap as u64 {
            recycled = self.pop_front();
        }
        let e = TimeWaitEntry {
            key,
            snd_nxt,
            rcv_nxt,
            window,
            ts,
            expires,
            live: true,
        };
        let idx = (self.tail % self.cap as u64) as usize;
        if idx < self.ring.len() {
            self.ring[idx] = e;
        } else {
            // First pass round the ring: within the reserved capacity.
            self.ring.push(e);
        }
        self.tail += 1;
        self.live += 1;
        (idx as u32, recycled)
    }

    /// Takes the oldest ring position; the key of the entry if it was still live.
    fn pop_front(&mut self) -> Option<FlowKey> {
        if self.head == self.tail {
            return None;
        }
        let idx = (self.head % self.cap as u64) as usize;
        self.head += 1;
        let e = self.ring.get_mut(idx)?;
        if e.live {
            e.live = false;
            self.live -= 1;
            Some(e.key)
        } else {
            None
        }
    }

    /// The live entry at `idx`.
    pub fn get(&self, idx: u32) -> Option<&TimeWaitEntry> {
        self.ring.get(idx as usize).filter(|e| e.live)
    }

    /// Ends the entry at `idx` early (its 4-tuple was reused).
    pub fn kill(&mut self, idx: u32) {
        if let Some(e) = self.ring.get_mut(idx as usize) {
            if e.live {
                e.live = false;
                self.live -= 1;
            }
        }
    }

    /// Makes the live entry at `idx` last until `expires` (no earlier than any other
    /// entry's end): a retransmitted FIN restarts 2*MSL (RFC 9293 3.10.7.4). The
    /// newest entry is changed in place; any other moves to the back of the ring, so
    /// entries still end in ring order. Returns the entry's index now (`None` if
    /// `idx` held no live entry) and, if moving it needed room, the key of the live
    /// entry recycled.
    pub fn restart(&mut self, idx: u32, expires: Instant) -> Option<(u32, Option<FlowKey>)> {
        let e = *self.get(idx)?;
        let newest = self
            .tail
            .checked_sub(1)
            .map(|t| (t % self.cap as u64) as u32);
        if self.tail != self.head && newest == Some(idx) {
            if let Some(slot) = self.ring.get_mut(idx as usize) {
                slot.expires = expires;
            }
            return Some((idx, None));
        }
        self.kill(idx);
        Some(self.push(e.key, e.snd_nxt, e.rcv_nxt, e.window, e.ts, expires))
    }

    /// Removes entries expired at `now`, calling `f` with each live one's key.
    pub fn expire(&mut self, now: Instant, mut f: impl FnMut(FlowKey)) {
        while self.head != self.tail {
            let idx = (self.head % self.cap as u64) as usize;
            let Some(e) = self.ring.get(idx) else { return };
            if e.live && e.expires > now {
                return;
            }
            if let Some(k) = self.pop_front() {
                f(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_order_recycles_oldest_and_skips_killed() {
        let mut t = TimeWaitTable::new(2);
        let k = |n| FlowKey(n);
        let at = Instant::from_millis;
        let (i1, r) = t.push(k(1), Seq(1), Seq(1), 0, None, at(10));
        assert_eq!(r, None);
        let (i2, _) = t.push(k(2), Seq(2), Seq(2), 0, None, at(20));
        let (i3, r) = t.push(k(3), Seq(3), Seq(3), 0, None, at(30));
        assert_eq!(r, Some(k(1)), "full: oldest recycled");
        assert_eq!(i3, i1, "its place reused");
        assert_eq!(t.get(i3).unwrap().key, k(3));
        t.kill(i2);
        assert_eq!(t.len(), 1);
        let mut gone = Vec::new();
        t.expire(at(25), |k| gone.push(k));
        assert!(gone.is_empty(), "the killed entry is skipped silently");
        t.expire(at(30), |k| gone.push(k));
        assert_eq!(gone, vec![k(3)]);
        assert!(t.is_empty());
    }

    #[test]
    fn restart_keeps_ring_order() {
        let mut t = TimeWaitTable::new(3);
        let k = |n| FlowKey(n);
        let at = Instant::from_millis;
        let (i1, _) = t.push(k(1), Seq(1), Seq(1), 0, None, at(10));
        let (i2, _) = t.push(k(2), Seq(2), Seq(2), 0, None, at(20));
        // The newest: in place.
        assert_eq!(t.restart(i2, at(25)), Some((i2, None)));
        assert_eq!(t.get(i2).unwrap().expires, at(25));
        // An older one moves to the back; the ring has room, nothing is recycled.
        let (i1b, r) = t.restart(i1, at(30)).unwrap();
        assert_eq!(r, None);
        assert_ne!(i1b, i1);
        assert!(t.get(i1).is_none());
        assert_eq!(t.get(i1b).unwrap().key, k(1));
        assert_eq!(t.len(), 2);
        // Full: moving k(2) again recycles nothing live (its old place is dead).
        let (i2b, r) = t.restart(i2, at(40)).unwrap();
        assert_eq!(r, None);
        assert_eq!(t.get(i2b).unwrap().key, k(2));
        assert_eq!(t.restart(i2, at(50)), None, "a dead index");
        let mut gone = Vec::new();
        t.expire(at(29), |k| gone.push(k));
        assert!(gone.is_empty(), "k(1) now ends at 30, k(2) at 40");
        t.expire(at(30), |k| gone.push(k));
        assert_eq!(gone, vec![k(1)]);
        t.expire(at(40), |k| gone.push(k));
        assert_eq!(gone, vec![k(1), k(2)]);
        assert!(t.is_empty());
    }
}
