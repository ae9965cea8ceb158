//! The data a peer sent on one flow, kept as ranges, so a D-SACK block (RFC 2883)
//! the engine sends can be checked against what really happened: it must name
//! bytes the peer sent at least twice.

use ix_tcp::seq::Seq;

/// Ranges kept per flow at most; past that the log stops and says so (the check it
/// serves is then skipped: it could only pass wrongly, never fail wrongly).
const MAX_RANGES: usize = 8192;

/// Every data range a peer sent on a flow, in sending order.
#[derive(Debug, Clone, Default)]
pub struct SentLog {
    ranges: Vec<(Seq, u32)>,
    overflow: bool,
}

impl SentLog {
    /// Records `len` bytes sent from `seq` (nothing for an empty segment).
    pub fn record(&mut self, seq: Seq, len: u32) {
        if len == 0 {
            return;
        }
        if self.ranges.len() >= MAX_RANGES {
            self.overflow = true;
            return;
        }
        self.ranges.push((seq, len));
    }

    /// Forgets everything (a new incarnation of the flow).
    pub fn clear(&mut self) {
        self.ranges.clear();
        self.overflow = false;
    }

    /// Whether every byte of `[l, r)` was sent at least twice (`true` if the log
    /// overflowed and cannot tell).
    pub fn twice(&self, l: Seq, r: Seq) -> bool {
        if self.overflow {
            return true;
        }
        let width = i64::from(r.since(l));
        // Each range clipped to [0, width), as offsets from `l`: +1 at its start,
        // -1 at its end; the running count must stay at 2 or more over the block.
        let mut edges: Vec<(i64, i32)> = Vec::new();
        for &(s, len) in &self.ranges {
            let start = i64::from(s.diff(l));
            let (a, b) = (start.max(0), (start + i64::from(len)).min(width));
            if a < b {
                edges.push((a, 1));
                edges.push((b, -1));
            }
        }
        edges.sort_unstable();
        let (mut depth, mut at) = (0, 0);
        for (x, d) in edges {
            if x > at && depth < 2 {
                return false;
            }
            at = at.max(x);
            depth += d;
        }
        at >= width
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twice_needs_two_ranges_over_every_byte() {
        let base = Seq(u32::MAX - 5);
        let mut log = SentLog::default();
        log.record(base, 100);
        assert!(!log.twice(base.add(10), base.add(20)));
        log.record(base.add(10), 20);
        assert!(log.twice(base.add(10), base.add(20)));
        assert!(log.twice(base.add(10), base.add(30)));
        assert!(!log.twice(base.add(5), base.add(20)), "bytes 5..10 once");
        assert!(!log.twice(base.add(20), base.add(40)), "bytes 30..40 once");
        // Two ranges side by side over a third: still twice everywhere.
        log.record(base.add(30), 10);
        log.record(base.add(40), 5);
        assert!(log.twice(base.add(10), base.add(45)));
        assert!(!log.twice(base.add(40), base.add(50)), "bytes 45..50 once");
        log.clear();
        assert!(!log.twice(base.add(10), base.add(20)));
    }
}
