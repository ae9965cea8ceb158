//! The sender's SACK scoreboard (RFC 2018, RFC 6675): which bytes above SND.UNA the
//! peer reported holding, as sorted disjoint ranges, so recovery resends only holes.

use crate::seq::Seq;
use arrayvec::ArrayVec;

/// Ranges kept; past this the highest range is forgotten (the holes below matter
/// most, and a forgotten range is at worst retransmitted needlessly).
pub const SCOREBOARD_RANGES: usize = 16;

/// SACKed ranges `[left, right)` above SND.UNA, sorted and disjoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scoreboard {
    ranges: ArrayVec<(Seq, Seq), SCOREBOARD_RANGES>,
    sacked: u32,
}

impl Scoreboard {
    /// An empty scoreboard.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets everything (after an RTO: the peer may renege, RFC 2018 8).
    pub fn clear(&mut self) {
        self.ranges.clear();
        self.sacked = 0;
    }

    /// Whether nothing is SACKed.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Bytes SACKed in total.
    pub fn sacked_bytes(&self) -> u32 {
        self.sacked
    }

    /// The highest SACKed sequence (exclusive), if any.
    pub fn high(&self) -> Option<Seq> {
        self.ranges.last().map(|r| r.1)
    }

    /// The ranges, lowest first.
    pub fn ranges(&self) -> &[(Seq, Seq)] {
        &self.ranges
    }

    /// Records a block `[l, r)` the peer reported; blocks not within
    /// `(una, snd_max]` (old, D-SACK, or bogus) are ignored. Returns whether any new
    /// bytes were marked.
    pub fn add(&mut self, l: Seq, r: Seq, una: Seq, snd_max: Seq) -> bool {
        if !l.lt(r) || r.gt(snd_max) || r.le(una) {
            return false;
        }
        let l = l.max(una);
        let before = self.sacked;
        // Merge with every range overlapping or touching [l, r).
        let (mut nl, mut nr) = (l, r);
        let mut i = 0;
        let mut insert_at = self.ranges.len();
        while i < self.ranges.len() {
            let (a, b) = self.ranges[i];
            if b.lt(nl) {
                i += 1;
                continue;
            }
            if nr.lt(a) {
                insert_at = i;
                break;
            }
            nl = nl.min(a);
            nr = nr.max(b);
            self.ranges.remove(i);
            insert_at = i;
        }
        insert_at = insert_at.min(self.ranges.len());
        if self.ranges.is_full() {
            if insert_at >= self.ranges.len() {
                self.recount();
                return self.sacked != before;
            }
            self.ranges.pop();
        }
        self.ranges.insert(insert_at, (nl, nr));
        self.recount();
        self.sacked != before
    }

    /// SND.UNA moved to `una`: drops what it covers.
    pub fn ack(&mut self, una: Seq) {
        self.ranges.retain(|r| r.1.gt(una));
        if let Some(first) = self.ranges.first_mut() {
            first.0 = first.0.max(una);
        }
        self.recount();
    }

    fn recount(&mut self) {
        self.sacked = self.ranges.iter().map(|&(a, b)| b.since(a)).sum();
    }

    /// Whether `s` is SACKed.
    pub fn is_sacked(&self, s: Seq) -> bool {
        self.ranges.iter().any(|&(a, b)| s.in_range(a, b))
    }

    /// The first hole at or after `from` and below the highest SACKed byte:
    /// `[start, end)` with nothing in it SACKed.
    pub fn next_hole(&self, from: Seq) -> Option<(Seq, Seq)> {
        let mut s = from;
        for &(a, b) in &self.ranges {
            if s.lt(a) {
                return Some((s, a));
            }
            s = s.max(b);
        }
        None
    }

    /// Bytes not SACKed between `from` and the highest SACKed byte (the holes).
    pub fn hole_bytes_from(&self, from: Seq) -> u32 {
        let mut s = from;
        let mut n = 0;
        for &(a, b) in &self.ranges {
            if s.lt(a) {
                n += a.since(s);
            }
            s = s.max(b);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_and_reports_holes() {
        let una = Seq(u32::MAX - 100);
        let max = una.add(10_000);
        let mut sb = Scoreboard::new();
        assert!(sb.add(una.add(1000), una.add(2000), una, max));
        assert!(sb.add(una.add(3000), una.add(4000), una, max));
        assert!(
            !sb.add(una.add(3000), una.add(4000), una, max),
            "nothing new"
        );
        assert!(
            sb.add(una.add(2000), una.add(2500), una, max),
            "touching merges"
        );
        assert_eq!(sb.ranges().len(), 2);
        assert_eq!(sb.sacked_bytes(), 2500);
        assert_eq!(sb.next_hole(una), Some((una, una.add(1000))));
        assert_eq!(
            sb.next_hole(una.add(1000)),
            Some((una.add(2500), una.add(3000)))
        );
        assert_eq!(sb.next_hole(una.add(3500)), None);
        assert_eq!(sb.hole_bytes_from(una), 1500);
        assert!(sb.is_sacked(una.add(3999)) && !sb.is_sacked(una.add(4000)));
        assert!(sb.add(una.add(500), una.add(3500), una, max), "spans both");
        assert_eq!(sb.ranges(), &[(una.add(500), una.add(4000))]);
        sb.ack(una.add(1000));
        assert_eq!(sb.ranges(), &[(una.add(1000), una.add(4000))]);
        assert_eq!(sb.sacked_bytes(), 3000);
        sb.ack(una.add(5000));
        assert!(sb.is_empty());
    }

    #[test]
    fn bogus_blocks_ignored_and_bounded() {
        let una = Seq(0);
        let max = Seq(100_000);
        let mut sb = Scoreboard::new();
        assert!(!sb.add(Seq(200), Seq(100), una, max), "inverted");
        assert!(!sb.add(Seq(90_000), Seq(200_000), una, max), "past snd_max");
        assert!(!sb.add(Seq(u32::MAX - 5), Seq(0), una, max), "below una");
        for k in 0..40u32 {
            sb.add(Seq(k * 1000 + 100), Seq(k * 1000 + 200), una, max);
        }
        assert_eq!(sb.ranges().len(), SCOREBOARD_RANGES);
        assert_eq!(sb.ranges()[0], (Seq(100), Seq(200)), "lowest kept");
    }
}
