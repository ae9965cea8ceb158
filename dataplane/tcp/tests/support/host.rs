//! One host of the harness: an interface, a TCP engine, and a scripted application
//! that logs what it sees per connection.

use ix_net::{Config, Interface};
use ix_nic::heap::{HeapPool, HeapRx, HeapShared};
use ix_nic::{BufPool, Nic, RxSeg, VirtualClock};
use ix_tcp::{CloseReason, ConnId, TcpConfig, TcpEngine, TcpEvent};
use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

/// What the application saw on one connection.
#[derive(Debug, Default, Clone)]
pub struct ConnLog {
    pub data: Vec<u8>,
    pub recv_events: usize,
    pub connected: bool,
    pub peer_closed: bool,
    pub dead: Option<CloseReason>,
    pub connect_failed: Option<CloseReason>,
    pub acked: usize,
    pub order: Vec<&'static str>,
}

/// A scripted application.
#[derive(Debug, Default)]
pub struct App {
    pub auto_accept: bool,
    pub reject: bool,
    /// Keep received segments instead of dropping them (window stays closed).
    pub hold: bool,
    pub held: Vec<RxSeg<HeapRx>>,
    pub knocks: Vec<ConnId>,
    pub log: BTreeMap<ConnId, ConnLog>,
    /// Payload waiting to be accepted by `send`, per connection.
    pub outbox: BTreeMap<ConnId, VecDeque<(HeapShared, usize, usize)>>,
    /// Close after the outbox drains.
    pub close_when_sent: BTreeMap<ConnId, bool>,
    /// Close when the peer closes.
    pub close_on_peer_close: bool,
}

/// One host: an interface, its TCP engine and the scripted application.
pub struct Host<N: Nic<Pool = HeapPool>> {
    pub iface: Interface<N, VirtualClock>,
    pub tcp: TcpEngine<HeapPool>,
    pub app: App,
}

impl<N: Nic<Pool = HeapPool>> Host<N> {
    /// A host at `addr` (a /24) on `nic` whose application accepts every knock.
    pub fn new(nic: N, clock: VirtualClock, addr: Ipv4Addr, cfg: TcpConfig) -> Self {
        let iface = Interface::new(nic, clock, Config::new(addr, 24)).unwrap();
        Host {
            iface,
            tcp: TcpEngine::new(cfg).unwrap(),
            app: App {
                auto_accept: true,
                ..App::default()
            },
        }
    }

    /// The NIC's buffer pool.
    pub fn pool(&self) -> HeapPool {
        self.iface.nic().pool().clone()
    }

    /// One run-to-completion round: poll the interface (and engine), then the app.
    pub fn poll(&mut self) {
        self.iface.poll(&mut self.tcp);
        self.handle_events();
        self.pump();
    }

    /// What the application saw on `c` (an empty log if nothing yet).
    pub fn log(&mut self, c: ConnId) -> &mut ConnLog {
        self.app.log.entry(c).or_default()
    }

    /// Plays the application: takes every pending engine event and logs or answers it.
    pub fn handle_events(&mut self) {
        while let Some(ev) = self.tcp.poll_event() {
            match ev {
                TcpEvent::Knock { conn, .. } => {
                    self.app.knocks.push(conn);
                    if self.app.reject {
                        self.tcp.reject(conn).unwrap();
                    } else if self.app.auto_accept {
                        self.tcp.accept(conn, conn.index() as u64 + 1000).unwrap();
                        self.log(conn).order.push("knock");
                    }
                }
                TcpEvent::Connected { conn, .. } => {
                    let l = self.log(conn);
                    l.connected = true;
                    l.order.push("connected");
                }
                TcpEvent::ConnectFailed { conn, reason } => {
                    let l = self.log(conn);
                    l.connect_failed = Some(reason);
                    l.order.push("connect_failed");
                }
                TcpEvent::Recv { conn, seg, .. } => {
                    let l = self.app.log.entry(conn).or_default();
                    l.data.extend_from_slice(&seg);
                    l.recv_events += 1;
                    if l.order.last() != Some(&"recv") {
                        l.order.push("recv");
                    }
                    if self.app.hold {
                        self.app.held.push(seg);
                    }
                }
                TcpEvent::Sent {
                    conn, acked_bytes, ..
                } => {
                    self.log(conn).acked += acked_bytes;
                }
                TcpEvent::PeerClosed { conn, .. } => {
                    let l = self.log(conn);
                    l.peer_closed = true;
                    l.order.push("peer_closed");
                    if self.app.close_on_peer_close {
                        let _ = self.tcp.close(conn);
                    }
                }
                TcpEvent::Dead { conn, reason, .. } => {
                    let l = self.log(conn);
                    l.dead = Some(reason);
                    l.order.push("dead");
                }
            }
        }
    }

    /// Queues `bytes` to send on `conn` (copied into pool buffers: the test's own
    /// buffers, like an application's).
    pub fn queue(&mut self, conn: ConnId, bytes: &[u8]) {
        let pool = self.pool();
        let chunk = pool.buf_capacity();
        let q = self.app.outbox.entry(conn).or_default();
        for c in bytes.chunks(chunk) {
            let b = pool.shared_from(c).unwrap();
            q.push_back((b, 0, c.len()));
        }
        self.pump();
    }

    /// Why `c` ended, if it did.
    pub fn dead(&self, c: ConnId) -> Option<CloseReason> {
        self.app.log.get(&c).and_then(|l| l.dead)
    }

    /// Why `c`'s active open failed, if it did.
    pub fn connect_failed(&self, c: ConnId) -> Option<CloseReason> {
        self.app.log.get(&c).and_then(|l| l.connect_failed)
    }

    /// Offers queued payload to the engine as far as it takes it.
    pub fn pump(&mut self) {
        let conns: Vec<ConnId> = self.app.outbox.keys().copied().collect();
        for c in conns {
            let q = self.app.outbox.get_mut(&c).unwrap();
            while let Some((b, off, end)) = q.front_mut() {
                match self.tcp.send(c, b, *off..*end) {
                    Ok(n) => {
                        *off += n;
                        if *off == *end {
                            q.pop_front();
                        } else {
                            break;
                        }
                    }
                    Err(_) => {
                        q.clear();
                        break;
                    }
                }
            }
            if q.is_empty() {
                self.app.outbox.remove(&c);
            }
        }
        let closing: Vec<ConnId> = self.app.close_when_sent.keys().copied().collect();
        for c in closing {
            // A close in SYN_SENT would drop the connection (RFC 9293): wait.
            if !self.app.outbox.contains_key(&c) && self.tcp.state(c) != Ok(ix_tcp::State::SynSent)
            {
                self.app.close_when_sent.remove(&c);
                let _ = self.tcp.close(c);
            }
        }
    }
}
