//! Undoing a spurious fast recovery (RFC 3708, Linux's D-SACK undo): every
//! retransmission of the episode is remembered until a D-SACK, or the late
//! acknowledgment of its original, shows it was not needed; when none is left and
//! the episode is over, the window reduction is undone.

use crate::conn::tcb::{Tcb, Undo};
use crate::core::Core;
use crate::rtxq::SegRec;
use crate::seq::Seq;
use crate::stats::Counter;
use ix_nic::BufPool;

impl<P: BufPool> Tcb<P> {
    /// A D-SACK for `[l, r)`: if it names a retransmission of the latest fast
    /// recovery, that one was not needed.
    pub(super) fn dsack_undo(&mut self, core: &mut Core, l: Seq, r: Seq) {
        if let Some(u) = self.undo.as_mut() {
            if let Some(i) = u.pending.iter().position(|&(a, b)| a.le(l) && r.le(b)) {
                u.pending.swap_remove(i);
                self.try_undo(core);
            }
        }
    }

    /// When every retransmission of the latest fast recovery came back duplicate,
    /// the recovery was caused by reordering, not loss: once it is over, its window
    /// reduction is undone (RFC 3708; Linux's D-SACK undo).
    pub(super) fn try_undo(&mut self, core: &mut Core) {
        let done = self
            .undo
            .as_ref()
            .is_some_and(|u| u.any && !u.overflow && u.pending.is_empty());
        if done && self.recovery.is_none() {
            if let Some(u) = self.undo.take() {
                self.cc.undo(u.prior);
                core.count(Counter::RecoveriesUndone);
            }
        }
    }
}

/// A retransmission of `seg` turned out unneeded (its original was acknowledged):
/// it no longer stands in the way of undoing the latest recovery's reduction.
pub(super) fn late_original(undo: &mut Option<Undo>, seg: &SegRec) {
    if let Some(u) = undo.as_mut() {
        let (l, r) = (seg.start, seg.end);
        if let Some(i) = u.pending.iter().position(|&(a, b)| l.le(a) && b.le(r)) {
            u.pending.swap_remove(i);
        }
    }
}
