//! Out-of-order segments: received beyond RCV.NXT, kept (zero copy) until the gap
//! before them fills, sorted and trimmed so no byte is held twice. They also give the
//! SACK blocks we report (RFC 2018).

use crate::seq::Seq;
use arrayvec::ArrayVec;
use ix_nic::{RxBuf, RxSeg};
use std::collections::VecDeque;

/// Why an out-of-order segment was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OooRefusal {
    /// Every byte is held already.
    Duplicate,
    /// The per-connection segment bound is reached.
    Full,
}

/// Segments above RCV.NXT, sorted by sequence, disjoint.
#[derive(Debug)]
pub struct OooQueue<R: RxBuf> {
    segs: VecDeque<(Seq, RxSeg<R>)>,
    bytes: usize,
    /// A sequence number inside each of the most recently changed blocks (contiguous
    /// runs of segments), most recent first: the SACK blocks reported first (RFC
    /// 2018 4: the block of the latest arrival, then the most recently reported).
    recent: ArrayVec<Seq, 4>,
    /// Whether the last segment kept started a block of its own (touching no other).
    new_block: bool,
}

impl<R: RxBuf> OooQueue<R> {
    /// An empty queue with room reserved for `n` segments.
    pub fn with_capacity(n: usize) -> Self {
        OooQueue {
            segs: VecDeque::with_capacity(n),
            bytes: 0,
            recent: ArrayVec::new(),
            new_block: false,
        }
    }

    /// Payload bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Segments held.
    pub fn len(&self) -> usize {
        self.segs.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    /// Releases everything; returns the bytes released.
    pub fn clear(&mut self) -> usize {
        self.segs.clear();
        self.recent.clear();
        std::mem::take(&mut self.bytes)
    }

    /// Keeps `seg`, whose first byte is `seq`, trimmed against what is held; returns
    /// the change in bytes held (segments it wholly covers are replaced). Assumes
    /// the caller trimmed it to the window and `seq` is above RCV.NXT.
    pub fn insert(
        &mut self,
        mut seq: Seq,
        mut seg: RxSeg<R>,
        max_segs: usize,
    ) -> Result<isize, OooRefusal> {
        let end = seq.add(seg.len() as u32);
        let idx = self.segs.partition_point(|(s, _)| s.lt(seq));
        if idx > 0 {
            let (ps, p) = &self.segs[idx - 1];
            let pend = ps.add(p.len() as u32);
            if pend.ge(end) {
                return Err(OooRefusal::Duplicate);
            }
            if pend.gt(seq) {
                seg.advance(pend.since(seq) as usize);
                seq = pend;
            }
        }
        // Every byte held already (by one segment or several in a row): a duplicate,
        // and the held segments stay.
        let mut at = seq;
        for (ns, n) in self.segs.range(idx..) {
            if ns.gt(at) || !at.lt(end) {
                break;
            }
            at = at.max(ns.add(n.len() as u32));
        }
        if !at.lt(end) {
            return Err(OooRefusal::Duplicate);
        }
        let mut delta: isize = 0;
        // Drop held segments the new one covers entirely.
        while let Some((ns, n)) = self.segs.get(idx) {
            if ns.add(n.len() as u32).le(end) {
                delta -= n.len() as isize;
                self.segs.remove(idx);
            } else {
                break;
            }
        }
        if let Some((ns, _)) = self.segs.get(idx) {
            if ns.le(seq) {
                return Err(OooRefusal::Duplicate);
            }
            if ns.lt(end) {
                seg.truncate(ns.since(seq) as usize);
            }
        }
        // Removing covered segments made room if there were any, so a full queue here
        // lost nothing.
        if self.segs.len() >= max_segs {
            return Err(OooRefusal::Full);
        }
        delta += seg.len() as isize;
        self.segs.insert(idx, (seq, seg));
        self.bytes = (self.bytes as isize + delta) as usize;
        self.touch(idx, seq);
        Ok(delta)
    }

    /// The segment at `idx` (starting at `seq`) just arrived: its block becomes the
    /// most recent, replacing older mentions of the same block and of blocks no
    /// longer held.
    fn touch(&mut self, idx: usize, seq: Seq) {
        let (l, r) = self.block_around(idx);
        let (s, seg) = &self.segs[idx];
        self.new_block = l == *s && r == s.add(seg.len() as u32);
        let segs = &self.segs;
        self.recent
            .retain(|x| !x.in_range(l, r) && Self::find(segs, *x).is_some());
        if self.recent.is_full() {
            self.recent.pop();
        }
        self.recent.insert(0, seq);
    }

    /// The index of the segment holding `x`.
    fn find(segs: &VecDeque<(Seq, RxSeg<R>)>, x: Seq) -> Option<usize> {
        let i = segs.partition_point(|(s, seg)| s.add(seg.len() as u32).le(x));
        segs.get(i).and_then(|(s, _)| s.le(x).then_some(i))
    }

    /// The block (run of contiguous segments) holding the segment at `idx`.
    fn block_around(&self, idx: usize) -> (Seq, Seq) {
        let end = |i: usize| {
            let (s, seg) = &self.segs[i];
            s.add(seg.len() as u32)
        };
        let (mut a, mut b) = (idx, idx);
        while a > 0 && end(a - 1) == self.segs[a].0 {
            a -= 1;
        }
        while b + 1 < self.segs.len() && end(b) == self.segs[b + 1].0 {
            b += 1;
        }
        (self.segs[a].0, end(b))
    }

    /// Whether the last segment [`OooQueue::insert`] kept started a new block (so
    /// the SACK information changed shape, not just grew an edge).
    pub fn created_block(&self) -> bool {
        self.new_block
    }

    /// The next segment that continues at `rcv_nxt`, trimmed to start there; held
    /// segments wholly below it are released on the way. Returns the segment and the
    /// bytes held shrink by its untrimmed length.
    pub fn pop_in_order(&mut self, rcv_nxt: Seq) -> Option<RxSeg<R>> {
        loop {
            let (s, _) = self.segs.front()?;
            if s.gt(rcv_nxt) {
                return None;
            }
            let (s, mut seg) = self.segs.pop_front()?;
            self.bytes -= seg.len();
            let end = s.add(seg.len() as u32);
            if end.le(rcv_nxt) {
                continue;
            }
            seg.advance(rcv_nxt.since(s) as usize);
            return Some(seg);
        }
    }

    /// Releases every byte held at or after `end` (the peer's FIN: nothing there is
    /// data, and it must never be SACKed or delivered); returns the bytes released.
    pub fn truncate_from(&mut self, end: Seq) -> usize {
        let before = self.bytes;
        while let Some((s, seg)) = self.segs.back_mut() {
            if s.ge(end) {
                self.bytes -= seg.len();
                self.segs.pop_back();
                continue;
            }
            let keep = end.since(*s) as usize;
            if keep < seg.len() {
                self.bytes -= seg.len() - keep;
                seg.truncate(keep);
            }
            break;
        }
        let segs = &self.segs;
        self.recent.retain(|x| Self::find(segs, *x).is_some());
        before - self.bytes
    }

    /// Up to `n` SACK blocks describing what is held (RFC 2018 4): the block of the
    /// most recent arrival first, then the other most recently changed blocks, then
    /// the rest from lowest to highest. A sender that hears of every block in turn
    /// does not take the ones it was never told of for lost.
    pub fn sack_blocks(&self, n: usize) -> ArrayVec<(Seq, Seq), 4> {
        let n = n.min(4);
        let mut out: ArrayVec<(Seq, Seq), 4> = ArrayVec::new();
        for &x in &self.recent {
            if out.len() >= n {
                return out;
            }
            if let Some(i) = Self::find(&self.segs, x) {
                let b = self.block_around(i);
                if !out.contains(&b) {
                    out.push(b);
                }
            }
        }
        let mut cur: Option<(Seq, Seq)> = None;
        for (s, seg) in &self.segs {
            if out.len() >= n {
                return out;
            }
            let e = s.add(seg.len() as u32);
            cur = match cur {
                Some((a, b)) if b == *s => Some((a, e)),
                Some(b) => {
                    if !out.contains(&b) {
                        out.push(b);
                    }
                    Some((*s, e))
                }
                None => Some((*s, e)),
            };
        }
        if let Some(b) = cur {
            if out.len() < n && !out.contains(&b) {
                out.push(b);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ix_nic::heap::{HeapPool, HeapRx};

    fn seg(pool: &HeapPool, bytes: &[u8]) -> RxSeg<HeapRx> {
        RxSeg::new(pool.rx_from(bytes).unwrap(), 0..bytes.len()).unwrap()
    }

    #[test]
    fn keeps_each_byte_once_and_releases_in_order() {
        let pool = HeapPool::new(16, 64);
        let mut q = OooQueue::with_capacity(8);
        let base = Seq(u32::MAX - 4);
        assert_eq!(q.insert(base.add(10), seg(&pool, b"KLMNO"), 8), Ok(5));
        assert_eq!(q.insert(base.add(20), seg(&pool, b"UVW"), 8), Ok(3));
        assert_eq!(
            q.insert(base.add(11), seg(&pool, b"LM"), 8),
            Err(OooRefusal::Duplicate)
        );
        // Overlaps the tail of the first: only "PQ" is new... and "RST" before UVW.
        assert_eq!(q.insert(base.add(13), seg(&pool, b"NOPQRST"), 8), Ok(5));
        assert_eq!(q.bytes(), 13);
        assert_eq!(q.sack_blocks(4).as_slice(), &[(base.add(10), base.add(23))]);
        // Exactly what is held, across two segments: a duplicate, nothing changes.
        assert_eq!(
            q.insert(base.add(10), seg(&pool, b"KLMNOPQRST"), 8),
            Err(OooRefusal::Duplicate)
        );
        assert_eq!(q.bytes(), 13);
        // A segment covering a held one replaces it.
        assert_eq!(q.insert(base.add(9), seg(&pool, b"JKLMNOPQ"), 8), Ok(1));
        assert!(q.pop_in_order(base.add(5)).is_none());
        let mut got = Vec::new();
        let mut nxt = base.add(9);
        while let Some(s) = q.pop_in_order(nxt) {
            nxt = nxt.add(s.len() as u32);
            got.extend_from_slice(&s);
        }
        assert_eq!(got, b"JKLMNOPQRSTUVW");
        assert_eq!(q.bytes(), 0);
        assert!(q.is_empty());
        drop(got);
        assert_eq!(pool.stats().in_use(), 0);
    }

    #[test]
    fn sack_blocks_follow_recency_so_every_block_is_heard_of() {
        let pool = HeapPool::new(16, 64);
        let mut q = OooQueue::with_capacity(8);
        for k in 1..=6u32 {
            q.insert(Seq(k * 100), seg(&pool, b"xx"), 8).unwrap();
        }
        let at = |k: u32| (Seq(k * 100), Seq(k * 100 + 2));
        assert!(q.created_block());
        assert_eq!(q.sack_blocks(4).as_slice(), &[at(6), at(5), at(4), at(3)]);
        // An arrival extending the lowest block: it leads, the next most recent follow.
        q.insert(Seq(102), seg(&pool, b"yy"), 8).unwrap();
        assert!(!q.created_block(), "it grew a block");
        assert_eq!(
            q.sack_blocks(4).as_slice(),
            &[(Seq(100), Seq(104)), at(6), at(5), at(4)]
        );
        assert_eq!(
            q.sack_blocks(3).as_slice(),
            &[(Seq(100), Seq(104)), at(6), at(5)]
        );
        // Delivered blocks drop out; the rest fill in lowest first.
        let mut nxt = Seq(100);
        while let Some(s) = q.pop_in_order(nxt) {
            nxt = nxt.add(s.len() as u32);
        }
        assert_eq!(nxt, Seq(104));
        assert_eq!(q.sack_blocks(4).as_slice(), &[at(6), at(5), at(4), at(2)]);
    }

    #[test]
    fn bounded_and_sack_blocks_lead_with_latest() {
        let pool = HeapPool::new(16, 64);
        let mut q = OooQueue::with_capacity(2);
        q.insert(Seq(100), seg(&pool, b"aa"), 3).unwrap();
        q.insert(Seq(200), seg(&pool, b"bb"), 3).unwrap();
        q.insert(Seq(300), seg(&pool, b"cc"), 3).unwrap();
        assert_eq!(
            q.insert(Seq(400), seg(&pool, b"dd"), 3),
            Err(OooRefusal::Full)
        );
        q.insert(Seq(200), seg(&pool, b"bbbb"), 3).unwrap();
        let b = q.sack_blocks(4);
        assert_eq!(
            b.as_slice(),
            &[
                (Seq(200), Seq(204)),
                (Seq(300), Seq(302)),
                (Seq(100), Seq(102))
            ]
        );
        assert_eq!(q.sack_blocks(1).len(), 1);
        assert_eq!(q.clear(), 8);
    }

    #[test]
    fn truncate_from_releases_every_byte_at_or_after_the_edge() {
        let pool = HeapPool::new(16, 64);
        let mut q = OooQueue::with_capacity(4);
        let base = Seq(u32::MAX - 2);
        q.insert(base.add(10), seg(&pool, b"abcd"), 4).unwrap();
        q.insert(base.add(20), seg(&pool, b"efgh"), 4).unwrap();
        q.insert(base.add(30), seg(&pool, b"ijkl"), 4).unwrap();
        // Cuts the middle segment after two bytes and drops the last.
        assert_eq!(q.truncate_from(base.add(22)), 6);
        assert_eq!(q.bytes(), 6);
        assert_eq!(
            q.sack_blocks(4).as_slice(),
            &[(base.add(20), base.add(22)), (base.add(10), base.add(14))]
        );
        // An edge beyond everything held releases nothing; at a segment's start, it.
        assert_eq!(q.truncate_from(base.add(40)), 0);
        assert_eq!(q.truncate_from(base.add(20)), 2);
        assert_eq!(q.sack_blocks(4).as_slice(), &[(base.add(10), base.add(14))]);
        assert_eq!(q.truncate_from(base), 4);
        assert!(q.is_empty());
        assert!(q.sack_blocks(4).is_empty());
        assert_eq!(pool.stats().in_use(), 0);
    }
}
