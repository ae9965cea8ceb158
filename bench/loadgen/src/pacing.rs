//! mutilate's pacing options for an open-loop connection, as pure rules on the run's
//! nanosecond clock (so they are tested on a virtual clock):
//!
//! - `-S/--skip`, with mutilate's thresholds (its `Connection::drive_write_machine`):
//!   when a connection's pipeline is full and its oldest unsent arrival is more than
//!   5 ms overdue, arrivals are dropped (never sent, counted as skipped) until the
//!   oldest is at most 4 ms overdue. So a connection stuck behind a slow reply does
//!   not catch up with a burst once the reply comes.
//! - `--moderate`: a send leaves no earlier than half a mean gap (0.5/λ) after the
//!   connection's previous send, so a backlog drains at up to 2λ rather than at once.
//!
//! Latency is still measured from the scheduled time: both rules change what is
//! sent and when, never what a sent request is charged. Closed loop (no λ): both off.

/// `-S` starts dropping when the oldest unsent arrival is more than this overdue
/// (and the pipeline is full): mutilate's 5 ms.
pub const SKIP_START_NS: u64 = 5_000_000;
/// ... and drops until the oldest is at most this overdue: mutilate's 4 ms.
pub const SKIP_UNTIL_NS: u64 = 4_000_000;

/// How one connection paces its sends against its schedule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pacing {
    /// `-S`: drop overdue arrivals behind a full pipeline (mutilate's thresholds).
    pub skip: bool,
    /// `--moderate`: at least half a mean gap between sends.
    pub moderate: bool,
    /// The schedule's mean inter-arrival gap (1/λ) in ns; 0 = closed loop (rules off).
    pub mean_gap_ns: u64,
}

impl Pacing {
    /// The rules asked for at `lambda_per_conn` requests/s (<= 0: closed loop, off).
    pub fn new(skip: bool, moderate: bool, lambda_per_conn: f64) -> Self {
        let mean_gap_ns = if lambda_per_conn > 0.0 && lambda_per_conn.is_finite() {
            ((1e9 / lambda_per_conn).round() as u64).max(1)
        } else {
            0
        };
        Pacing {
            skip,
            moderate,
            mean_gap_ns,
        }
    }

    /// Whether `-S` starts dropping at `now_ns`: the pipeline is full and the
    /// oldest unsent arrival (`oldest_ns`) is more than [`SKIP_START_NS`] overdue.
    pub fn starts_skipping(&self, oldest_ns: u64, now_ns: u64, pipeline_full: bool) -> bool {
        self.skip
            && self.mean_gap_ns > 0
            && pipeline_full
            && now_ns.saturating_sub(oldest_ns) > SKIP_START_NS
    }

    /// Once started, whether the arrival at `scheduled_ns` is dropped too: it is
    /// more than [`SKIP_UNTIL_NS`] overdue at `now_ns`.
    pub fn keeps_skipping(&self, scheduled_ns: u64, now_ns: u64) -> bool {
        now_ns.saturating_sub(scheduled_ns) > SKIP_UNTIL_NS
    }

    /// The earliest time the next send may leave after a send at `last_tx_ns`
    /// (`--moderate`: half a mean gap later; otherwise, or before any send, 0).
    pub fn earliest_send(&self, last_tx_ns: Option<u64>) -> u64 {
        match last_tx_ns {
            Some(t) if self.moderate && self.mean_gap_ns > 0 => {
                t.saturating_add(self.mean_gap_ns / 2)
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: u64 = 1_000;

    #[test]
    fn the_gap_is_one_over_lambda_and_closed_loop_turns_the_rules_off() {
        assert_eq!(Pacing::new(true, true, 1000.0).mean_gap_ns, 1_000_000);
        assert_eq!(Pacing::new(true, true, 3.0).mean_gap_ns, 333_333_333);
        let closed = Pacing::new(true, true, 0.0);
        assert_eq!(closed.mean_gap_ns, 0);
        assert!(!closed.starts_skipping(0, u64::MAX, true));
        assert_eq!(closed.earliest_send(Some(5)), 0);
    }

    #[test]
    fn skip_starts_five_ms_behind_a_full_pipeline_and_drops_to_four() {
        const MS: u64 = 1_000 * US;
        let p = Pacing::new(true, false, 10_000.0);
        assert!(!p.starts_skipping(0, 5 * MS, true), "exactly 5 ms late");
        assert!(p.starts_skipping(0, 5 * MS + 1, true), "just over 5 ms");
        assert!(
            !p.starts_skipping(0, 50 * MS, false),
            "a free pipeline sends rather than skips"
        );
        assert!(!p.starts_skipping(10 * MS, 9 * MS, true), "not yet due");
        assert!(p.keeps_skipping(0, 4 * MS + 1));
        assert!(!p.keeps_skipping(0, 4 * MS), "within 4 ms it is sent");
        let off = Pacing::new(false, false, 10_000.0);
        assert!(
            !off.starts_skipping(0, 1_000 * MS, true),
            "without -S nothing is skipped"
        );
    }

    #[test]
    fn moderate_spaces_sends_half_a_gap_apart() {
        let p = Pacing::new(false, true, 10_000.0); // gap 100 µs
        assert_eq!(p.earliest_send(None), 0, "the first send is free");
        assert_eq!(p.earliest_send(Some(1000 * US)), 1050 * US);
        let off = Pacing::new(true, false, 10_000.0);
        assert_eq!(off.earliest_send(Some(1000 * US)), 0);
    }

    #[test]
    fn a_backlog_drains_at_twice_the_rate_under_moderate() {
        // Ten arrivals due at once at t = 0 (the client was late): a virtual clock
        // that sends whenever allowed.
        let p = Pacing::new(false, true, 1000.0); // gap 1 ms
        let mut now = 0;
        let mut last = None;
        let mut sends = Vec::new();
        while sends.len() < 10 {
            now = now.max(p.earliest_send(last));
            sends.push(now);
            last = Some(now);
        }
        let gaps: Vec<u64> = sends.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| g == 500 * US), "{gaps:?}");
    }
}
