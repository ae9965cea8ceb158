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

    /// New data acknowledged outside recovery: slow start grows by the bytes acked
    /// (at most one MSS per ACK, RFC 5681 3.1 / RFC 3465 L=1), congestion avoidance
    /// by one MSS per window acknowledged (byte counting).
    pub fn on_ack(&mut self, acked: u32) {
        if self.in_slow_start() {
            self.cwnd = self.cwnd.saturating_add(acked.min(self.mss));
        } else {
            self.acked_acc = self.acked_acc.saturating_add(acked);
            if self.acked_acc >= self.cwnd {
                self.acked_acc -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(self.mss);
            }
        }
    }

    /// Loss detected by duplicate ACKs or SACK with `flight` bytes outstanding:
    /// ssthresh = max(flight/2, 2*MSS) (RFC 5681 eq. 4); cwnd = ssthresh (the
    /// scoreboard's pipe estimate, not window inflation, clocks sending).
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

    /// Recovery ended (full ACK): cwnd = min(ssthresh, flight + MSS) (RFC 6582 3.2
    /// step 3, option 1), at least one MSS.
    pub fn exit_recovery(&mut self, flight: u32) {
        self.cwnd = self
            .ssthresh
            .min(flight.saturating_add(self.mss))
            .max(self.mss);
    }

    /// Retransmission timeout: ssthresh from the flight, cwnd = one segment (the loss
    /// window, RFC 5681 3.1 eq. 4 and following).
    pub fn on_rto(&mut self, flight: u32) {
        self.ssthresh = (flight / 2).max(2 * self.mss);
        self.cwnd = self.mss;
        self.acked_acc = 0;
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
        assert_eq!(c.cwnd(), 21_000, "at most one MSS per ACK");
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
        c.exit_recovery(1000);
        assert_eq!(c.cwnd(), 2000);
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
