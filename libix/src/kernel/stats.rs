//! What a kernel-transport thread counts: plain counters its thread alone writes.

use core::fmt;

/// Counters of one kernel transport and the loop driving it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// The thread's index.
    pub thread: usize,
    /// Loop iterations.
    pub iterations: u64,
    /// Iterations that found work.
    pub busy_iterations: u64,
    /// Handler invocations.
    pub handler_runs: u64,
    /// Handler panics contained.
    pub handler_panics: u64,
    /// Connections reset because their handler panicked.
    pub panic_resets: u64,
    /// Events handed to the application.
    pub events: u64,
    /// Calls the application made.
    pub calls: u64,
    /// `epoll_wait` calls (with and without a timeout).
    pub epoll_waits: u64,
    /// Readiness reports those calls returned.
    pub readiness: u64,
    /// Connections accepted from the kernel (each a `Knock`).
    pub accepted: u64,
    /// Times a listener had connections waiting but the connection table was full.
    pub accept_deferred: u64,
    /// `accept` calls that failed other than "nothing waiting".
    pub accept_errors: u64,
    /// Outgoing connections started.
    pub connects: u64,
    /// `readv` calls that returned data or end of stream.
    pub reads: u64,
    /// Bytes read from sockets into pool blocks (the kernel's copy).
    pub rx_bytes: u64,
    /// Pool blocks handed to the application as received segments.
    pub rx_segments: u64,
    /// Reads put off because a connection's receive window (unreleased bytes) was full.
    pub window_stalls: u64,
    /// Reads put off because the pool had no block.
    pub rx_no_buffers: u64,
    /// `sendmsg` calls that took bytes.
    pub writes: u64,
    /// Bytes the kernel accepted from `SharedBuf`s (reported as `Sent`).
    pub tx_bytes: u64,
    /// `sendmsg` calls that took fewer bytes than offered, or none (socket buffer full).
    pub short_writes: u64,
    /// Connections that ended in order (`Dead { Closed }`).
    pub closed: u64,
    /// Connections that ended otherwise (reset, timeout, abort, failed connect).
    pub failed: u64,
    /// Connections in the table now.
    pub conns: usize,
    /// Application timers armed now.
    pub timers: usize,
    /// Nanoseconds in iterations that did work.
    pub busy_ns: u64,
    /// Nanoseconds idle (empty iterations and waits in epoll).
    pub idle_ns: u64,
    /// Payload bytes copied on this thread by ix (`ix_nic::copy`: the application's own
    /// copies, if it reports them there; the transport copies nothing itself).
    pub copied_bytes: u64,
}

impl KernelStats {
    /// The counters as `(name, value)` pairs, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> {
        [
            ("thread", self.thread as u64),
            ("iterations", self.iterations),
            ("busy_iterations", self.busy_iterations),
            ("handler_runs", self.handler_runs),
            ("handler_panics", self.handler_panics),
            ("panic_resets", self.panic_resets),
            ("events", self.events),
            ("calls", self.calls),
            ("epoll_waits", self.epoll_waits),
            ("readiness", self.readiness),
            ("accepted", self.accepted),
            ("accept_deferred", self.accept_deferred),
            ("accept_errors", self.accept_errors),
            ("connects", self.connects),
            ("reads", self.reads),
            ("rx_bytes", self.rx_bytes),
            ("rx_segments", self.rx_segments),
            ("window_stalls", self.window_stalls),
            ("rx_no_buffers", self.rx_no_buffers),
            ("writes", self.writes),
            ("tx_bytes", self.tx_bytes),
            ("short_writes", self.short_writes),
            ("closed", self.closed),
            ("failed", self.failed),
            ("conns", self.conns as u64),
            ("timers", self.timers as u64),
            ("busy_ns", self.busy_ns),
            ("idle_ns", self.idle_ns),
            ("copied_bytes", self.copied_bytes),
        ]
        .into_iter()
    }

    /// Adds `other`'s counters to these (the instance's totals over its threads;
    /// `thread` is kept).
    pub fn add(&mut self, o: &KernelStats) {
        self.iterations += o.iterations;
        self.busy_iterations += o.busy_iterations;
        self.handler_runs += o.handler_runs;
        self.handler_panics += o.handler_panics;
        self.panic_resets += o.panic_resets;
        self.events += o.events;
        self.calls += o.calls;
        self.epoll_waits += o.epoll_waits;
        self.readiness += o.readiness;
        self.accepted += o.accepted;
        self.accept_deferred += o.accept_deferred;
        self.accept_errors += o.accept_errors;
        self.connects += o.connects;
        self.reads += o.reads;
        self.rx_bytes += o.rx_bytes;
        self.rx_segments += o.rx_segments;
        self.window_stalls += o.window_stalls;
        self.rx_no_buffers += o.rx_no_buffers;
        self.writes += o.writes;
        self.tx_bytes += o.tx_bytes;
        self.short_writes += o.short_writes;
        self.closed += o.closed;
        self.failed += o.failed;
        self.conns += o.conns;
        self.timers += o.timers;
        self.busy_ns += o.busy_ns;
        self.idle_ns += o.idle_ns;
        self.copied_bytes += o.copied_bytes;
    }
}

impl fmt::Display for KernelStats {
    /// One `name value` line per counter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in self.iter() {
            writeln!(f, "{k} {v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `add` sums every counter but `thread`; `Display` prints one line per counter.
    #[test]
    fn totals_add_up_and_print_one_line_each() {
        let mut a = KernelStats {
            rx_bytes: 5,
            conns: 1,
            ..KernelStats::default()
        };
        let b = KernelStats {
            thread: 1,
            rx_bytes: 7,
            conns: 2,
            ..KernelStats::default()
        };
        a.add(&b);
        assert_eq!((a.thread, a.rx_bytes, a.conns), (0, 12, 3));
        let text = a.to_string();
        assert!(text.contains("rx_bytes 12\n"));
        assert_eq!(text.lines().count(), a.iter().count());
    }
}
