//! The peer's side of RFC 7323 timestamps on one flow: its timestamp clock, the
//! TSvals it put on the wire (the engine may echo only those), what its SYNs
//! offered, and what the engine's TSopts have shown so far.

use crate::grammar::{TsChoice, TsEcr, TsVal};
use ix_tcp::timestamps::ts_before;
use std::collections::HashSet;

/// Option kind of TSopt.
const KIND: u8 = 8;
/// Its length byte.
const LEN: u8 = 10;

/// One flow's timestamp state, as its peer knows it.
#[derive(Debug, Clone, Default)]
pub struct PeerTs {
    /// The peer's timestamp clock: never older than any TSval it sent.
    pub clock: u32,
    /// Every TSval the peer sent on the flow (as a parser reads the bytes).
    pub sent: HashSet<u32>,
    /// SYN-bearing segments the peer sent that offered TSopt (or may have: a
    /// walk in doubt counts both ways).
    pub syns_with: u32,
    /// SYN-bearing segments the peer sent without TSopt.
    pub syns_without: u32,
    /// The engine's latest TSval on the flow.
    pub eng_last: Option<u32>,
    /// Whether the engine's current incarnation on the flow puts TSopt on its
    /// segments: known from its SYN-ACK, or from an active open's first segment
    /// after its SYN; `None` in between.
    pub eng_uses: Option<bool>,
}

impl PeerTs {
    /// A clock starting at `start`.
    pub fn new(start: u32) -> PeerTs {
        PeerTs {
            clock: start,
            ..PeerTs::default()
        }
    }

    /// Whether some SYN the peer sent offered TSopt.
    pub fn offered_any(&self) -> bool {
        self.syns_with > 0
    }

    /// Whether every SYN the peer sent offered TSopt (and there was one).
    pub fn offered_all(&self) -> bool {
        self.syns_with > 0 && self.syns_without == 0
    }

    /// The `(TSval, TSecr)` that `choice` puts on the next segment, if any; moves
    /// the clock as the choice says.
    pub fn resolve(&mut self, choice: TsChoice) -> Option<(u32, u32)> {
        let TsChoice::Put { val, ecr } = choice else {
            return None;
        };
        let v = match val {
            TsVal::Tick(n) => {
                self.clock = self.clock.wrapping_add(u32::from(n));
                self.clock
            }
            TsVal::Jump(n) => {
                self.clock = self.clock.wrapping_add(n);
                self.clock
            }
            TsVal::Old(n) => self.clock.wrapping_sub(n),
            // A value ahead is the clock's new reading (else the flow would stall
            // under PAWS for good); one behind is an old segment.
            TsVal::Wild(v) => {
                if !ts_before(v, self.clock) {
                    self.clock = v;
                }
                v
            }
        };
        let last = self.eng_last.unwrap_or(0);
        let e = match ecr {
            TsEcr::Echo => last,
            TsEcr::Older(n) => last.wrapping_sub(u32::from(n) + 1),
            TsEcr::Zero => 0,
            TsEcr::Wild(e) => e,
        };
        Some((v, e))
    }

    /// Records what the final option bytes `opts` of a segment carry: every TSval
    /// a parser walking them meets, and for a SYN whether it offers TSopt
    /// (`in_doubt`: the walk of its offers failed, so count it both ways).
    pub fn record(&mut self, opts: &[u8], syn: bool, in_doubt: bool) {
        let vals = tsvals_in(opts);
        let offers = !vals.is_empty();
        self.sent.extend(vals);
        if syn {
            if offers || in_doubt {
                self.syns_with += 1;
            }
            if !offers || in_doubt {
                self.syns_without += 1;
            }
        }
    }
}

/// TSopt's bytes, NOP-padded to 12: `(TSval, TSecr)`.
pub fn tsopt_bytes((v, e): (u32, u32)) -> [u8; 12] {
    let mut b = [1, 1, KIND, LEN, 0, 0, 0, 0, 0, 0, 0, 0];
    b[4..8].copy_from_slice(&v.to_be_bytes());
    b[8..12].copy_from_slice(&e.to_be_bytes());
    b
}

/// The TSval of every well-formed TSopt met walking `opts` as RFC 9293 3.1 lays
/// them out, up to END or the first malformed length.
fn tsvals_in(opts: &[u8]) -> Vec<u32> {
    crate::offers::option_items(opts)
        .map_while(Result::ok)
        .filter(|&(kind, body)| kind == KIND && body.len() + 2 == usize::from(LEN))
        .map(|(_, body)| u32::from_be_bytes([body[0], body[1], body[2], body[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_moves_forward_only_and_old_values_stay_behind() {
        let mut t = PeerTs::new(u32::MAX - 1);
        let put = |val| TsChoice::Put {
            val,
            ecr: TsEcr::Echo,
        };
        assert_eq!(t.resolve(put(TsVal::Tick(3))), Some((1, 0)), "wraps");
        assert_eq!(t.resolve(put(TsVal::Old(5))), Some((u32::MAX - 3, 0)));
        assert_eq!(t.clock, 1);
        assert_eq!(t.resolve(put(TsVal::Wild(0))), Some((0, 0)));
        assert_eq!(t.clock, 1, "a value behind leaves the clock");
        t.resolve(put(TsVal::Wild(100)));
        assert_eq!(t.clock, 100, "a value ahead sets it");
        assert_eq!(t.resolve(TsChoice::Absent), None);
        t.eng_last = Some(50);
        let older = TsChoice::Put {
            val: TsVal::Tick(0),
            ecr: TsEcr::Older(9),
        };
        assert_eq!(t.resolve(older), Some((100, 40)));
    }

    #[test]
    fn tsvals_are_read_from_the_bytes_as_a_parser_reads_them() {
        let mut o = vec![2, 4, 5, 180];
        o.extend_from_slice(&tsopt_bytes((7, 9)));
        assert_eq!(tsvals_in(&o), vec![7]);
        // After END, or past a bad length, nothing counts.
        assert!(tsvals_in(&[0, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0]).is_empty());
        assert!(tsvals_in(&[9, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0]).is_empty());
        // A TSopt of the wrong length is none.
        assert!(tsvals_in(&[8, 6, 0, 0, 0, 7]).is_empty());
        let mut t = PeerTs::default();
        t.record(&o, true, false);
        t.record(&[2, 4, 5, 180], true, false);
        assert!(t.sent.contains(&7));
        assert!(t.offered_any() && !t.offered_all());
    }
}
