//! [`KernelTransport`]: libix's transport over Linux sockets, driven by epoll (mio,
//! edge-triggered), one per thread, sharing nothing.
//!
//! The transport's state lives here; its work is split by concern:
//!
//! - [`token`]: epoll tokens naming listener and connection slots;
//! - [`poll`]: `epoll_wait` and turning readiness into connection flags and queues;
//! - [`table`]: the connection table: slots taken, ended, freed;
//! - [`listen`]: listening sockets and the accept path (`Knock`);
//! - [`connect`]: outgoing connections (non-blocking `connect`, its outcome);
//! - [`service`]: delivering what each connection owes, in libix's order;
//! - [`recv`]: the read path (`readv` into pool blocks) and the receive window;
//! - [`send`]: the send path (queued `SharedBuf` ranges, `sendmsg`, FIN, FIN timeout);
//! - [`calls`]: running the application's calls, one completion each.

mod calls;
mod connect;
mod listen;
mod poll;
mod recv;
mod send;
mod service;
mod table;
mod token;

use super::config::{KernelConfig, MAX_READ_BLOCKS};
use super::conn::{Conn, Final};
use super::error::KernelError;
use super::stats::KernelStats;
use super::timers::FinTimers;
use crate::call::CallQueue;
use crate::error::CloseReason;
use crate::event::EventBatch;
use crate::id::ConnId;
use crate::timers::AppTimers;
use crate::transport::Transport;
use ix_nic::heap::{HeapPool, HeapRx, HeapShared};
use ix_nic::{Clock, CreditLedger, Instant, MonotonicClock};
use listen::Listener;
use mio::{Events, Poll, Waker};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use token::WAKER;

/// The kernel transport of one thread: an epoll instance, the listening sockets, a
/// table of connections, a heap buffer pool, the application's timers.
///
/// Receive: `readv` straight into pool blocks, each filled block handed over as an
/// `RxSeg` carrying a credit; a connection is not read while the bytes its
/// application holds reach [`KernelConfig::recv_window`]. Send: the `SharedBuf`
/// ranges of `send` calls are queued by reference (up to
/// [`KernelConfig::send_buf`]) and written with `sendmsg` (gathering up to 64
/// ranges); references are released as the kernel accepts their bytes, which
/// `Sent` then reports.
pub struct KernelTransport {
    cfg: KernelConfig,
    pool: HeapPool,
    clock: MonotonicClock,
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    listeners: Vec<Option<Listener>>,
    conns: Vec<Conn<HeapShared>>,
    free: Vec<u32>,
    /// Connections with events to deliver or bytes to read, each at most once.
    attention: VecDeque<u32>,
    /// Connections with bytes to write or a FIN due, each at most once.
    tx: Vec<u32>,
    tx_work: Vec<u32>,
    ledger: Rc<CreditLedger>,
    timers: AppTimers,
    fins: FinTimers,
    /// Pool blocks made ready for `readv` and not used yet.
    spares: Vec<HeapRx>,
    /// A block's worth of zeros: what a fresh receive block is made from.
    zeros: Box<[u8]>,
    call_batch: u64,
    stats: KernelStats,
    /// `wait` just polled epoll: the next `poll` need not.
    waited: bool,
    /// Something must be retried soon (the pool, the table or descriptors ran out).
    retry_soon: bool,
}

impl core::fmt::Debug for KernelTransport {
    /// The thread, the connections in the table and the ports listened on.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KernelTransport")
            .field("thread", &self.stats.thread)
            .field("conns", &(self.conns.len() - self.free.len()))
            .field("listeners", &self.listening())
            .finish_non_exhaustive()
    }
}

impl KernelTransport {
    /// Builds thread `thread`'s transport: validates `cfg`, creates the epoll
    /// instance and its waker, allocates the pool and every table now.
    pub fn new(cfg: &KernelConfig, thread: usize) -> Result<Self, KernelError> {
        cfg.validate()?;
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let clock = MonotonicClock::new();
        let now = clock.now();
        // Send queues reserve a little and grow to their bound once, if ever.
        let reserve = cfg.send_pieces.min(16);
        Ok(KernelTransport {
            pool: HeapPool::new(cfg.pool_blocks, cfg.block_size),
            events: Events::with_capacity(cfg.batch),
            waker,
            poll,
            listeners: (0..cfg.max_listeners).map(|_| None).collect(),
            conns: (0..cfg.max_conns).map(|_| Conn::new(reserve)).collect(),
            free: (0..cfg.max_conns as u32).rev().collect(),
            attention: VecDeque::with_capacity(cfg.max_conns),
            tx: Vec::with_capacity(cfg.max_conns),
            tx_work: Vec::with_capacity(cfg.max_conns),
            ledger: CreditLedger::new(cfg.max_conns),
            timers: AppTimers::new(cfg.max_timers, cfg.timer_tick, now),
            fins: FinTimers::new(cfg.max_conns, now),
            spares: Vec::with_capacity(MAX_READ_BLOCKS),
            zeros: vec![0u8; cfg.block_size].into_boxed_slice(),
            call_batch: 0,
            stats: KernelStats {
                thread,
                ..KernelStats::default()
            },
            waited: false,
            retry_soon: false,
            clock,
            cfg: cfg.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &KernelConfig {
        &self.cfg
    }

    /// What wakes this transport's thread out of [`KernelTransport::wait`] from
    /// another thread.
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// The ports listened on now (the kernel's choice for a `listen(0)`).
    pub fn listening(&self) -> Vec<u16> {
        self.listeners.iter().flatten().map(|l| l.port).collect()
    }

    /// Connections in the table now (knocking, connecting, open, or owing their
    /// last event).
    pub fn conn_count(&self) -> usize {
        self.conns.len() - self.free.len()
    }

    /// Received bytes the application holds unreleased on `conn` (its receive
    /// window used), if the connection is live.
    pub fn unreleased(&self, conn: ConnId) -> Option<usize> {
        self.lookup(conn).ok().map(|i| self.conns[i].outstanding)
    }

    /// Bytes queued to send on `conn` and not yet accepted by the kernel.
    pub fn unsent(&self, conn: ConnId) -> Option<usize> {
        self.lookup(conn).ok().map(|i| self.conns[i].sendq.bytes())
    }

    /// Pool blocks the transport holds ready for its next reads (the rest of the
    /// pool's blocks in use are the application's segments and payload).
    pub fn spare_blocks(&self) -> usize {
        self.spares.len()
    }

    /// The counters so far.
    pub fn stats(&self) -> KernelStats {
        KernelStats {
            conns: self.conn_count(),
            timers: self.timers.armed(),
            ..self.stats
        }
    }

    /// Resets `conn` on the runtime's own initiative (its handler panicked): RST out,
    /// the id refused from now on, and a `Dead { Aborted }` event in a later batch.
    /// Returns whether it was live.
    pub fn reset(&mut self, conn: ConnId) -> bool {
        let Ok(i) = self.lookup(conn) else {
            return false;
        };
        self.conns[i].gone = true;
        self.end(i, Final::Dead(CloseReason::Aborted), true);
        true
    }
}

impl Transport for KernelTransport {
    type Pool = HeapPool;

    /// The thread's heap pool (receive blocks and payload buffers).
    fn pool(&self) -> &HeapPool {
        &self.pool
    }

    /// The thread's monotonic clock.
    fn now(&self) -> Instant {
        self.clock.now()
    }

    /// One round without blocking: credits back, epoll (unless [`KernelTransport::wait`]
    /// just did), pending writes, due timers and FIN timeouts, then new and
    /// established connections' events while `batch` has room.
    fn poll(&mut self, batch: &mut EventBatch<HeapPool>) -> usize {
        let now = self.clock.now();
        batch.set_now(now);
        self.retry_soon = false;
        self.drain_credits();
        if !std::mem::take(&mut self.waited) {
            self.io(Some(Duration::ZERO));
        }
        // Sockets that became writable take what is queued (Sent follows below).
        self.write_pending();
        let before = batch.len();
        self.timers.fire_into(now, batch);
        self.fin_timeouts(now);
        // New connections get up to half the batch first, established ones the
        // rest, then new ones whatever is left: neither starves the other.
        self.accept(batch, batch.room().div_ceil(2));
        self.service_all(batch);
        self.accept(batch, usize::MAX);
        batch.len() - before
    }

    /// Runs `calls` in order as a new call batch (what `EarlierSendShort` counts in),
    /// one completion each into `batch`.
    fn execute(&mut self, calls: &mut CallQueue<HeapPool>, batch: &mut EventBatch<HeapPool>) {
        self.call_batch += 1;
        for call in calls.drain() {
            let done = self.run(call);
            batch.complete(done);
        }
    }

    /// Writes what the calls queued (and FINs due) now.
    fn flush(&mut self) {
        self.write_pending();
    }
}
