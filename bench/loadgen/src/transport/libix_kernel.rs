//! The libix transport on libix's kernel transport: the load generator's connections
//! as a libix `ev` application, run by a `KernelThread` (Linux sockets under epoll).
//! It is the same client code a dataplane client would run on DPDK, where the thread
//! would be an elastic thread instead (not built yet).
//!
//! Sends happen only in libix callbacks, so every connection asks for a `wake` at its
//! next arrival (at most 1 ms ahead) and sends then, as it does after every reply and
//! every acknowledged send. libix's timers tick every 100 µs, so a send can be up to
//! that late (and is measured so: latency still counts from the schedule); within 2 ms
//! of a send the loop spins rather than sleep in epoll for whole milliseconds.

use super::Transport;
use crate::clock::Clock;
use crate::conn::Connection;
use crate::error::{LoadgenError, Result};
use ix_nic::heap::HeapPool;
use ix_nic::RxSeg;
use libix::ev::{App, ConnCx, Cx, Ev, EvConfig};
use libix::kernel::{KernelConfig, KernelThread};
use libix::CloseReason;
use std::collections::VecDeque;
use std::net::{SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

/// Application timer that issues queued connects.
const CONNECT_TIMER: u64 = 1;
/// Longest a connection sleeps between looks at its schedule.
const MAX_WAKE: Duration = Duration::from_millis(1);
/// Bytes per send reference (the pool's block size).
const BLOCK: usize = 16 * 1024;
/// Most connections per thread.
const MAX_CONNS: usize = 4096;
/// Closer than this to a scheduled send, the loop spins.
const SPIN_NS: u64 = 2_000_000;
/// How long a connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Pool = HeapPool;

/// The load generator's connections as a libix application.
struct LoadApp {
    clock: Clock,
    conns: Vec<Connection>,
    to_connect: VecDeque<(SocketAddrV4, usize)>,
    connected: Vec<bool>,
    error: Option<String>,
}

impl LoadApp {
    fn fail(&mut self, what: String) {
        self.error.get_or_insert(what);
    }

    /// Ticks connection `i` and queues what it has to send; asks for the next wake.
    fn pump(&mut self, c: &mut ConnCx<'_, '_, Pool>, i: usize) {
        let now = self.clock.now_ns();
        let Some(conn) = self.conns.get_mut(i) else {
            return;
        };
        conn.tick(now);
        while !conn.tx_pending().is_empty() {
            let n = conn.tx_pending().len().min(BLOCK);
            let Ok(buf) = c.pool().shared_from(&conn.tx_pending()[..n]) else {
                break;
            };
            if c.send(&buf, 0..n).is_err() {
                break; // full: the rest goes after the next `sent`
            }
            conn.tx_advance(n);
        }
    }

    fn rearm(&self, c: &mut ConnCx<'_, '_, Pool>, i: usize) {
        let now = self.clock.now_ns();
        let next = self.conns.get(i).and_then(|conn| conn.next_wakeup(now));
        let after = next.map_or(MAX_WAKE, |t| {
            Duration::from_nanos(t.saturating_sub(now)).min(MAX_WAKE)
        });
        let _ = c.wake_after(after);
    }
}

impl App<Pool> for LoadApp {
    type Conn = usize;

    fn start(&mut self, cx: &mut Cx<'_, '_, Pool, usize>) {
        let _ = cx.set_timer(CONNECT_TIMER, Duration::from_micros(100));
    }

    fn knock(&mut self, _port: u16, _remote: SocketAddrV4) -> Option<usize> {
        None
    }

    fn connected(&mut self, c: &mut ConnCx<'_, '_, Pool>, i: &mut usize) {
        if let Some(flag) = self.connected.get_mut(*i) {
            *flag = true;
        }
        self.rearm(c, *i);
    }

    fn recv(
        &mut self,
        c: &mut ConnCx<'_, '_, Pool>,
        i: &mut usize,
        seg: RxSeg<<Pool as ix_nic::BufPool>::Rx>,
    ) {
        let now = self.clock.now_ns();
        if let Some(conn) = self.conns.get_mut(*i) {
            if let Err(e) = conn.on_rx(seg.data(), now) {
                self.fail(e.to_string());
                return;
            }
        }
        drop(seg);
        self.pump(c, *i);
    }

    fn sent(&mut self, c: &mut ConnCx<'_, '_, Pool>, i: &mut usize, _acked: usize) {
        self.pump(c, *i);
    }

    fn peer_closed(&mut self, c: &mut ConnCx<'_, '_, Pool>, _i: &mut usize) {
        self.fail("the server closed a connection".into());
        c.close();
    }

    fn wake(&mut self, c: &mut ConnCx<'_, '_, Pool>, i: &mut usize) {
        self.pump(c, *i);
        self.rearm(c, *i);
    }

    fn dead(&mut self, _i: usize, reason: CloseReason) {
        self.fail(format!("a connection ended: {reason:?}"));
    }

    fn connect_failed(&mut self, _i: usize, reason: CloseReason) {
        self.fail(format!("connect failed: {reason:?}"));
    }

    fn timer(&mut self, cx: &mut Cx<'_, '_, Pool, usize>, token: u64) {
        if token != CONNECT_TIMER {
            return;
        }
        while let Some((addr, i)) = self.to_connect.pop_front() {
            if let Err(e) = cx.connect(addr, i) {
                self.fail(format!("connect to {addr}: {e:?}"));
            }
        }
        let _ = cx.set_timer(CONNECT_TIMER, Duration::from_micros(200));
    }
}

/// One `KernelThread` running the connections of one load thread.
pub struct LibixKernelTransport {
    thread: KernelThread<Ev<Pool, LoadApp>>,
}

impl LibixKernelTransport {
    /// A thread with room for 4096 connections, `TCP_NODELAY` on them if `nodelay`;
    /// nothing runs until used.
    pub fn new(nodelay: bool) -> Result<Self> {
        let cfg = KernelConfig {
            nodelay,
            max_conns: MAX_CONNS,
            block_size: BLOCK,
            ..KernelConfig::default()
        };
        let app = LoadApp {
            clock: Clock::new(),
            conns: Vec::new(),
            to_connect: VecDeque::new(),
            connected: Vec::new(),
            error: None,
        };
        let ev = Ev::new(
            app,
            EvConfig {
                max_conns: MAX_CONNS,
                max_unsent: 256,
                ..EvConfig::default()
            },
        );
        let thread = KernelThread::new(&cfg, 0, ev)
            .map_err(|e| LoadgenError::Config(format!("libix kernel transport: {e}")))?;
        Ok(LibixKernelTransport { thread })
    }

    fn app(&mut self) -> &mut LoadApp {
        self.thread.handler_mut().app_mut()
    }

    fn check(&mut self) -> Result<()> {
        match self.app().error.take() {
            Some(e) => Err(LoadgenError::Protocol(format!("libix: {e}"))),
            None => Ok(()),
        }
    }
}

impl Transport for LibixKernelTransport {
    fn connect(&mut self, server: SocketAddr) -> Result<()> {
        let v4 = super::ipv4_server(server)?;
        let app = self.app();
        let i = app.connected.len();
        app.connected.push(false);
        app.to_connect.push_back((v4, i));
        let since = Instant::now();
        while !self.app().connected[i] {
            self.thread.turn(Duration::from_millis(1));
            self.check()?;
            if since.elapsed() > CONNECT_TIMEOUT {
                return Err(LoadgenError::Config(format!(
                    "libix: connect to {server} timed out"
                )));
            }
        }
        Ok(())
    }

    fn drive(
        &mut self,
        conns: &mut Vec<Connection>,
        clock: &Clock,
        deadline_ns: u64,
    ) -> Result<bool> {
        super::check_conn_count(conns.len(), self.app().connected.len())?;
        let app = self.app();
        app.clock = *clock;
        app.conns = std::mem::take(conns);
        let result = loop {
            // Close to a scheduled send, spin (libix's own epoll waits are whole
            // milliseconds); otherwise let the thread sleep until something happens.
            let now = clock.now_ns();
            let near = self
                .app()
                .conns
                .iter()
                .filter_map(|c| c.next_wakeup(now))
                .min();
            if near.is_some_and(|t| t <= now + SPIN_NS) {
                if !self.thread.iterate() {
                    std::thread::yield_now();
                }
            } else {
                self.thread.turn(Duration::from_millis(1));
            }
            if let Err(e) = self.check() {
                break Err(e);
            }
            let now = clock.now_ns();
            if self.app().conns.iter().all(|c| c.is_done(now)) {
                break Ok(true);
            }
            if now >= deadline_ns {
                break Ok(false);
            }
        };
        *conns = std::mem::take(&mut self.app().conns);
        result
    }
}
