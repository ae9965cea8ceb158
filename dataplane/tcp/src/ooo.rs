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
    /// Start of the most recently added segment (RFC 2018: first SACK block).
    latest: Option<Seq>,
}

impl<R: RxBuf> OooQueue<R> {
    /// An empty queue with room reserved for `n` segments.
    pub fn with_capacity(n: usize) -> Self {
        OooQueue {
            segs: VecDeque::with_capacity(n),
            bytes: 0,
            latest: None,
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
        self.latest = None;
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
        self.latest = Some(seq);
        self.bytes = (self.bytes as isize + delta) as usize;
        Ok(delta)
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

    /// Up to `n` SACK blocks describing what is held: the block holding the most
    /// recent arrival first, then the others from lowest to highest.
    pub fn sack_blocks(&self, n: usize) -> ArrayVec<(Seq, Seq), 4> {
        let mut all: ArrayVec<(Seq, Seq), 4> = ArrayVec::new();
        let mut first: Option<(Seq, Seq)> = None;
        let mut cur: Option<(Seq, Seq)> = None;
        let latest = self.latest;
        let flush =
            |b: (Seq, Seq), all: &mut ArrayVec<(Seq, Seq), 4>, first: &mut Option<(Seq, Seq)>| {
                if latest.is_some_and(|l| l.in_range(b.0, b.1)) && first.is_none() {
                    *first = Some(b);
                } else if all.len() < 3 {
                    all.push(b);
                }
            };
        for (s, seg) in &self.segs {
            let e = s.add(seg.len() as u32);
            cur = match cur {
                Some((a, b)) if b == *s => Some((a, e)),
                Some(b) => {
                    flush(b, &mut all, &mut first);
                    Some((*s, e))
                }
                None => Some((*s, e)),
            };
        }
        if let Some(b) = cur {
            flush(b, &mut all, &mut first);
        }
        let mut out = ArrayVec::new();
        if let Some(f) = first {
            out.push(f);
        }
        for b in all {
            if out.len() < n.min(4) {
                out.push(b);
            }
        }
        out.truncate(n.min(4));
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
                (Seq(100), Seq(102)),
                (Seq(300), Seq(302))
            ]
        );
        assert_eq!(q.sack_blocks(1).len(), 1);
        assert_eq!(q.clear(), 8);
    }
}
