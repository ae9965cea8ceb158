//! [`FaultyNic`]: a NIC wrapper that injects faults in both directions.

use ix_nic::{Batch, Clock, FrameOf, Nic, RxOf, BURST};

use crate::config::FaultPlan;
use crate::dice::Direction;
use crate::error::FaultConfigError;
use crate::lane::Lane;
use crate::ops::{RxOps, TxOps};
use crate::stats::FaultStats;

/// Wraps the NIC `N` and injects the faults of a [`FaultPlan`], timing delays on `C`.
///
/// It is a [`Nic`] with the same pool, so it slots in under any stack. Frames it
/// holds (delayed, reordered, or taken for transmission while the inner NIC's ring
/// was full) leave on later calls: every `rx_burst` and `tx_burst`, and
/// [`FaultyNic::poll`], first releases what is due, so a stack that only polls for
/// receive still gets its delayed transmissions out. It never blocks and allocates
/// nothing per frame. Dropping it releases every frame it holds.
pub struct FaultyNic<N: Nic, C: Clock> {
    inner: N,
    clock: C,
    rx: Lane<RxOf<N::Pool>>,
    tx: Lane<FrameOf<N::Pool>>,
}

impl<N: Nic, C: Clock> FaultyNic<N, C> {
    /// Wraps `inner` with the faults of `plan`, after [`FaultPlan::validate`]; reserves
    /// every queue now.
    pub fn new(inner: N, clock: C, plan: &FaultPlan) -> Result<Self, FaultConfigError> {
        plan.validate()?;
        Ok(FaultyNic {
            inner,
            clock,
            rx: Lane::new(plan.rx, plan.seed, Direction::Rx),
            tx: Lane::new(plan.tx, plan.seed, Direction::Tx),
        })
    }

    /// What the injector did to received frames.
    pub fn rx_stats(&self) -> FaultStats {
        self.rx.stats()
    }

    /// What the injector did to transmitted frames.
    pub fn tx_stats(&self) -> FaultStats {
        self.tx.stats()
    }

    /// Frames the injector holds now, both directions: delayed, waiting to be
    /// overtaken, or due but not yet taken by the stack or the inner NIC.
    pub fn held(&self) -> usize {
        self.rx.held() + self.tx.held()
    }

    /// Hands due transmissions to the inner NIC (as far as its ring takes them).
    pub fn poll(&mut self) {
        self.tx.release_due(self.clock.now());
        self.flush_tx();
    }

    /// The wrapped NIC.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// The wrapped NIC, mutably (a test injects into a fake NIC through this).
    pub fn inner_mut(&mut self) -> &mut N {
        &mut self.inner
    }

    /// Unwraps the NIC, releasing every frame the injector still holds.
    pub fn into_inner(self) -> N {
        self.inner
    }

    /// Moves due frames to `out` while it has room.
    fn drain_rx(&mut self, out: &mut Batch<RxOf<N::Pool>>) {
        while out.remaining_capacity() > 0 {
            let Some(frame) = self.rx.pop_ready() else {
                return;
            };
            // Cannot fail: capacity checked by the loop.
            let _ = out.try_push(frame);
        }
    }

    /// Offers due transmissions to the inner NIC, a burst at a time, until it refuses
    /// some; those stay first in line.
    fn flush_tx(&mut self) {
        while self.tx.has_ready() {
            let mut batch: Batch<FrameOf<N::Pool>> = Batch::new();
            while batch.remaining_capacity() > 0 {
                let Some(frame) = self.tx.pop_ready() else {
                    break;
                };
                // Cannot fail: capacity checked by the loop.
                let _ = batch.try_push(frame);
            }
            self.inner.tx_burst(&mut batch);
            if !batch.is_empty() {
                // The inner ring is full: put the rest back in order and stop.
                while let Some(frame) = batch.pop() {
                    self.tx.unpop_ready(frame);
                }
                return;
            }
        }
    }
}

impl<N: Nic, C: Clock> Nic for FaultyNic<N, C> {
    type Pool = N::Pool;

    fn pool(&self) -> &N::Pool {
        self.inner.pool()
    }

    /// Delivers due frames first, then pulls a burst from the inner NIC through the
    /// faults. A burst pulled may yield more than `out` has room for (duplicates,
    /// released frames): the rest wait, in order, for the next call.
    fn rx_burst(&mut self, out: &mut Batch<RxOf<N::Pool>>) -> usize {
        self.poll();
        let before = out.len();
        let now = self.clock.now();
        self.rx.release_due(now);
        self.drain_rx(out);
        // `ready` is empty whenever `out` still has room, and then `room() >= BURST`:
        // a whole inner burst fits. The check only guards that reasoning.
        if out.remaining_capacity() > 0 && self.rx.room() >= BURST {
            let mut fresh: Batch<RxOf<N::Pool>> = Batch::new();
            self.inner.rx_burst(&mut fresh);
            let ops = RxOps(self.inner.pool());
            for frame in fresh {
                self.rx.admit(frame, now, &ops);
            }
            self.drain_rx(out);
        }
        out.len() - before
    }

    /// Takes frames from the front of `frames` through the faults and on to the inner
    /// NIC. While the inner NIC still refuses earlier frames it takes none, so the
    /// caller feels the inner ring's back-pressure (at most one burst late).
    fn tx_burst(&mut self, frames: &mut Batch<FrameOf<N::Pool>>) -> usize {
        self.poll();
        if self.tx.has_ready() {
            return 0;
        }
        let now = self.clock.now();
        let n = frames.len().min(self.tx.room());
        let ops = TxOps(self.inner.pool());
        for frame in frames.drain(..n) {
            self.tx.admit(frame, now, &ops);
        }
        self.flush_tx();
        n
    }

    fn mac(&self) -> [u8; 6] {
        self.inner.mac()
    }
}

impl<N: Nic, C: Clock> core::fmt::Debug for FaultyNic<N, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FaultyNic")
            .field("rx", &self.rx.stats())
            .field("tx", &self.tx.stats())
            .field("held", &self.held())
            .finish_non_exhaustive()
    }
}
