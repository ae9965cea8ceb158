//! [`LoadDriver`]: the load generator's connections as a libix [`Handler`] on an
//! elastic thread, on the raw batch interface (generic over the pool, so it runs on
//! any libix transport).
//!
//! The runner's thread hands it [`Command`]s (open a connection, drive the
//! connections until done or a deadline, close them) and waits for the [`Reply`].
//! The driver looks for commands at every batch and, when idle, at a timer every
//! [`MAILBOX`].
//!
//! **Send times.** libix timers have the runtime's tick (100 µs), so a send done at
//! a timer could be up to a tick late. Instead the driver polls the clock at every
//! batch: due arrivals are sent in the first batch at or after their time. Within
//! [`SPIN_NS`] of the next arrival it makes the elastic thread run a batch every
//! loop iteration, by always having one call whose completion comes with the next
//! batch (it arms, then cancels, a far timer, alternately); so a send leaves within
//! one loop iteration (a NIC poll and a handler run: a few µs on a DPDK tap)
//! of its scheduled time. Further ahead it sleeps on a timer set [`SPIN_NS`] early,
//! which the tick cannot make late enough to matter. Replies are timed at the batch
//! that received them. When the instance's cores are shared (the spec's
//! `idle_backoff`), a batch that found nothing to do yields the core before the
//! next iteration, so a server pinned to the same core still runs.

use super::commands::{Command, Job, Reply};
use super::link::{Link, LinkState, SendOutcome};
use ix_nic::BufPool;
use libix::{Calls, Completion, Event, EventBatch, Handler, TimerId};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

/// How often an idle driver looks for commands.
pub const MAILBOX: Duration = Duration::from_micros(200);
/// Closer than this to the next arrival, the driver polls the clock every iteration.
pub const SPIN_NS: u64 = 300_000;
/// Timer token of the wake-ups (arrivals, mailbox).
const WAKE_TOKEN: u64 = 1;
/// Timer token of the far timer armed and cancelled to get a batch every iteration.
const POLL_TOKEN: u64 = 2;
/// The far timer's delay (it is always cancelled long before).
const POLL_FAR: Duration = Duration::from_secs(3600);

/// The alternating far timer that guarantees a batch every iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Poll {
    /// No call in flight, no far timer armed.
    Idle,
    /// A set or a cancel is in flight: its completion comes with the next batch.
    InFlight,
    /// The far timer is armed.
    Armed(TimerId),
}

/// The load generator's connections on one elastic thread.
pub struct LoadDriver {
    commands: Receiver<Command>,
    replies: Sender<Reply>,
    links: Vec<Link>,
    /// Link index of each stack connection id's slot.
    by_slot: Vec<Option<usize>>,
    job: Option<Job>,
    /// Next arrival of each connection, earliest first (stale entries are harmless).
    due: BinaryHeap<Reverse<(u64, usize)>>,
    queued: Vec<u64>,
    connecting: Option<usize>,
    closing: bool,
    poll: Poll,
    /// When the latest wake timer fires.
    wake_at: Option<std::time::Instant>,
    error: Option<String>,
    /// Yield the core after a batch with nothing to do (shared cores).
    share_core: bool,
    /// Whether the current batch did anything.
    busy: bool,
}

impl core::fmt::Debug for LoadDriver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoadDriver")
            .field("links", &self.links.len())
            .field("driving", &self.job.is_some())
            .finish_non_exhaustive()
    }
}

impl LoadDriver {
    /// A driver taking commands from `commands` and answering on `replies`; with
    /// `share_core`, it yields the core after batches with nothing to do.
    pub fn new(commands: Receiver<Command>, replies: Sender<Reply>, share_core: bool) -> Self {
        LoadDriver {
            commands,
            replies,
            links: Vec::new(),
            by_slot: Vec::new(),
            job: None,
            due: BinaryHeap::new(),
            queued: Vec::new(),
            connecting: None,
            closing: false,
            poll: Poll::Idle,
            wake_at: None,
            error: None,
            share_core,
            busy: false,
        }
    }

    fn fail(&mut self, what: String) {
        self.error.get_or_insert(what);
    }

    fn link_of(&self, id: libix::ConnId) -> Option<usize> {
        self.by_slot.get(id.index()).copied().flatten()
    }

    /// Ticks connection `i` at `now`, sends what it has, and queues its next arrival.
    fn touch<P: BufPool>(&mut self, i: usize, now: u64, calls: &mut Calls<'_, P>) {
        let (Some(job), Some(link)) = (self.job.as_mut(), self.links.get_mut(i)) else {
            return;
        };
        let Some(conn) = job.conns.get_mut(i) else {
            return;
        };
        self.busy = true;
        conn.tick(now);
        link.pump(conn, calls);
        if let Some(next) = conn.next_wakeup(now) {
            if self.queued.get(i).is_some_and(|&q| next < q) {
                self.due.push(Reverse((next, i)));
                self.queued[i] = next;
            }
        }
    }

    fn completion<P: BufPool>(&mut self, c: Completion, now: u64, calls: &mut Calls<'_, P>) {
        match c {
            Completion::Send {
                conn,
                requested,
                result,
            } => {
                let Some(i) = self.link_of(conn) else { return };
                let outcome = self.links[i].completed(requested, result);
                match outcome {
                    SendOutcome::Took(n) => {
                        if let Some(c) = self.job.as_mut().and_then(|j| j.conns.get_mut(i)) {
                            c.tx_advance(n);
                        }
                        self.touch(i, now, calls);
                    }
                    SendOutcome::Failed(e) => {
                        if self.links[i].state == LinkState::Open {
                            self.fail(format!("a send failed: {e}"));
                        }
                    }
                }
            }
            Completion::Connect { cookie, result, .. } => {
                let i = cookie as usize;
                match result {
                    Ok(id) => {
                        if self.by_slot.len() <= id.index() {
                            self.by_slot.resize(id.index() + 1, None);
                        }
                        self.by_slot[id.index()] = Some(i);
                        if let Some(l) = self.links.get_mut(i) {
                            l.id = Some(id);
                        }
                    }
                    Err(e) => self.connect_done(i, Err(format!("connect refused: {e}"))),
                }
            }
            Completion::SetTimer {
                token: POLL_TOKEN,
                result,
            } => {
                self.poll = match result {
                    Ok(id) => Poll::Armed(id),
                    Err(_) => Poll::Idle,
                };
            }
            Completion::CancelTimer { .. } if self.poll == Poll::InFlight => {
                self.poll = Poll::Idle;
            }
            _ => {}
        }
    }

    fn connect_done(&mut self, i: usize, result: Result<(), String>) {
        if let Some(l) = self.links.get_mut(i) {
            l.state = if result.is_ok() {
                LinkState::Open
            } else {
                LinkState::Gone
            };
        }
        if self.connecting == Some(i) {
            self.connecting = None;
            let _ = self.replies.send(Reply::Connected(result));
        }
    }

    fn event<P: BufPool>(&mut self, ev: Event<P>, now: u64, calls: &mut Calls<'_, P>) {
        match ev {
            Event::Knock { conn, .. } => {
                let _ = calls.reject(conn);
            }
            Event::Connected { cookie, .. } => self.connect_done(cookie as usize, Ok(())),
            Event::ConnectFailed { cookie, reason, .. } => {
                self.connect_done(cookie as usize, Err(format!("connect failed: {reason:?}")));
            }
            Event::Recv { cookie, seg, .. } => {
                let i = cookie as usize;
                if let Some(conn) = self.job.as_mut().and_then(|j| j.conns.get_mut(i)) {
                    if let Err(e) = conn.on_rx(seg.data(), now) {
                        self.fail(e.to_string());
                    }
                }
                drop(seg);
                self.touch(i, now, calls);
            }
            Event::Sent { cookie, .. } => {
                let i = cookie as usize;
                if let Some(l) = self.links.get_mut(i) {
                    l.unblock();
                }
                self.touch(i, now, calls);
            }
            Event::PeerClosed { cookie, conn } => {
                if let Some(l) = self.links.get_mut(cookie as usize) {
                    if l.state == LinkState::Open {
                        self.error
                            .get_or_insert("the server closed a connection".into());
                        l.state = LinkState::Closing;
                        let _ = calls.close(conn);
                    }
                }
            }
            Event::Dead { cookie, reason, .. } => {
                let i = cookie as usize;
                if let Some(l) = self.links.get_mut(i) {
                    if l.state == LinkState::Open {
                        self.error
                            .get_or_insert(format!("a connection ended: {reason:?}"));
                    }
                    l.state = LinkState::Gone;
                }
            }
            Event::Timer {
                token: WAKE_TOKEN, ..
            } => self.wake_at = None,
            Event::Timer { .. } => {}
        }
    }

    fn command<P: BufPool>(&mut self, cmd: Command, now: u64, calls: &mut Calls<'_, P>) {
        match cmd {
            Command::Connect(addr) => {
                let i = self.links.len();
                self.links.push(Link::connecting());
                self.queued.push(u64::MAX);
                self.connecting = Some(i);
                if let Err(e) = calls.connect(addr, i as u64) {
                    self.connect_done(i, Err(format!("connect to {addr}: {e}")));
                }
            }
            Command::Drive(job) => {
                if job.conns.len() != self.links.len() {
                    let result = Err("connections and links differ in number".into());
                    let _ = self.replies.send(Reply::Driven {
                        conns: job.conns,
                        result,
                    });
                    return;
                }
                self.due.clear();
                self.queued.iter_mut().for_each(|q| *q = u64::MAX);
                let now = job.clock.now_ns().max(now);
                self.job = Some(job);
                for i in 0..self.links.len() {
                    self.touch(i, now, calls);
                }
            }
            Command::CloseAll => {
                for l in &mut self.links {
                    if matches!(l.state, LinkState::Open | LinkState::Connecting) {
                        let closed = l.id.is_some_and(|id| calls.close(id).is_ok());
                        l.state = if closed {
                            LinkState::Closing
                        } else {
                            LinkState::Gone
                        };
                    }
                }
                self.closing = true;
            }
        }
    }

    /// Sends what is due, finishes the job if it is over, answers a finished close.
    fn service<P: BufPool>(&mut self, calls: &mut Calls<'_, P>) {
        let Some(clock) = self.job.as_ref().map(|j| j.clock) else {
            return;
        };
        let now = clock.now_ns();
        while let Some(&Reverse((t, i))) = self.due.peek() {
            if t > now {
                break;
            }
            self.due.pop();
            if self.queued.get(i) == Some(&t) {
                self.queued[i] = u64::MAX;
            }
            self.touch(i, now, calls);
        }
        let Some(job) = self.job.as_ref() else { return };
        let result = if let Some(e) = self.error.take() {
            Some(Err(e))
        } else if job.conns.iter().all(|c| c.is_done(now)) {
            Some(Ok(true))
        } else if now >= job.deadline_ns {
            Some(Ok(false))
        } else {
            None
        };
        if let Some(result) = result {
            if let Some(job) = self.job.take() {
                let _ = self.replies.send(Reply::Driven {
                    conns: job.conns,
                    result,
                });
            }
        }
    }

    /// Arranges the next batch: every iteration when an arrival is near, else a
    /// timer shortly before it (or the mailbox's).
    fn plan<P: BufPool>(&mut self, calls: &mut Calls<'_, P>) {
        let next = self.job.as_ref().map(|j| {
            let now = j.clock.now_ns();
            let due = self.due.peek().map_or(u64::MAX, |Reverse((t, _))| *t);
            (due.min(j.deadline_ns), now)
        });
        let spin = next.is_some_and(|(t, now)| t <= now + SPIN_NS);
        let call = match (spin, self.poll) {
            (true, Poll::Idle) => Some(calls.set_timer(POLL_TOKEN, POLL_FAR)),
            (_, Poll::Armed(id)) => Some(calls.cancel_timer(id)),
            _ => None,
        };
        if call.is_some_and(|r| r.is_ok()) {
            self.poll = Poll::InFlight;
        }
        if spin && self.poll == Poll::InFlight {
            if self.share_core && !self.busy {
                // Not per packet: only in a batch that had nothing to do.
                std::thread::yield_now();
            }
            return;
        }
        let after = match next {
            Some((t, now)) => Duration::from_nanos(t.saturating_sub(now + SPIN_NS)).min(MAILBOX),
            None => MAILBOX,
        };
        let at = std::time::Instant::now() + after;
        let sooner = !matches!(self.wake_at, Some(w) if w <= at);
        if sooner && calls.set_timer(WAKE_TOKEN, after).is_ok() {
            self.wake_at = Some(at);
        }
    }

    fn finish_close(&mut self) {
        if self.closing && self.links.iter().all(|l| l.state == LinkState::Gone) {
            self.closing = false;
            self.links.clear();
            self.queued.clear();
            self.by_slot.iter_mut().for_each(|s| *s = None);
            self.error = None;
            let _ = self.replies.send(Reply::Closed);
        }
    }
}

impl<P: BufPool> Handler<P> for LoadDriver {
    fn start(&mut self, calls: &mut Calls<'_, P>) {
        self.plan(calls);
    }

    fn events(&mut self, batch: &mut EventBatch<P>, calls: &mut Calls<'_, P>) {
        let now = self.job.as_ref().map_or(0, |j| j.clock.now_ns());
        self.busy = !batch.is_empty();
        for k in 0..batch.completions().len() {
            if let Some(&c) = batch.completions().get(k) {
                self.completion(c, now, calls);
            }
        }
        for ev in batch.drain() {
            self.event(ev, now, calls);
        }
        while let Ok(cmd) = self.commands.try_recv() {
            self.command(cmd, now, calls);
        }
        self.service(calls);
        self.finish_close();
        self.plan(calls);
    }
}
