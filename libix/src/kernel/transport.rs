//! [`KernelTransport`]: libix's transport over Linux sockets, driven by epoll (mio,
//! edge-triggered), one per thread, sharing nothing.

use super::config::{KernelConfig, MAX_READ_BLOCKS, MAX_WRITE_PIECES};
use super::conn::{Conn, Final, Phase};
use super::error::{
    close_reason, connect_error, interrupted, listen_error, would_block, KernelError,
};
use super::stats::KernelStats;
use super::timers::FinTimers;
use crate::call::{Call, CallQueue};
use crate::completion::Completion;
use crate::error::{CallError, CloseReason};
use crate::event::{Event, EventBatch};
use crate::id::ConnId;
use crate::timers::AppTimers;
use crate::transport::Transport;
use arrayvec::ArrayVec;
use core::ops::Range;
use ix_nic::heap::{HeapPool, HeapRx, HeapShared};
use ix_nic::{Clock, CreditLedger, Instant, MonotonicClock, RxBuf, RxSeg, SharedBuf};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::collections::VecDeque;
use std::io::{IoSliceMut, Read};
use std::net::{Shutdown, SocketAddr, SocketAddrV4};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

// Connection tokens carry a 32-bit slot index and a 32-bit generation.
const _: () = assert!(
    usize::BITS == 64,
    "the kernel transport needs 64-bit tokens"
);

/// The token of the thread's waker (the stop handle's way in).
const WAKER: Token = Token(usize::MAX);

/// Tokens at or above this are connections (generation << 32 | slot); below it,
/// listener slots.
const CONN_TOKENS: usize = 1 << 32;

/// How long an idle wait lasts at most when something must be retried (the pool was
/// empty, the connection table full, descriptors ran out).
const RETRY: Duration = Duration::from_millis(1);

fn conn_token(index: usize, gen: u32) -> Token {
    Token(((gen as usize) << 32) | index)
}

fn token_conn(t: Token) -> Option<(usize, u32)> {
    (t.0 >= CONN_TOKENS && t != WAKER).then_some((t.0 & 0xffff_ffff, (t.0 >> 32) as u32))
}

/// The generation after `gen` (never 0, so a connection token is never below
/// [`CONN_TOKENS`]).
fn next_gen(gen: u32) -> u32 {
    gen.wrapping_add(1).max(1)
}

/// A listening socket of this thread.
#[derive(Debug)]
struct Listener {
    /// The port it is bound to (the kernel's choice when `listen(0)`).
    port: u16,
    /// The port the application asked for (what `unlisten` names).
    asked: u16,
    sock: TcpListener,
    /// Connections may be waiting in its accept queue.
    ready: bool,
}

/// What servicing a connection came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Nothing more to do until epoll, a call or a released segment says so.
    Done,
    /// More is likely waiting: service it again in a later round.
    Again,
    /// The batch is full: service it first next time.
    Full,
}

/// What one read came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadOutcome {
    /// Nothing (more) to read now.
    Idle,
    /// Read a full set of blocks (or the peer's FIN is pending): read again later.
    More,
    /// The batch is full.
    Full,
    /// The connection failed (its phase is `Ending`).
    Failed,
}

/// Queues slot `i` for servicing once.
fn enqueue(c: &mut Conn<HeapShared>, i: usize, q: &mut VecDeque<u32>) {
    if !c.in_attention {
        c.in_attention = true;
        q.push_back(i as u32);
    }
}

/// Puts slot `i` on the transmit list once.
fn tx_add(c: &mut Conn<HeapShared>, i: usize, tx: &mut Vec<u32>) {
    if !c.in_tx {
        c.in_tx = true;
        tx.push(i as u32);
    }
}

/// A non-blocking listening socket with `SO_REUSEADDR` and `SO_REUSEPORT` (so every
/// thread of an instance listens on the same port and the kernel spreads
/// connections over them).
fn bind_listener(addr: SocketAddrV4, backlog: i32) -> std::io::Result<std::net::TcpListener> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::V4(addr).into())?;
    s.listen(backlog)?;
    Ok(s.into())
}

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

    /// Blocks in epoll until something happens, the next timer is due, or `max`
    /// passes (`None`: no bound but the timers); returns at once if work is already
    /// waiting. What epoll reports is taken in for the next [`Transport::poll`].
    pub fn wait(&mut self, max: Option<Duration>) {
        let now = self.clock.now();
        let cap = |t: Option<Duration>, d: Duration| Some(t.map_or(d, |t| t.min(d)));
        let mut timeout = max;
        let deadlines = [self.timers.next_deadline(), self.fins.next_deadline()];
        for d in deadlines.into_iter().flatten() {
            timeout = cap(timeout, d.saturating_since(now));
        }
        let ready_listener = self.listeners.iter().flatten().any(|l| l.ready);
        if self.retry_soon {
            timeout = cap(timeout, RETRY);
        } else if !self.attention.is_empty() || ready_listener || !self.tx.is_empty() {
            timeout = Some(Duration::ZERO);
        }
        self.io(timeout);
        self.waited = true;
    }

    /// One `epoll_wait`; readiness goes into the connections' flags and queues.
    fn io(&mut self, timeout: Option<Duration>) {
        self.stats.epoll_waits += 1;
        if self.poll.poll(&mut self.events, timeout).is_err() {
            // EINTR: nothing was reported; the next round polls again.
            return;
        }
        for ev in self.events.iter() {
            self.stats.readiness += 1;
            let t = ev.token();
            if t == WAKER {
                continue;
            }
            let Some((i, gen)) = token_conn(t) else {
                if let Some(Some(l)) = self.listeners.get_mut(t.0) {
                    l.ready = true;
                }
                continue;
            };
            let Some(c) = self.conns.get_mut(i) else {
                continue;
            };
            if c.gen != gen || matches!(c.phase, Phase::Free | Phase::Ending) {
                continue;
            }
            let err = ev.is_error();
            if ev.is_readable() || ev.is_read_closed() || err {
                c.readable = true;
            }
            if ev.is_read_closed() || err {
                c.rdhup = true;
            }
            if ev.is_writable() || ev.is_write_closed() || err {
                c.writable = true;
            }
            match c.phase {
                Phase::Connecting => enqueue(c, i, &mut self.attention),
                Phase::Open => {
                    if c.readable {
                        enqueue(c, i, &mut self.attention);
                    }
                    if c.writable && c.tx_due() {
                        tx_add(c, i, &mut self.tx);
                    }
                }
                _ => {}
            }
        }
    }

    /// Segments the application dropped give their bytes back to their connections'
    /// windows; a connection stalled on its window is read again.
    fn drain_credits(&mut self) {
        let window = self.cfg.recv_window;
        let conns = &mut self.conns;
        let attention = &mut self.attention;
        self.ledger.drain(|slot, gen, bytes| {
            let i = slot as usize;
            let Some(c) = conns.get_mut(i) else {
                return;
            };
            if c.credit_gen != gen || c.phase == Phase::Free {
                return;
            }
            let was_full = c.outstanding >= window;
            c.outstanding = c.outstanding.saturating_sub(bytes as usize);
            if was_full && c.outstanding < window && c.readable && c.phase == Phase::Open {
                enqueue(c, i, attention);
            }
        });
    }

    /// The slot of `conn` if the application may still name it.
    fn lookup(&self, conn: ConnId) -> Result<usize, CallError> {
        let i = conn.index();
        match self.conns.get(i) {
            Some(c) if c.gen == conn.generation() && c.phase != Phase::Free && !c.gone => Ok(i),
            _ => Err(CallError::NoSuchConnection),
        }
    }

    /// Takes a free slot for `sock` and registers it with epoll; `None` (and the
    /// socket closed) if the table is full or registration fails.
    fn adopt(
        &mut self,
        mut sock: TcpStream,
        phase: Phase,
        port: u16,
        cookie: u64,
    ) -> Option<ConnId> {
        let i = self.free.pop()? as usize;
        if self.cfg.nodelay {
            let _ = sock.set_nodelay(true);
        }
        let gen = self.conns[i].gen;
        let interest = Interest::READABLE | Interest::WRITABLE;
        if self
            .poll
            .registry()
            .register(&mut sock, conn_token(i, gen), interest)
            .is_err()
        {
            self.free.push(i as u32);
            return None;
        }
        let credit_gen = self.ledger.open(i as u32);
        let c = &mut self.conns[i];
        c.open(phase, sock, port, cookie);
        c.credit_gen = credit_gen;
        // An established socket may have data and room already: try at once (the
        // first read or write that finds nothing clears the flag).
        let established = phase != Phase::Connecting;
        c.readable = established;
        c.writable = established;
        Some(ConnId::new(i as u32, gen))
    }

    /// Closes slot `i`'s socket (with a RST if `reset`) and frees the slot: its id
    /// is invalid from now on and no event follows.
    fn free_slot(&mut self, i: usize, reset: bool) {
        self.drop_socket(i, reset);
        let c = &mut self.conns[i];
        c.phase = Phase::Free;
        c.gone = false;
        c.final_event = None;
        c.gen = next_gen(c.gen);
        self.free.push(i as u32);
    }

    /// Closes slot `i`'s socket (if any) and drops what it had queued to send.
    fn drop_socket(&mut self, i: usize, reset: bool) {
        let c = &mut self.conns[i];
        if let Some(mut s) = c.sock.take() {
            if reset {
                // SO_LINGER 0: close sends a RST and forgets the connection.
                let _ = SockRef::from(&s).set_linger(Some(Duration::ZERO));
            }
            let _ = self.poll.registry().deregister(&mut s);
        }
        if let Some(t) = c.fin_timer.take() {
            self.fins.cancel(t);
        }
        c.sendq.clear();
        c.acked = 0;
    }

    /// Ends slot `i`: the socket is closed now (with a RST if `reset`), `last` is
    /// owed to the application.
    fn end(&mut self, i: usize, last: Final, reset: bool) {
        self.drop_socket(i, reset);
        let c = &mut self.conns[i];
        c.phase = Phase::Ending;
        c.final_event = Some(last);
        enqueue(c, i, &mut self.attention);
    }

    /// The socket of slot `i` failed with `reason`.
    fn fail(&mut self, i: usize, reason: CloseReason) {
        let last = if self.conns[i].phase == Phase::Connecting {
            Final::ConnectFailed(reason)
        } else {
            Final::Dead(reason)
        };
        self.end(i, last, false);
    }

    /// Accepts waiting connections (each a `Knock`) while `limit` and the batch allow.
    fn accept(&mut self, batch: &mut EventBatch<HeapPool>, limit: usize) {
        let mut taken = 0;
        for li in 0..self.listeners.len() {
            loop {
                if taken >= limit || batch.room() == 0 {
                    return;
                }
                let Some(l) = self.listeners[li].as_mut().filter(|l| l.ready) else {
                    break;
                };
                if self.free.is_empty() {
                    self.stats.accept_deferred += 1;
                    self.retry_soon = true;
                    return;
                }
                let port = l.port;
                match l.sock.accept() {
                    Ok((sock, SocketAddr::V4(remote))) => {
                        if let Some(conn) = self.adopt(sock, Phase::Knocking, port, 0) {
                            self.stats.accepted += 1;
                            taken += 1;
                            let _ = batch.push(Event::Knock {
                                conn,
                                local_port: port,
                                remote,
                            });
                        }
                    }
                    Ok(_) => {} // not IPv4: cannot be named by libix; closed.
                    Err(e) if would_block(&e) => l.ready = false,
                    Err(e) if interrupted(&e) => {}
                    Err(e) => {
                        self.stats.accept_errors += 1;
                        if matches!(
                            e.raw_os_error(),
                            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                        ) {
                            self.retry_soon = true;
                            return;
                        }
                        // ECONNABORTED and the like: that one is gone; go on.
                    }
                }
            }
        }
    }

    /// Services connections on the attention queue (each at most once per round)
    /// while the batch has room.
    fn service_all(&mut self, batch: &mut EventBatch<HeapPool>) {
        let mut budget = self.attention.len();
        while budget > 0 && batch.room() > 0 {
            budget -= 1;
            let Some(i) = self.attention.pop_front() else {
                return;
            };
            let i = i as usize;
            self.conns[i].in_attention = false;
            match self.service(i, batch) {
                Next::Done => {}
                Next::Again => enqueue(&mut self.conns[i], i, &mut self.attention),
                Next::Full => {
                    self.conns[i].in_attention = true;
                    self.attention.push_front(i as u32);
                    return;
                }
            }
        }
    }

    /// Delivers what slot `i` owes, in the order libix promises: `Connected`, `Sent`,
    /// `Recv`s, `PeerClosed`, then `Dead` / `ConnectFailed` (which free the slot).
    fn service(&mut self, i: usize, batch: &mut EventBatch<HeapPool>) -> Next {
        match self.conns[i].phase {
            Phase::Free | Phase::Knocking => return Next::Done,
            Phase::Connecting => {
                if !self.check_connect(i) {
                    return Next::Done;
                }
            }
            Phase::Open | Phase::Ending => {}
        }
        if self.conns[i].phase == Phase::Ending {
            return self.finish(i, batch);
        }
        let c = &mut self.conns[i];
        let (conn, cookie) = (ConnId::new(i as u32, c.gen), c.cookie);
        if c.connected_due {
            if batch.push(Event::Connected { conn, cookie }).is_err() {
                return Next::Full;
            }
            c.connected_due = false;
        }
        if c.acked > 0 {
            let acked = c.acked;
            if batch
                .push(Event::Sent {
                    conn,
                    cookie,
                    acked,
                })
                .is_err()
            {
                return Next::Full;
            }
            c.acked = 0;
        }
        let mut more = false;
        if c.readable && !c.eof {
            match self.read(i, conn, batch) {
                ReadOutcome::Idle => {}
                ReadOutcome::More => more = true,
                ReadOutcome::Full => return Next::Full,
                ReadOutcome::Failed => return self.finish(i, batch),
            }
        }
        let c = &mut self.conns[i];
        if c.eof && !c.peer_closed_sent {
            if batch.push(Event::PeerClosed { conn, cookie }).is_err() {
                return Next::Full;
            }
            c.peer_closed_sent = true;
        }
        if c.peer_closed_sent && c.shutdown_done {
            let reason = CloseReason::Closed;
            if batch
                .push(Event::Dead {
                    conn,
                    cookie,
                    reason,
                })
                .is_err()
            {
                return Next::Full;
            }
            self.stats.closed += 1;
            self.free_slot(i, false);
            return Next::Done;
        }
        if more {
            Next::Again
        } else {
            Next::Done
        }
    }

    /// Delivers an ending connection's last event and frees its slot.
    fn finish(&mut self, i: usize, batch: &mut EventBatch<HeapPool>) -> Next {
        let c = &self.conns[i];
        let (conn, cookie) = (ConnId::new(i as u32, c.gen), c.cookie);
        let ev = match c.final_event {
            Some(Final::Dead(reason)) => Event::Dead {
                conn,
                cookie,
                reason,
            },
            Some(Final::ConnectFailed(reason)) => Event::ConnectFailed {
                conn,
                cookie,
                reason,
            },
            None => {
                self.free_slot(i, false);
                return Next::Done;
            }
        };
        if batch.push(ev).is_err() {
            return Next::Full;
        }
        if matches!(c.final_event, Some(Final::Dead(CloseReason::Closed))) {
            self.stats.closed += 1;
        } else {
            self.stats.failed += 1;
        }
        self.free_slot(i, false);
        Next::Done
    }

    /// Whether a connecting socket has an outcome: established (phase `Open`,
    /// `Connected` owed) or failed (phase `Ending`).
    fn check_connect(&mut self, i: usize) -> bool {
        let c = &mut self.conns[i];
        let Some(s) = c.sock.as_ref() else {
            return false;
        };
        if !c.writable && !c.readable {
            return false;
        }
        let outcome = match s.take_error() {
            Ok(Some(e)) | Err(e) => Err(e),
            Ok(None) => match s.peer_addr() {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Ok(false),
                Err(e) => Err(e),
            },
        };
        match outcome {
            Ok(true) => {
                c.phase = Phase::Open;
                c.connected_due = true;
                c.writable = true;
                if c.tx_due() {
                    tx_add(c, i, &mut self.tx);
                }
                true
            }
            Ok(false) => {
                c.readable = false;
                c.writable = false;
                false
            }
            Err(e) => {
                self.fail(i, close_reason(&e));
                true
            }
        }
    }

    /// One `readv` into pool blocks; each filled block becomes a `Recv`.
    fn read(&mut self, i: usize, conn: ConnId, batch: &mut EventBatch<HeapPool>) -> ReadOutcome {
        let bs = self.cfg.block_size;
        let window = self.cfg.recv_window;
        let c = &mut self.conns[i];
        if c.outstanding >= window {
            self.stats.window_stalls += 1;
            return ReadOutcome::Idle;
        }
        let room = batch.room();
        if room == 0 {
            return ReadOutcome::Full;
        }
        let want = room
            .min(self.cfg.read_blocks)
            .min((window - c.outstanding).div_ceil(bs))
            .max(1);
        while self.spares.len() < want {
            // The heap pool hands out receive blocks only as copies of given bytes:
            // a fresh block is written once with zeros, then the kernel reads into it.
            match self.pool.rx_from(&self.zeros) {
                Ok(rx) => self.spares.push(rx),
                Err(_) => break,
            }
        }
        if self.spares.is_empty() {
            self.stats.rx_no_buffers += 1;
            self.retry_soon = true;
            return ReadOutcome::More;
        }
        let k = want.min(self.spares.len());
        let first = self.spares.len() - k;
        let mut blocks: ArrayVec<HeapRx, MAX_READ_BLOCKS> = self.spares.drain(first..).collect();
        let Some(sock) = c.sock.as_ref() else {
            self.spares.extend(blocks);
            return ReadOutcome::Idle;
        };
        let result = {
            let mut iov: ArrayVec<IoSliceMut<'_>, MAX_READ_BLOCKS> = blocks
                .iter_mut()
                .map(|b| IoSliceMut::new(b.data_mut()))
                .collect();
            let mut r: &TcpStream = sock;
            r.read_vectored(&mut iov)
        };
        match result {
            Ok(0) => {
                self.stats.reads += 1;
                self.spares.extend(blocks);
                c.eof = true;
                c.readable = false;
                ReadOutcome::Idle
            }
            Ok(n) => {
                self.stats.reads += 1;
                self.stats.rx_bytes += n as u64;
                let mut left = n;
                let mut blocks = blocks.into_iter();
                while left > 0 {
                    let Some(rx) = blocks.next() else {
                        break;
                    };
                    let len = left.min(bs);
                    left -= len;
                    let credit = self.ledger.credit(i as u32, c.credit_gen, len as u32);
                    if let Some(seg) = RxSeg::new(rx, 0..len) {
                        self.stats.rx_segments += 1;
                        let _ = batch.push(Event::Recv {
                            conn,
                            cookie: c.cookie,
                            seg: seg.with_credit(credit),
                        });
                    }
                }
                self.spares.extend(blocks);
                c.outstanding += n;
                // A short read emptied the socket (a new arrival is a new edge),
                // unless the peer's FIN or an error is pending: read until it shows.
                if n < k * bs && !c.rdhup {
                    c.readable = false;
                    ReadOutcome::Idle
                } else {
                    ReadOutcome::More
                }
            }
            Err(e) if would_block(&e) => {
                self.spares.extend(blocks);
                c.readable = false;
                ReadOutcome::Idle
            }
            Err(e) if interrupted(&e) => {
                self.spares.extend(blocks);
                ReadOutcome::More
            }
            Err(e) => {
                self.spares.extend(blocks);
                self.fail(i, close_reason(&e));
                ReadOutcome::Failed
            }
        }
    }

    /// Writes what the connections on the transmit list have queued, and their FINs.
    fn write_pending(&mut self) {
        if self.tx.is_empty() {
            return;
        }
        std::mem::swap(&mut self.tx, &mut self.tx_work);
        for k in 0..self.tx_work.len() {
            let i = self.tx_work[k] as usize;
            self.conns[i].in_tx = false;
            self.write(i);
        }
        self.tx_work.clear();
    }

    /// `sendmsg`s slot `i`'s queue until it is empty or the socket is full; then
    /// the FIN if the application closed and everything is out.
    fn write(&mut self, i: usize) {
        let c = &mut self.conns[i];
        if c.phase != Phase::Open {
            return;
        }
        let Some(sock) = c.sock.as_ref() else {
            return;
        };
        let mut error = None;
        let mut wrote = false;
        while c.writable && !c.sendq.is_empty() {
            let (result, offered) = {
                let iov = c.sendq.slices::<MAX_WRITE_PIECES>();
                let offered: usize = iov.iter().map(|s| s.len()).sum();
                let r = SockRef::from(sock).send_vectored_with_flags(&iov, libc::MSG_NOSIGNAL);
                (r, offered)
            };
            match result {
                Ok(n) => {
                    self.stats.writes += 1;
                    self.stats.tx_bytes += n as u64;
                    c.sendq.consume(n);
                    c.acked += n;
                    wrote = true;
                    if n < offered {
                        // The socket's buffer is full: EPOLLOUT (a new edge) says
                        // when it has room again.
                        self.stats.short_writes += 1;
                        c.writable = false;
                    }
                }
                Err(e) if would_block(&e) => {
                    self.stats.short_writes += 1;
                    c.writable = false;
                }
                Err(e) if interrupted(&e) => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let mut fin = false;
        if error.is_none() && c.sendq.is_empty() && c.close_wanted && !c.shutdown_done {
            match sock.shutdown(Shutdown::Write) {
                Ok(()) => {
                    c.shutdown_done = true;
                    fin = true;
                }
                Err(e) => error = Some(e),
            }
        }
        if let Some(e) = error {
            self.fail(i, close_reason(&e));
            return;
        }
        if fin && !c.eof {
            let deadline = self.clock.now() + self.cfg.fin_timeout;
            c.fin_timer = self.fins.arm(deadline, i as u32, c.gen);
        }
        if wrote || fin {
            enqueue(c, i, &mut self.attention);
        }
    }

    /// Connections whose peer did not close within the FIN timeout are reset.
    fn fin_timeouts(&mut self, now: Instant) {
        while let Some((i, gen)) = self.fins.poll(now) {
            let i = i as usize;
            let Some(c) = self.conns.get_mut(i) else {
                continue;
            };
            if c.gen != gen || c.phase != Phase::Open {
                continue;
            }
            c.fin_timer = None;
            if !c.eof {
                self.end(i, Final::Dead(CloseReason::Timeout), true);
            }
        }
    }

    fn listen(&mut self, port: u16) -> Result<(), CallError> {
        if port != 0 && self.listeners.iter().flatten().any(|l| l.port == port) {
            return Err(CallError::PortInUse);
        }
        let li = self
            .listeners
            .iter()
            .position(Option::is_none)
            .ok_or(CallError::TooManyListeners)?;
        let addr = SocketAddrV4::new(self.cfg.addr, port);
        let std = bind_listener(addr, self.cfg.backlog).map_err(|e| listen_error(&e))?;
        let bound = match std.local_addr() {
            Ok(SocketAddr::V4(a)) => a.port(),
            _ => port,
        };
        let mut sock = TcpListener::from_std(std);
        self.poll
            .registry()
            .register(&mut sock, Token(li), Interest::READABLE)
            .map_err(|_| CallError::TooManyListeners)?;
        self.listeners[li] = Some(Listener {
            port: bound,
            asked: port,
            sock,
            ready: true,
        });
        Ok(())
    }

    fn unlisten(&mut self, port: u16) -> Result<(), CallError> {
        let li = self
            .listeners
            .iter()
            .position(|l| {
                l.as_ref()
                    .is_some_and(|l| l.asked == port || l.port == port)
            })
            .ok_or(CallError::NotListening)?;
        let Some(mut l) = self.listeners[li].take() else {
            return Err(CallError::NotListening);
        };
        let _ = self.poll.registry().deregister(&mut l.sock);
        // Connections announced and not yet accepted are reset, as on ix-tcp.
        for i in 0..self.conns.len() {
            let c = &self.conns[i];
            if c.phase == Phase::Knocking && c.port == l.port {
                self.free_slot(i, true);
            }
        }
        Ok(())
    }

    fn connect(&mut self, remote: SocketAddrV4, cookie: u64) -> Result<ConnId, CallError> {
        let ip = *remote.ip();
        if remote.port() == 0 || ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
            return Err(CallError::InvalidAddress);
        }
        if self.free.is_empty() {
            return Err(CallError::TooManyConnections);
        }
        let sock_err =
            |e: std::io::Error| connect_error(&e).unwrap_or(CallError::TooManyConnections);
        let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(sock_err)?;
        s.set_nonblocking(true).map_err(sock_err)?;
        let early = match s.connect(&SocketAddr::V4(remote).into()) {
            Ok(()) => None,
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => None,
            Err(e) => match connect_error(&e) {
                Some(ce) => return Err(ce),
                None => Some(close_reason(&e)),
            },
        };
        let sock = TcpStream::from_std(s.into());
        let conn = self
            .adopt(sock, Phase::Connecting, 0, cookie)
            .ok_or(CallError::TooManyConnections)?;
        self.stats.connects += 1;
        if let Some(reason) = early {
            // Refused before any event: reported as the linked transport would.
            self.end(conn.index(), Final::ConnectFailed(reason), false);
        }
        Ok(conn)
    }

    fn send(
        &mut self,
        conn: ConnId,
        buf: HeapShared,
        range: Range<usize>,
    ) -> Result<usize, CallError> {
        if range.start > range.end || range.end > buf.len() {
            return Err(CallError::InvalidRange);
        }
        let i = self.lookup(conn)?;
        let c = &mut self.conns[i];
        if c.short_in == self.call_batch {
            return Err(CallError::EarlierSendShort);
        }
        if !matches!(c.phase, Phase::Open | Phase::Connecting) || c.close_wanted {
            return Err(CallError::InvalidState);
        }
        let requested = range.len();
        let n = c
            .sendq
            .push(buf, range, self.cfg.send_buf, self.cfg.send_pieces);
        if n < requested {
            c.short_in = self.call_batch;
        }
        if n > 0 && c.phase == Phase::Open {
            tx_add(c, i, &mut self.tx);
        }
        Ok(n)
    }

    fn close(&mut self, conn: ConnId) -> Result<(), CallError> {
        let i = self.lookup(conn)?;
        let c = &mut self.conns[i];
        match c.phase {
            Phase::Connecting => {
                // Dropped before the handshake finished: `Dead { Aborted }` follows.
                c.gone = true;
                self.end(i, Final::Dead(CloseReason::Aborted), false);
                Ok(())
            }
            Phase::Open if !c.close_wanted => {
                c.close_wanted = true;
                tx_add(c, i, &mut self.tx);
                Ok(())
            }
            _ => Err(CallError::InvalidState),
        }
    }

    /// Runs one call.
    fn run(&mut self, call: Call<HeapPool>) -> Completion {
        match call {
            Call::Listen { port } => Completion::Listen {
                port,
                result: self.listen(port),
            },
            Call::Unlisten { port } => Completion::Unlisten {
                port,
                result: self.unlisten(port),
            },
            Call::Accept { conn, cookie } => {
                let result = self.lookup(conn).and_then(|i| {
                    let c = &mut self.conns[i];
                    if c.phase != Phase::Knocking {
                        return Err(CallError::InvalidState);
                    }
                    c.phase = Phase::Open;
                    c.cookie = cookie;
                    if c.readable {
                        enqueue(c, i, &mut self.attention);
                    }
                    Ok(())
                });
                Completion::Accept { conn, result }
            }
            Call::Reject { conn } => {
                let result = self.lookup(conn).and_then(|i| {
                    if self.conns[i].phase != Phase::Knocking {
                        return Err(CallError::InvalidState);
                    }
                    self.free_slot(i, true);
                    Ok(())
                });
                Completion::Reject { conn, result }
            }
            Call::Connect { remote, cookie } => Completion::Connect {
                remote,
                cookie,
                result: self.connect(remote, cookie),
            },
            Call::Send { conn, buf, range } => {
                let requested = range.len();
                Completion::Send {
                    conn,
                    requested,
                    result: self.send(conn, buf, range),
                }
            }
            Call::Close { conn } => Completion::Close {
                conn,
                result: self.close(conn),
            },
            Call::Abort { conn } => {
                let result = self.lookup(conn).map(|i| self.free_slot(i, true));
                Completion::Abort { conn, result }
            }
            Call::SetTimer { token, after } => {
                let deadline = self.clock.now() + after;
                Completion::SetTimer {
                    token,
                    result: self.timers.arm(token, deadline),
                }
            }
            Call::CancelTimer { id } => Completion::CancelTimer {
                id,
                result: self.timers.cancel(id),
            },
        }
    }
}

impl Transport for KernelTransport {
    type Pool = HeapPool;

    fn pool(&self) -> &HeapPool {
        &self.pool
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }

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
        while batch.room() > 0 {
            let Some((id, token)) = self.timers.poll(now) else {
                break;
            };
            let _ = batch.push(Event::Timer { id, token });
        }
        self.fin_timeouts(now);
        // New connections get up to half the batch first, established ones the
        // rest, then new ones whatever is left: neither starves the other.
        self.accept(batch, batch.room().div_ceil(2));
        self.service_all(batch);
        self.accept(batch, usize::MAX);
        batch.len() - before
    }

    fn execute(&mut self, calls: &mut CallQueue<HeapPool>, batch: &mut EventBatch<HeapPool>) {
        self.call_batch += 1;
        for call in calls.drain() {
            let done = self.run(call);
            batch.complete(done);
        }
    }

    fn flush(&mut self) {
        self.write_pending();
    }
}
