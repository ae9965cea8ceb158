//! One connection's state machine, free of I/O: it turns the schedule into requests
//! (at most `depth` outstanding), takes reply bytes, and measures each reply from the
//! request's scheduled time. A transport moves its bytes.

use crate::error::{LoadgenError, Result};
use crate::pacing::Pacing;
use crate::protocol::{Protocol, Reply};
use crate::schedule::Schedule;
use crate::stats::Stats;
use crate::workload::{Op, RequestGen};
use std::collections::VecDeque;

/// The phases of a run on the run's clock, in ns: requests are sent from `start_ns`,
/// those scheduled from `measure_ns` (after the warm-up) are measured, and none is
/// scheduled at or after `end_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First possible send (start of the warm-up).
    pub start_ns: u64,
    /// Start of the measurement.
    pub measure_ns: u64,
    /// End of scheduling.
    pub end_ns: u64,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Loading records `next..end` with sets, as fast as the depth allows.
    Load { next: u64, end: u64 },
    /// The get/set mix, open-loop if there is a schedule, else as fast as possible.
    Run,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    op: Op,
    scheduled_ns: u64,
    sent_ns: u64,
    tx_bytes: u64,
}

/// One connection to one server.
#[derive(Debug)]
pub struct Connection {
    proto: Protocol,
    depth: usize,
    window: Window,
    mode: Mode,
    schedule: Option<Schedule>,
    gen: RequestGen,
    backlog: VecDeque<u64>,
    outstanding: VecDeque<Pending>,
    tx: Vec<u8>,
    tx_sent: usize,
    rx: Vec<u8>,
    stats: Stats,
    loaded: u64,
    pacing: Pacing,
    last_tx_ns: Option<u64>,
}

impl Connection {
    /// A connection running the mix in `window`, open-loop on `schedule` (None: as fast
    /// as `depth` allows, each request "scheduled" when it is sent). Assumes depth >= 1.
    pub fn new(
        proto: Protocol,
        depth: usize,
        window: Window,
        schedule: Option<Schedule>,
        gen: RequestGen,
        keep_samples: bool,
    ) -> Self {
        Connection {
            proto,
            depth: depth.max(1),
            window,
            mode: Mode::Run,
            schedule,
            gen,
            backlog: VecDeque::new(),
            outstanding: VecDeque::new(),
            tx: Vec::with_capacity(64 * 1024),
            tx_sent: 0,
            rx: Vec::with_capacity(64 * 1024),
            stats: Stats::new(window.measure_ns, window.end_ns, keep_samples),
            loaded: 0,
            pacing: Pacing::default(),
            last_tx_ns: None,
        }
    }

    /// Sets the window and schedule of a connection built ahead of the run, so that
    /// building connections (buffers, generators) does not delay the first sends.
    pub fn begin(&mut self, window: Window, schedule: Option<Schedule>) {
        self.window = window;
        self.schedule = schedule;
        self.stats.start_ns = window.measure_ns;
        self.stats.stop_ns = window.end_ns;
    }

    /// Sets `-S`/`--moderate` (default: neither). They act only on a schedule.
    pub fn set_pacing(&mut self, pacing: Pacing) {
        self.pacing = pacing;
    }

    /// A connection that loads records `first..end` with sets, `depth` at a time.
    pub fn loader(proto: Protocol, depth: usize, first: u64, end: u64, gen: RequestGen) -> Self {
        let window = Window {
            start_ns: 0,
            measure_ns: u64::MAX,
            end_ns: u64::MAX,
        };
        let mut c = Connection::new(proto, depth, window, None, gen, false);
        c.mode = Mode::Load { next: first, end };
        c
    }

    /// Takes the arrivals due by `now_ns` and encodes requests while fewer than `depth`
    /// are outstanding (with `-S`, dropping first those more than a mean gap overdue;
    /// with `--moderate`, half a mean gap apart). Call before writing `tx_pending`.
    pub fn tick(&mut self, now_ns: u64) {
        match self.mode {
            Mode::Load { mut next, end } => {
                while self.outstanding.len() < self.depth && next < end {
                    let before = self.tx.len();
                    self.gen.encode_load(self.proto, next, &mut self.tx);
                    let tx_bytes = (self.tx.len() - before) as u64;
                    self.outstanding.push_back(Pending {
                        op: Op::Set,
                        scheduled_ns: now_ns,
                        sent_ns: now_ns,
                        tx_bytes,
                    });
                    next += 1;
                }
                self.mode = Mode::Load { next, end };
            }
            Mode::Run => {
                if let Some(s) = &mut self.schedule {
                    let limit = now_ns.min(self.window.end_ns.saturating_sub(1));
                    while let Some(t) = s.pop_due(limit) {
                        self.backlog.push_back(t);
                    }
                    // Before any send, as mutilate checks before it writes.
                    self.skip_late(now_ns);
                }
                while self.outstanding.len() < self.depth {
                    if self.schedule.is_some()
                        && now_ns < self.pacing.earliest_send(self.last_tx_ns)
                    {
                        break;
                    }
                    let scheduled = match self.backlog.pop_front() {
                        Some(t) => t,
                        None if self.schedule.is_none()
                            && now_ns >= self.window.start_ns
                            && now_ns < self.window.end_ns =>
                        {
                            now_ns
                        }
                        None => break,
                    };
                    self.send(scheduled, now_ns);
                }
            }
        }
    }

    /// `-S`: behind a full pipeline, drops the unsent arrivals (in schedule order)
    /// as mutilate does ([`Pacing::starts_skipping`]), counting the measured ones
    /// as skipped.
    fn skip_late(&mut self, now_ns: u64) {
        let full = self.outstanding.len() >= self.depth;
        match self.backlog.front() {
            Some(&t) if self.pacing.starts_skipping(t, now_ns, full) => {}
            _ => return,
        }
        while let Some(&t) = self.backlog.front() {
            if !self.pacing.keeps_skipping(t, now_ns) {
                break;
            }
            self.backlog.pop_front();
            if self.is_measured(t) {
                self.stats.counts.skipped += 1;
            }
        }
    }

    fn send(&mut self, scheduled_ns: u64, now_ns: u64) {
        self.last_tx_ns = Some(now_ns);
        let before = self.tx.len();
        let op = self.gen.encode_next(self.proto, &mut self.tx);
        let tx_bytes = (self.tx.len() - before) as u64;
        self.outstanding.push_back(Pending {
            op,
            scheduled_ns,
            sent_ns: now_ns,
            tx_bytes,
        });
        if self.is_measured(scheduled_ns) {
            self.stats.op_q.record(self.outstanding.len() as u64);
        }
    }

    fn is_measured(&self, scheduled_ns: u64) -> bool {
        scheduled_ns >= self.window.measure_ns && scheduled_ns < self.window.end_ns
    }

    /// Bytes encoded but not yet written.
    pub fn tx_pending(&self) -> &[u8] {
        &self.tx[self.tx_sent..]
    }

    /// Marks `n` pending bytes as written.
    pub fn tx_advance(&mut self, n: usize) {
        self.tx_sent = (self.tx_sent + n).min(self.tx.len());
        if self.tx_sent == self.tx.len() {
            self.tx.clear();
            self.tx_sent = 0;
        }
    }

    /// Takes bytes received at `now_ns`: each complete reply answers the oldest
    /// outstanding request and is measured from that request's scheduled time.
    pub fn on_rx(&mut self, data: &[u8], now_ns: u64) -> Result<()> {
        self.rx.extend_from_slice(data);
        let mut at = 0;
        while let Some((n, reply)) = self.proto.parse_reply(&self.rx[at..])? {
            at += n;
            let p = self.outstanding.pop_front().ok_or_else(|| {
                LoadgenError::Protocol("reply with no request outstanding".into())
            })?;
            self.complete(p, &reply, n as u64, now_ns);
        }
        self.rx.drain(..at);
        Ok(())
    }

    fn complete(&mut self, p: Pending, reply: &Reply, rx_bytes: u64, now_ns: u64) {
        if let Mode::Load { .. } = self.mode {
            self.loaded += 1;
            if !matches!(reply, Reply::Stored) {
                self.stats.counts.errors += 1;
            }
            return;
        }
        if !self.is_measured(p.scheduled_ns) {
            return;
        }
        let c = &mut self.stats.counts;
        c.rx_bytes += rx_bytes;
        c.tx_bytes += p.tx_bytes;
        let latency = now_ns.saturating_sub(p.scheduled_ns);
        match (p.op, reply) {
            (Op::Get, Reply::Hit | Reply::Miss) => {
                c.gets += 1;
                if *reply == Reply::Miss {
                    c.misses += 1;
                }
                self.stats.get.record(latency);
                self.stats
                    .get_from_send
                    .record(now_ns.saturating_sub(p.sent_ns));
                if let Some(s) = &mut self.stats.samples {
                    s.push((p.scheduled_ns, latency));
                }
            }
            (Op::Set, Reply::Stored) => {
                c.sets += 1;
                self.stats.set.record(latency);
            }
            _ => c.errors += 1,
        }
        self.stats.stop_ns = self.stats.stop_ns.max(now_ns);
    }

    /// When the connection next has something to do by itself at or after `now_ns`:
    /// the window's start, its next arrival, a send `--moderate` held back, or the
    /// window's end (to finish then).
    pub fn next_wakeup(&self, now_ns: u64) -> Option<u64> {
        let own = match self.mode {
            Mode::Load { .. } => None,
            Mode::Run if now_ns < self.window.start_ns => Some(self.window.start_ns),
            Mode::Run if now_ns >= self.window.end_ns => None,
            Mode::Run => Some(match &self.schedule {
                Some(s) => s.peek().min(self.window.end_ns),
                None => self.window.end_ns,
            }),
        };
        let held = self
            .held_back()
            .then(|| self.pacing.earliest_send(self.last_tx_ns).max(now_ns));
        match (own, held) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether a due request waits only for `--moderate`'s spacing.
    fn held_back(&self) -> bool {
        !self.backlog.is_empty() && self.outstanding.len() < self.depth
    }

    /// Whether nothing is left to send or to wait for at `now_ns`.
    pub fn is_done(&self, now_ns: u64) -> bool {
        let nothing_in_flight = self.backlog.is_empty() && self.outstanding.is_empty();
        match self.mode {
            Mode::Load { next, end } => next >= end && nothing_in_flight,
            Mode::Run => now_ns >= self.window.end_ns && nothing_in_flight,
        }
    }

    /// Requests outstanding (sent, not answered).
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Replies that were errors so far.
    pub fn errors(&self) -> u64 {
        self.stats.counts.errors
    }

    /// Sets acknowledged while loading.
    pub fn loaded(&self) -> u64 {
        self.loaded
    }

    /// Ends the connection: measured requests still unsent or unanswered count as
    /// skipped (added to those `-S` dropped). Returns its statistics.
    pub fn finish(mut self) -> Stats {
        let unsent = self
            .backlog
            .iter()
            .filter(|&&t| self.is_measured(t))
            .count();
        let unanswered = self
            .outstanding
            .iter()
            .filter(|p| self.is_measured(p.scheduled_ns))
            .count();
        self.stats.counts.skipped += (unsent + unanswered) as u64;
        self.stats
    }
}

#[cfg(test)]
mod pacing_tests;
#[cfg(test)]
mod tests;
