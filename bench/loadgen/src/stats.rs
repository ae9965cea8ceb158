//! What a run measured: latency histograms, counts and bytes, mergeable across
//! connections, threads and (counts only) agents.

use crate::histogram::Hist;
use serde::{Deserialize, Serialize};

/// The counts of a run, which agents send to the master (latencies stay local).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Gets completed (hits and misses).
    pub gets: u64,
    /// Sets completed.
    pub sets: u64,
    /// Gets that missed.
    pub misses: u64,
    /// Replies that were errors (server errors, sets not stored).
    pub errors: u64,
    /// Requests scheduled in the window that had no reply when the run gave up on them.
    pub skipped: u64,
    /// Reply bytes received.
    pub rx_bytes: u64,
    /// Request bytes sent.
    pub tx_bytes: u64,
}

impl Counts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &Counts) {
        self.gets += other.gets;
        self.sets += other.sets;
        self.misses += other.misses;
        self.errors += other.errors;
        self.skipped += other.skipped;
        self.rx_bytes += other.rx_bytes;
        self.tx_bytes += other.tx_bytes;
    }

    /// Gets plus sets.
    pub fn total(&self) -> u64 {
        self.gets + self.sets
    }
}

/// The measurements of one connection, thread or run.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Get latency from the scheduled send time (the honest one).
    pub get: Hist,
    /// Set latency from the scheduled send time.
    pub set: Hist,
    /// Get latency from the actual send time, as mutilate measures it (for comparison).
    pub get_from_send: Hist,
    /// Requests outstanding on the connection when each one was sent (mutilate's op_q).
    pub op_q: Hist,
    /// Counts and bytes.
    pub counts: Counts,
    /// Start of the measured window, ns on the run's clock.
    pub start_ns: u64,
    /// When the measurement ended: the window's end or the last measured reply, later.
    pub stop_ns: u64,
    /// (scheduled time, latency) of every measured get, in ns, when `--save` asks.
    pub samples: Option<Vec<(u64, u64)>>,
}

impl Stats {
    /// Empty statistics for the window starting at `start_ns` and ending at `stop_ns`.
    pub fn new(start_ns: u64, stop_ns: u64, keep_samples: bool) -> Self {
        Stats {
            get: Hist::latency(),
            set: Hist::latency(),
            get_from_send: Hist::latency(),
            op_q: Hist::counts(),
            counts: Counts::default(),
            start_ns,
            stop_ns,
            samples: keep_samples.then(Vec::new),
        }
    }

    /// Adds `other`'s measurements to these.
    pub fn merge(&mut self, other: &Stats) {
        self.get.merge(&other.get);
        self.set.merge(&other.set);
        self.get_from_send.merge(&other.get_from_send);
        self.op_q.merge(&other.op_q);
        self.counts.add(&other.counts);
        self.start_ns = self.start_ns.min(other.start_ns);
        self.stop_ns = self.stop_ns.max(other.stop_ns);
        if let (Some(mine), Some(theirs)) = (&mut self.samples, &other.samples) {
            mine.extend_from_slice(theirs);
        }
    }

    /// Length of the measurement in seconds (at least 1 ns).
    pub fn seconds(&self) -> f64 {
        self.stop_ns.saturating_sub(self.start_ns).max(1) as f64 / 1e9
    }

    /// Completed requests per second.
    pub fn qps(&self) -> f64 {
        self.counts.total() as f64 / self.seconds()
    }
}
