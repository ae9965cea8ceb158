//! The SUT's TCP application on ix: the same calls as on Linux, made through
//! ix-tcp's engine API (`listen`, `connect`, `accept`, `send`, `close`, `abort`,
//! and the events of `poll_event`), and the script's settings mapped to its
//! [`TcpConfig`].
//!
//! Received data stays in the engine's buffers (the `Recv` segments are held)
//! until an `app read` consumes it, so the advertised window behaves as Linux's
//! does when its application does not read.

use crate::app::{AppAction, ConnError};
use crate::script::{App, Setup};
use crate::target::{AppStatus, TargetError};
use ix_nic::heap::{HeapPool, HeapRx};
use ix_nic::RxSeg;
use ix_tcp::{CloseReason, ConnId, KeepaliveConfig, TcpConfig, TcpEngine, TcpEvent};
use std::collections::{HashMap, VecDeque};

/// The engine's configuration for `setup`: ix-tcp's defaults, changed as the
/// script's `tcp-config` and `tcp-listen` lines ask.
///
/// `backlog N` means listen(2)'s argument, which admits N + 1 connections (Linux's
/// checks are `>`), so both queues are made N + 1 long; the engine's queues are
/// engine-wide, so every listener must agree. `timestamps=0|1` sets
/// `TcpConfig::timestamps` (off by default, unlike Linux). ix has no "always" SYN
/// cookies: asking for them fails the set-up.
pub fn tcp_config(setup: &Setup) -> Result<TcpConfig, TargetError> {
    let mut cfg = TcpConfig::default();
    let unsupported = |what: &str| Err(TargetError::Setup(format!("ix-tcp has no {what}")));
    let mut backlog = None;
    for app in &setup.apps {
        if let App::TcpListen { backlog: b, .. } = *app {
            if backlog.is_some_and(|old| old != b) {
                return Err(TargetError::Setup(
                    "ix-tcp's backlogs are engine-wide: tcp-listen backlogs must agree".into(),
                ));
            }
            backlog = Some(b);
        }
    }
    if let Some(b) = backlog {
        cfg.syn_backlog = b as usize + 1;
        cfg.accept_backlog = b as usize + 1;
    }
    let t = &setup.tcp;
    if let Some(n) = t.syn_retries {
        cfg.syn_retries = n;
    }
    if let Some(n) = t.synack_retries {
        cfg.synack_retries = n;
    }
    if let Some(n) = t.retries2 {
        cfg.max_retransmits = n;
    }
    if t.user_timeout.is_some() {
        cfg.user_timeout = t.user_timeout;
    }
    if let Some(d) = t.fin_timeout {
        cfg.fin_wait2_timeout = d;
    }
    if let Some(k) = t.keepalive {
        cfg.keepalive = Some(KeepaliveConfig {
            idle: k.idle,
            interval: k.interval,
            probes: k.probes,
        });
    }
    match t.syncookies {
        None => {}
        Some(0) => cfg.syncookies = false,
        Some(1) => cfg.syncookies = true,
        Some(_) => return unsupported("always-on SYN cookies (syncookies=2)"),
    }
    if let Some(b) = t.timestamps {
        cfg.timestamps = b;
    }
    if let Some(b) = t.sack {
        cfg.sack = b;
    }
    if let Some(b) = t.window_scaling {
        cfg.window_scaling = b;
    }
    Ok(cfg)
}

/// What the application knows of one connection.
#[derive(Default)]
struct Conn {
    /// Received data not yet consumed by `app read`, as the engine delivered it.
    unread: VecDeque<RxSeg<HeapRx>>,
    /// The peer closed (`PeerClosed`).
    eof: bool,
    /// How the connection ended, if it did.
    ended: Option<CloseReason>,
    /// The application closed it: later data is dropped unread.
    closed: bool,
    /// An echo connection: data goes back, and a peer close is answered by ours.
    echo: bool,
}

impl Conn {
    /// Bytes waiting to be read.
    fn unread_len(&self) -> usize {
        self.unread.iter().map(RxSeg::len).sum()
    }
}

/// The engine and the application's view of it.
pub struct IxTcp {
    /// The engine, attached to the interface as its transport.
    pub engine: TcpEngine<HeapPool>,
    pool: HeapPool,
    echo_ports: Vec<u16>,
    /// Connections that knocked on a `tcp-listen` port and await `app accept`.
    knocks: VecDeque<ConnId>,
    conns: HashMap<ConnId, Conn>,
    current: Option<ConnId>,
}

impl IxTcp {
    /// An engine for `setup`, listening as its TCP applications say.
    pub fn new(setup: &Setup, pool: HeapPool) -> Result<IxTcp, TargetError> {
        let mut engine = TcpEngine::new(tcp_config(setup)?)
            .map_err(|e| TargetError::Setup(format!("ix-tcp configuration: {e}")))?;
        let mut echo_ports = Vec::new();
        for app in &setup.apps {
            let port = match *app {
                App::TcpListen { port, .. } => port,
                App::TcpEcho { port } => {
                    echo_ports.push(port);
                    port
                }
                App::UdpEcho { .. } => continue,
            };
            engine
                .listen(port)
                .map_err(|e| TargetError::Setup(format!("ix-tcp listen {port}: {e}")))?;
        }
        Ok(IxTcp {
            engine,
            pool,
            echo_ports,
            knocks: VecDeque::new(),
            conns: HashMap::new(),
            current: None,
        })
    }

    /// Handles every pending engine event (after each poll): queues knocks, keeps
    /// received data, records ends, and runs the echo applications.
    pub fn service(&mut self) {
        while let Some(ev) = self.engine.poll_event() {
            match ev {
                TcpEvent::Knock {
                    conn, local_port, ..
                } => {
                    if self.echo_ports.contains(&local_port) {
                        // A refused accept leaves the connection to the engine,
                        // which the script sees on the wire.
                        if self.engine.accept(conn, 0).is_ok() {
                            self.conns.insert(
                                conn,
                                Conn {
                                    echo: true,
                                    ..Conn::default()
                                },
                            );
                        }
                    } else {
                        self.knocks.push_back(conn);
                    }
                }
                TcpEvent::Connected { .. } | TcpEvent::Sent { .. } => {}
                TcpEvent::ConnectFailed { conn, reason } | TcpEvent::Dead { conn, reason, .. } => {
                    self.knocks.retain(|k| *k != conn);
                    self.conns.entry(conn).or_default().ended = Some(reason);
                }
                TcpEvent::Recv { conn, seg, .. } => {
                    let c = self.conns.entry(conn).or_default();
                    if c.echo {
                        let data = seg.data().to_vec();
                        drop(seg);
                        // A short echo is the script's to see on the wire.
                        let _ = send_all(&mut self.engine, &self.pool, conn, &data);
                    } else if !c.closed {
                        c.unread.push_back(seg);
                    }
                }
                TcpEvent::PeerClosed { conn, .. } => {
                    let c = self.conns.entry(conn).or_default();
                    c.eof = true;
                    if c.echo {
                        let _ = self.engine.close(conn);
                    }
                }
            }
        }
    }

    /// Performs one timed call; what it sends leaves on the next poll.
    pub fn call(&mut self, action: &AppAction) -> AppStatus {
        match *action {
            AppAction::Accept => match self.knocks.pop_front() {
                None => AppStatus::NotYet("no connection was ready to accept".to_string()),
                Some(conn) => match self.engine.accept(conn, 0) {
                    Ok(()) => self.make_current(conn),
                    Err(e) => AppStatus::Failed(format!("accept: {e}")),
                },
            },
            AppAction::Connect { remote, local_port } => {
                match self.engine.connect(remote, local_port) {
                    Ok(conn) => self.make_current(conn),
                    Err(e) => AppStatus::Failed(format!("connect {remote}: {e}")),
                }
            }
            AppAction::Write(n) => self.with_current(|me, conn| {
                let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
                match send_all(&mut me.engine, &me.pool, conn, &data) {
                    Ok(k) if k == n => AppStatus::Done,
                    Ok(k) => {
                        AppStatus::Failed(format!("only {k} of {n} bytes fit the send buffer"))
                    }
                    Err(e) => AppStatus::Failed(format!("send: {e}")),
                }
            }),
            AppAction::Read(n) => self.with_current(|me, conn| me.read(conn, n)),
            AppAction::ReadEof => self.with_current(|me, conn| {
                let c = me.conns.entry(conn).or_default();
                match (c.unread_len(), c.eof) {
                    (0, true) => AppStatus::Done,
                    (0, false) => AppStatus::NotYet("the peer did not close".to_string()),
                    (k, _) => AppStatus::Failed(format!("{k} unread bytes before the end")),
                }
            }),
            // ix-tcp's close is a half close: our FIN, receiving goes on.
            AppAction::ShutdownWrite => self.with_current(|me, conn| match me.engine.close(conn) {
                Ok(()) => AppStatus::Done,
                Err(e) => AppStatus::Failed(format!("close: {e}")),
            }),
            // A full close: the same FIN, and the application reads no more.
            AppAction::Close => self.with_current(|me, conn| {
                let c = me.conns.entry(conn).or_default();
                c.closed = true;
                c.unread.clear();
                match me.engine.close(conn) {
                    Ok(()) => AppStatus::Done,
                    Err(e) => AppStatus::Failed(format!("close: {e}")),
                }
            }),
            AppAction::Abort => self.with_current(|me, conn| match me.engine.abort(conn) {
                Ok(()) => AppStatus::Done,
                Err(e) => AppStatus::Failed(format!("abort: {e}")),
            }),
            AppAction::Error(want) => {
                self.with_current(|me, conn| match me.conns.get(&conn).and_then(|c| c.ended) {
                    None | Some(CloseReason::Closed) => {
                        AppStatus::NotYet(format!("the connection did not fail (want {want})"))
                    }
                    Some(reason) if matches_error(reason, want) => AppStatus::Done,
                    Some(reason) => {
                        AppStatus::Failed(format!("the connection ended {reason:?}, not {want}"))
                    }
                })
            }
        }
    }

    /// `read N` on `conn`.
    fn read(&mut self, conn: ConnId, n: usize) -> AppStatus {
        let c = self.conns.entry(conn).or_default();
        let have = c.unread_len();
        if have < n {
            return match (c.eof, c.ended) {
                (true, _) => {
                    AppStatus::Failed(format!("the peer closed after {have} of {n} bytes"))
                }
                (_, Some(r)) if r != CloseReason::Closed => AppStatus::Failed(format!(
                    "the connection ended {r:?} after {have} of {n} bytes"
                )),
                _ => AppStatus::NotYet(format!("only {have} of {n} bytes arrived")),
            };
        }
        let mut left = n;
        while left > 0 {
            let Some(front) = c.unread.front_mut() else {
                break;
            };
            if front.len() <= left {
                left -= front.len();
                // Dropping the segment returns its bytes to the window.
                c.unread.pop_front();
            } else {
                front.advance(left);
                left = 0;
            }
        }
        AppStatus::Done
    }

    /// Makes `conn` the current connection (earlier ones stay open).
    fn make_current(&mut self, conn: ConnId) -> AppStatus {
        self.conns.entry(conn).or_default();
        self.current = Some(conn);
        AppStatus::Done
    }

    /// Runs `f` on the current connection, if there is one.
    fn with_current(&mut self, f: impl FnOnce(&mut Self, ConnId) -> AppStatus) -> AppStatus {
        match self.current {
            Some(conn) => f(self, conn),
            None => AppStatus::Failed("no current connection (accept or connect first)".into()),
        }
    }
}

/// Whether an engine close reason is what an application sees as `want`.
fn matches_error(reason: CloseReason, want: ConnError) -> bool {
    matches!(
        (reason, want),
        (CloseReason::Reset, ConnError::Reset)
            | (CloseReason::Refused, ConnError::Refused)
            | (
                CloseReason::Timeout | CloseReason::KeepaliveTimeout,
                ConnError::Timeout
            )
    )
}

/// Queues `data` on `conn` in buffers of the pool's block size; returns the bytes
/// the engine took.
fn send_all(
    engine: &mut TcpEngine<HeapPool>,
    pool: &HeapPool,
    conn: ConnId,
    data: &[u8],
) -> Result<usize, String> {
    let mut sent = 0;
    for chunk in data.chunks(CHUNK) {
        let buf = pool
            .shared_from(chunk)
            .map_err(|_| "no buffer for the data".to_string())?;
        let k = engine
            .send(conn, &buf, 0..chunk.len())
            .map_err(|e| e.to_string())?;
        sent += k;
        if k < chunk.len() {
            break;
        }
    }
    Ok(sent)
}

/// Bytes per send buffer: what one pool block holds.
const CHUNK: usize = crate::ix::BLOCK_SIZE;
