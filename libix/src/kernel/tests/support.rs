//! What the kernel-transport tests share: a handler made of closures, a log of what
//! it saw, a driver that turns a thread until a condition holds, and a small
//! configuration.

use crate::kernel::{KernelConfig, KernelThread};
use crate::{Calls, CloseReason, Completion, ConnId, Event, EventBatch, Handler};
use ix_nic::heap::HeapPool;
use std::cell::RefCell;
use std::net::{Ipv4Addr, TcpListener};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The only address the tests use: every socket is on loopback.
pub(super) const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// How long [`drive`] waits for a condition before failing the test.
pub(super) const LIMIT: Duration = Duration::from_secs(20);

/// A handler made of two closures.
pub(super) struct Script<S, E> {
    start: Option<S>,
    events: E,
}

impl<S, E> Handler<HeapPool> for Script<S, E>
where
    S: FnOnce(&mut Calls<'_, HeapPool>),
    E: FnMut(&mut EventBatch<HeapPool>, &mut Calls<'_, HeapPool>),
{
    /// Runs the `start` closure (once).
    fn start(&mut self, calls: &mut Calls<'_, HeapPool>) {
        if let Some(s) = self.start.take() {
            s(calls);
        }
    }
    /// Runs the `events` closure on the batch.
    fn events(&mut self, batch: &mut EventBatch<HeapPool>, calls: &mut Calls<'_, HeapPool>) {
        (self.events)(batch, calls);
    }
}

/// A handler running `start` once, then `events` on every batch.
pub(super) fn script<S, E>(start: S, events: E) -> Script<S, E>
where
    S: FnOnce(&mut Calls<'_, HeapPool>),
    E: FnMut(&mut EventBatch<HeapPool>, &mut Calls<'_, HeapPool>),
{
    Script {
        start: Some(start),
        events,
    }
}

/// A handler running `start` once, then for every batch: records it in `log`, and
/// hands each of its events to `on`, in order.
pub(super) fn recorder<S, F>(log: &Log, start: S, mut on: F) -> impl Handler<HeapPool>
where
    S: FnOnce(&mut Calls<'_, HeapPool>),
    F: FnMut(Event<HeapPool>, &mut Calls<'_, HeapPool>),
{
    let log = Rc::clone(log);
    script(start, move |batch, calls| {
        record(&log, batch);
        for ev in batch.drain() {
            on(ev, calls);
        }
    })
}

/// Turns `th` until `done` holds; panics after [`LIMIT`].
pub(super) fn drive<H: Handler<HeapPool>>(
    th: &mut KernelThread<H>,
    mut done: impl FnMut(&KernelThread<H>) -> bool,
) {
    let t0 = Instant::now();
    while !done(th) {
        assert!(t0.elapsed() < LIMIT, "timed out: {:?}", th.stats());
        th.turn(Duration::from_millis(5));
    }
}

/// A port nothing listens on now.
pub(super) fn free_port() -> u16 {
    TcpListener::bind((LOCAL, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The default configuration with small tables and pool (64 connections, 256
/// blocks of 4 KiB).
pub(super) fn small() -> KernelConfig {
    KernelConfig {
        max_conns: 64,
        pool_blocks: 256,
        block_size: 4096,
        ..KernelConfig::default()
    }
}

/// What a raw test handler saw, as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seen {
    Knock(ConnId),
    Connected(ConnId, u64),
    ConnectFailed(u64, CloseReason),
    Recv(ConnId, u64, Vec<u8>),
    Sent(ConnId, u64, usize),
    PeerClosed(ConnId, u64),
    Dead(ConnId, u64, CloseReason),
    Timer(u64),
}

/// `ev` as a plain value (a received segment's bytes copied).
pub(super) fn seen(ev: &Event<HeapPool>) -> Seen {
    match ev {
        Event::Knock { conn, .. } => Seen::Knock(*conn),
        Event::Connected { conn, cookie } => Seen::Connected(*conn, *cookie),
        Event::ConnectFailed { cookie, reason, .. } => Seen::ConnectFailed(*cookie, *reason),
        Event::Recv { conn, cookie, seg } => Seen::Recv(*conn, *cookie, seg.to_vec()),
        Event::Sent {
            conn,
            cookie,
            acked,
        } => Seen::Sent(*conn, *cookie, *acked),
        Event::PeerClosed { conn, cookie } => Seen::PeerClosed(*conn, *cookie),
        Event::Dead {
            conn,
            cookie,
            reason,
        } => Seen::Dead(*conn, *cookie, *reason),
        Event::Timer { token, .. } => Seen::Timer(*token),
    }
}

/// Every event and completion a handler saw, in order (shared with the handler).
pub(super) type Log = Rc<RefCell<(Vec<Seen>, Vec<Completion>)>>;

/// An empty log.
pub(super) fn log() -> Log {
    Rc::new(RefCell::new((Vec::new(), Vec::new())))
}

/// Appends `batch`'s completions and events to `log` (before the handler drains it).
pub(super) fn record(log: &Log, batch: &EventBatch<HeapPool>) {
    let mut l = log.borrow_mut();
    l.1.extend_from_slice(batch.completions());
    for ev in batch.events() {
        l.0.push(seen(ev));
    }
}

/// Whether `log` holds a `Dead` event (of any connection).
pub(super) fn saw_dead(log: &Log) -> bool {
    log.borrow().0.iter().any(|s| matches!(s, Seen::Dead(..)))
}
