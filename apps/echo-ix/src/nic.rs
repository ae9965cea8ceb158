//! [`MaybeFaulty`]: a NIC with or without the fault injector, as one type, so the
//! elastic thread's type does not depend on whether a fault plan was given.

use ix_fault::FaultyNic;
use ix_nic::{Batch, Clock, FrameOf, Nic, RxOf};

/// Either `N` itself or `N` behind a [`FaultyNic`].
#[derive(Debug)]
pub enum MaybeFaulty<N: Nic, C: Clock> {
    /// No faults.
    Plain(N),
    /// Faults injected in both directions.
    Faulty(Box<FaultyNic<N, C>>),
}

impl<N: Nic, C: Clock> MaybeFaulty<N, C> {
    /// The fault injector's counters as `(rx, tx)`, if there is one.
    pub fn fault_stats(&self) -> Option<(ix_fault::FaultStats, ix_fault::FaultStats)> {
        match self {
            MaybeFaulty::Plain(_) => None,
            MaybeFaulty::Faulty(f) => Some((f.rx_stats(), f.tx_stats())),
        }
    }

    /// The NIC underneath.
    pub fn inner(&self) -> &N {
        match self {
            MaybeFaulty::Plain(n) => n,
            MaybeFaulty::Faulty(f) => f.inner(),
        }
    }
}

impl<N: Nic, C: Clock> Nic for MaybeFaulty<N, C> {
    type Pool = N::Pool;

    fn pool(&self) -> &N::Pool {
        match self {
            MaybeFaulty::Plain(n) => n.pool(),
            MaybeFaulty::Faulty(f) => f.pool(),
        }
    }

    fn rx_burst(&mut self, out: &mut Batch<RxOf<N::Pool>>) -> usize {
        match self {
            MaybeFaulty::Plain(n) => n.rx_burst(out),
            MaybeFaulty::Faulty(f) => f.rx_burst(out),
        }
    }

    fn tx_burst(&mut self, frames: &mut Batch<FrameOf<N::Pool>>) -> usize {
        match self {
            MaybeFaulty::Plain(n) => n.tx_burst(frames),
            MaybeFaulty::Faulty(f) => f.tx_burst(frames),
        }
    }

    fn mac(&self) -> [u8; 6] {
        match self {
            MaybeFaulty::Plain(n) => n.mac(),
            MaybeFaulty::Faulty(f) => f.mac(),
        }
    }
}
