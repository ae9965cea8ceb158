//! NewReno's window arithmetic (RFC 5681, RFC 6582, RFC 6928, RFC 3465).

/// Congestion window and slow-start threshold of one connection, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewReno {
    cwnd: u32,
    ssthresh: u32,
    mss: u32,
    /// Bytes acknowledged in congestion avoidance not yet turned into window growth.
    acked_acc: u32,
}

impl NewReno {
    /// A fresh window: `iw_segments` segments of `mss` (RFC 6928 caps the initial
    /// window at 10 segments), ssthresh "arbitrarily high" (RFC 5681 3.1).
    pub fn new(mss: u16, iw_segments: u32) -> Self {
        let mss = u32::from(mss.max(1));
        NewReno {
            cwnd: mss.saturating_mul(iw_segments.max(1)),
            ssthresh: u32::MAX,
            mss,
            acked_acc: 0,
        }
    }

    /// The congestion window.
    pub fn cwnd(&self) -> u32 {
        self.cwnd
    }

    /// The slow-start threshold.
    pub fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    /// Whether in slow start.
    pub fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// New data acknowledged outside recovery: slow start grows by the bytes acked,
    /// up to ssthresh (byte counting, RFC 3465, without its per-ACK limit: a
    /// receiver that acknowledges a whole burst at once, as ix and GRO do, would
    /// otherwise hold the growth to one MSS per burst; splitting ACKs gains nothing
    /// either, as Linux counts it), the rest by congestion avoidance's rule: one MSS
    /// per window acknowledged.
    pub fn on_ack(&mut self, acked: u32) {
        let mut acked = acked;
        if self.in_slow_start() {
            let add = acked.min(self.ssthresh - self.cwnd);
            self.cwnd = self.cwnd.saturating_add(add);
            acked -= add;
        }
        if acked > 0 && !self.in_slow_start() {
            self.acked_acc = self.acked_acc.saturating_add(acked);
            while self.acked_acc >= self.cwnd {
                self.acked_acc -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(self.mss);
            }
        }
    }

    /// Loss detected by duplicate ACKs or SACK with `flight` bytes outstanding:
    /// ssthresh = max(flight/2, 2*MSS) (RFC 5681 eq. 4); cwnd = ssthresh (the
    /// retransmission queue's pipe estimate, not window inflation, clocks sending).
    pub fn on_loss(&mut self, flight: u32) {
        self.ssthresh = (flight / 2).max(2 * self.mss);
        self.cwnd = self.ssthresh;
        self.acked_acc = 0;
    }

    /// NewReno fast retransmit without SACK: cwnd = ssthresh + 3*MSS (RFC 6582 3.2
    /// step 2), after [`NewReno::on_loss`].
    pub fn inflate_for_dupacks(&mut self, segments: u32) {
        self.cwnd = self.cwnd.saturating_add(segments.saturating_mul(self.mss));
    }

    /// NewReno partial ACK of `acked` bytes: deflate by the amount acknowledged, add
    /// back one MSS if at least one MSS was acknowledged (RFC 6582 3.2 step 5).
    pub fn partial_ack(&mut self, acked: u32) {
        self.cwnd = self.cwnd.saturating_sub(acked);
        if acked >= self.mss {
            self.cwnd = self.cwnd.saturating_add(self.mss);
        }
        self.cwnd = self.cwnd.max(self.mss);
    }

    /// Recovery ended (full ACK): cwnd = ssthresh (RFC 5681 3.2 step 6, RFC 6582 3.2
    /// step 3's second option; with SACK the pipe, not inflation, has clocked
    /// sending, so this is where the episode's reduction lands, as PRR's does). Not
    /// `min(ssthresh, FlightSize + SMSS)`: after a full ACK the flight is often
    /// nothing, and one segment left alone then waits out a timeout if it is lost.
    pub fn exit_recovery(&mut self) {
        self.cwnd = self.ssthresh.max(self.mss);
        self.acked_acc = 0;
    }

    /// Retransmission timeout: ssthresh from the flight, cwnd = one segment (the loss
    /// window, RFC 5681 3.1 eq. 4 and following).
    pub fn on_rto(&mut self, flight: u32) {
        self.ssthresh = (flight / 2).max(2 * self.mss);
        self.cwnd = self.mss;
        self.acked_acc = 0;
    }

    /// Another retransmission timeout for the same data: one segment again, ssthresh
    /// kept (RFC 5681 3.1: it is not lowered by repeated timeouts).
    pub fn on_repeated_rto(&mut self) {
        self.cwnd = self.mss;
        self.acked_acc = 0;
    }

    /// A loss repaired without a recovery episode (a tail loss probe's
    /// retransmission was needed, RFC 8985 7.4): the window halves.
    pub fn reduce(&mut self) {
        self.ssthresh = (self.cwnd / 2).max(2 * self.mss);
        self.cwnd = self.ssthresh;
        self.acked_acc = 0;
    }

    /// A reduction turned out unneeded (every retransmission it caused was
    /// duplicated at the peer, RFC 3708): back to the window from before it.
    pub fn undo(&mut self, prior: NewReno) {
        self.cwnd = self.cwnd.max(prior.cwnd);
        self.ssthresh = self.ssthresh.max(prior.ssthresh);
    }

    /// After an idle period longer than an RTO, restart from the initial window
    /// (RFC 5681 4.1), if that is smaller.
    pub fn restart_after_idle(&mut self, iw_segments: u32) {
        self.cwnd = self.cwnd.min(self.mss.saturating_mul(iw_segments.max(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_then_avoidance() {
        let mut c = NewReno::new(1000, 10);
        assert_eq!(c.cwnd(), 10_000);
        // Ten full segments acknowledged one by one: the window doubles.
        for _ in 0..10 {
            c.on_ack(1000);
        }
        assert_eq!(c.cwnd(), 20_000);
        c.on_ack(5000);
        assert_eq!(c.cwnd(), 25_000, "a stretch ACK counts all it acknowledges");
        c.on_loss(30_000);
        assert_eq!((c.ssthresh(), c.cwnd()), (15_000, 15_000));
        assert!(!c.in_slow_start());
        // One window's worth of ACKs grows it by one MSS.
        for _ in 0..14 {
            c.on_ack(1000);
        }
        assert_eq!(c.cwnd(), 15_000);
        c.on_ack(1000);
        assert_eq!(c.cwnd(), 16_000);
        // Slow start stops at ssthresh; the rest of the ACK counts for avoidance.
        let mut c = NewReno::new(1000, 10);
        c.on_loss(24_000);
        c.on_rto(24_000);
        assert_eq!((c.cwnd(), c.ssthresh()), (1000, 12_000));
        c.on_ack(11_000);
        assert_eq!(c.cwnd(), 12_000);
        c.on_ack(12_000);
        assert_eq!(c.cwnd(), 13_000);
    }

    #[test]
    fn recovery_and_timeout() {
        let mut c = NewReno::new(1000, 10);
        c.on_loss(10_000);
        assert_eq!(c.cwnd(), 5000);
        c.inflate_for_dupacks(3);
        assert_eq!(c.cwnd(), 8000);
        c.partial_ack(2000);
        assert_eq!(c.cwnd(), 7000);
        c.exit_recovery();
        assert_eq!(c.cwnd(), 5000, "ssthresh");
        let before = c;
        c.on_loss(4000);
        c.undo(before);
        assert_eq!((c.cwnd(), c.ssthresh()), (5000, 5000), "undone");
        c.on_rto(3000);
        assert_eq!(
            (c.ssthresh(), c.cwnd()),
            (2000, 1000),
            "ssthresh floor is 2 MSS"
        );
        c.on_ack(1000);
        assert_eq!(c.cwnd(), 2000, "slow start again");
    }
}
