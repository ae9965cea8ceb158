//! [`LinkedTransport`]: libix's transport for an application linked into the
//! elastic thread, over `ix-net` + `ix-tcp` on one NIC queue pair.

use crate::config::RuntimeConfig;
use crate::conns::{lib_id, ConnMap};
use crate::error::RuntimeError;
use crate::flow_group::FlowGroups;
use crate::meter::{MeteredNic, NicMeter};
use ix_net::{Interface, PollReport};
use ix_nic::{Clock, Instant, Nic};
use ix_tcp::{State, TcpConfig, TcpEngine, TcpError, TcpEvent};
use libix::AppTimers;
use libix::{Call, CallError, CallQueue, CloseReason, Completion, ConnId, Event, EventBatch};
use std::net::SocketAddrV4;

/// Local ports tried for one connect before giving up (each is a flow-table lookup).
const MAX_PORT_TRIES: usize = 4096;

/// The linked transport: the interface, the TCP engine and the application's timers
/// of one elastic thread.
pub struct LinkedTransport<N: Nic, C: Clock> {
    iface: Interface<MeteredNic<N>, C>,
    tcp: TcpEngine<N::Pool>,
    conns: ConnMap,
    timers: AppTimers,
    groups: FlowGroups,
    thread: usize,
    /// `Dead { Aborted }` events owed for connections the runtime dropped itself.
    synth: Vec<(ConnId, u64)>,
    listening: Vec<u16>,
    call_batch: u64,
    connects: u32,
    last: PollReport,
}

impl<N: Nic, C: Clock> core::fmt::Debug for LinkedTransport<N, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LinkedTransport")
            .field("thread", &self.thread)
            .field("tcp", &self.tcp)
            .finish_non_exhaustive()
    }
}

/// libix's reason for an engine's.
fn reason(r: ix_tcp::CloseReason) -> CloseReason {
    use ix_tcp::CloseReason as T;
    match r {
        T::Closed => CloseReason::Closed,
        T::Reset => CloseReason::Reset,
        T::Refused => CloseReason::Refused,
        T::Timeout | T::KeepaliveTimeout | T::FinWait2Timeout => CloseReason::Timeout,
        T::Aborted => CloseReason::Aborted,
    }
}

/// libix's error for an engine's.
fn error(e: TcpError) -> CallError {
    match e {
        TcpError::NoSuchConnection => CallError::NoSuchConnection,
        TcpError::InvalidState => CallError::InvalidState,
        TcpError::PortInUse => CallError::PortInUse,
        TcpError::NotListening => CallError::NotListening,
        TcpError::TooManyListeners => CallError::TooManyListeners,
        TcpError::TooManyConnections => CallError::TooManyConnections,
        TcpError::AddrInUse => CallError::AddrInUse,
        TcpError::InvalidAddress => CallError::InvalidAddress,
        TcpError::InvalidRange => CallError::InvalidRange,
    }
}

impl<N: Nic, C: Clock> LinkedTransport<N, C> {
    /// Builds the stack on `nic`: validates every configuration and allocates every
    /// table now.
    pub fn new(
        nic: N,
        clock: C,
        net: ix_net::Config,
        tcp: TcpConfig,
        rt: &RuntimeConfig,
    ) -> Result<Self, RuntimeError> {
        rt.validate()?;
        let now = clock.now();
        let max_conns = tcp.max_conns;
        let max_listeners = tcp.max_listeners;
        let groups = FlowGroups::new(rt.flow_groups, rt.threads)
            .ok_or(RuntimeError::Config("flow groups"))?;
        Ok(LinkedTransport {
            iface: Interface::new(MeteredNic::new(nic, rt.batch), clock, net)?,
            tcp: TcpEngine::new(tcp)?,
            conns: ConnMap::new(max_conns),
            timers: AppTimers::new(rt.max_timers, rt.timer_tick, now),
            groups,
            thread: rt.thread,
            synth: Vec::with_capacity(max_conns),
            listening: Vec::with_capacity(max_listeners),
            call_batch: 0,
            connects: 0,
            last: PollReport::default(),
        })
    }

    /// The interface (ARP entries, counters, the NIC).
    pub fn iface(&self) -> &Interface<MeteredNic<N>, C> {
        &self.iface
    }

    /// The interface, mutably (tests reach the fake NIC through it).
    pub fn iface_mut(&mut self) -> &mut Interface<MeteredNic<N>, C> {
        &mut self.iface
    }

    /// The TCP engine (connection snapshots, counters).
    pub fn tcp(&self) -> &TcpEngine<N::Pool> {
        &self.tcp
    }

    /// What crossed the NIC.
    pub fn meter(&self) -> &NicMeter {
        self.iface.nic().meter()
    }

    /// What the last poll of the interface did.
    pub fn last_report(&self) -> PollReport {
        self.last
    }

    /// Application timers armed.
    pub fn timers_armed(&self) -> usize {
        self.timers.armed()
    }

    /// The flow-group table.
    pub fn flow_groups(&self) -> &FlowGroups {
        &self.groups
    }

    /// Resets `conn` on the runtime's own initiative (its handler panicked): RST out,
    /// and a `Dead { Aborted }` event for it in a later batch. Returns whether it was
    /// live.
    pub fn reset(&mut self, conn: ConnId) -> bool {
        let Some(t) = self.conns.get(conn) else {
            return false;
        };
        let cookie = self.conns.cookie(conn);
        let _ = self.tcp.abort(t);
        self.conns.remove(conn);
        self.owe_dead(conn, cookie);
        true
    }

    /// Begins a graceful shutdown: stops listening on every port (new connection
    /// attempts are refused) and closes every connection (FIN after what is queued;
    /// ones the application never accepted are aborted); the application sees the
    /// usual events. Returns how many connections were told to close. Allocates (once
    /// per shutdown, not on the packet path).
    pub fn drain(&mut self) -> usize {
        for i in 0..self.listening.len() {
            if let Some(&port) = self.listening.get(i) {
                let _ = self.tcp.unlisten(port);
            }
        }
        self.listening.clear();
        let open: Vec<ix_tcp::ConnInfo> = self.tcp.conns().collect();
        let mut closing = 0;
        for info in open {
            let id = lib_id(info.conn);
            if self.conns.get(id).is_none() {
                let _ = self.tcp.abort(info.conn);
                continue;
            }
            let closed = matches!(
                self.run(Call::Close { conn: id }),
                Completion::Close { result: Ok(()), .. }
            );
            if closed {
                closing += 1;
            } else if info.state == State::SynReceived {
                let _ = self.run(Call::Reject { conn: id });
            }
        }
        closing
    }

    fn owe_dead(&mut self, conn: ConnId, cookie: u64) {
        if self.synth.len() < self.synth.capacity() {
            self.synth.push((conn, cookie));
        }
    }

    /// An engine event in libix's terms.
    fn translate(&mut self, ev: TcpEvent<<N::Pool as ix_nic::BufPool>::Rx>) -> Event<N::Pool> {
        match ev {
            TcpEvent::Knock {
                conn,
                local_port,
                remote,
            } => Event::Knock {
                conn: self.conns.insert(conn, 0),
                local_port,
                remote,
            },
            TcpEvent::Connected { conn, cookie } => Event::Connected {
                conn: lib_id(conn),
                cookie,
            },
            TcpEvent::ConnectFailed { conn, reason: r } => {
                let id = lib_id(conn);
                let cookie = self.conns.cookie(id);
                self.conns.remove(id);
                Event::ConnectFailed {
                    conn: id,
                    cookie,
                    reason: reason(r),
                }
            }
            TcpEvent::Recv { conn, cookie, seg } => Event::Recv {
                conn: lib_id(conn),
                cookie,
                seg,
            },
            TcpEvent::Sent {
                conn,
                cookie,
                acked_bytes,
            } => Event::Sent {
                conn: lib_id(conn),
                cookie,
                acked: acked_bytes,
            },
            TcpEvent::PeerClosed { conn, cookie } => Event::PeerClosed {
                conn: lib_id(conn),
                cookie,
            },
            TcpEvent::Dead {
                conn,
                cookie,
                reason: r,
            } => {
                let id = lib_id(conn);
                self.conns.remove(id);
                Event::Dead {
                    conn: id,
                    cookie,
                    reason: reason(r),
                }
            }
        }
    }

    fn tcp_id(&self, conn: ConnId) -> Result<ix_tcp::ConnId, CallError> {
        self.conns.get(conn).ok_or(CallError::NoSuchConnection)
    }

    /// Opens a connection from a computed local port whose replies hash into one of
    /// this thread's flow groups.
    fn connect(&mut self, remote: SocketAddrV4, cookie: u64) -> Result<ConnId, CallError> {
        let local = self.iface.config().addr;
        let range = self.tcp.config().ephemeral_ports;
        // Spread successive connects over the groups and ports.
        let start = self.connects.wrapping_mul(0x9e37_79b9);
        self.connects = self.connects.wrapping_add(1);
        let candidates = self
            .groups
            .local_ports(local, remote, self.thread, range, start);
        for port in candidates.take(MAX_PORT_TRIES) {
            if self.listening.contains(&port) {
                continue;
            }
            match self.tcp.connect(remote, Some(port)) {
                Ok(t) => {
                    let _ = self.tcp.set_cookie(t, cookie);
                    return Ok(self.conns.insert(t, cookie));
                }
                Err(TcpError::AddrInUse) => continue,
                Err(e) => return Err(error(e)),
            }
        }
        Err(CallError::AddrInUse)
    }

    /// Runs one call.
    fn run(&mut self, call: Call<N::Pool>) -> Completion {
        match call {
            Call::Listen { port } => {
                let result = self.tcp.listen(port).map_err(error);
                if result.is_ok() && self.listening.len() < self.listening.capacity() {
                    self.listening.push(port);
                }
                Completion::Listen { port, result }
            }
            Call::Unlisten { port } => {
                self.listening.retain(|&p| p != port);
                let result = self.tcp.unlisten(port).map_err(error);
                Completion::Unlisten { port, result }
            }
            Call::Accept { conn, cookie } => {
                let result = self.tcp_id(conn).and_then(|t| {
                    self.tcp.accept(t, cookie).map_err(error)?;
                    self.conns.set_cookie(conn, cookie);
                    Ok(())
                });
                Completion::Accept { conn, result }
            }
            Call::Reject { conn } => {
                let result = self.tcp_id(conn).and_then(|t| {
                    self.tcp.reject(t).map_err(error)?;
                    self.conns.remove(conn);
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
                let result = if self.conns.was_short(conn, self.call_batch) {
                    Err(CallError::EarlierSendShort)
                } else {
                    self.tcp_id(conn).and_then(|t| {
                        let n = self.tcp.send(t, &buf, range).map_err(error)?;
                        if n < requested {
                            self.conns.mark_short(conn, self.call_batch);
                        }
                        Ok(n)
                    })
                };
                Completion::Send {
                    conn,
                    requested,
                    result,
                }
            }
            Call::Close { conn } => {
                let result = self.tcp_id(conn).and_then(|t| {
                    let handshaking = self.tcp.state(t) == Ok(State::SynSent);
                    self.tcp.close(t).map_err(error)?;
                    if handshaking {
                        // The engine drops it silently; libix promises a Dead event.
                        let cookie = self.conns.cookie(conn);
                        self.conns.remove(conn);
                        self.owe_dead(conn, cookie);
                    }
                    Ok(())
                });
                Completion::Close { conn, result }
            }
            Call::Abort { conn } => {
                let result = self.tcp_id(conn).and_then(|t| {
                    self.tcp.abort(t).map_err(error)?;
                    self.conns.remove(conn);
                    Ok(())
                });
                Completion::Abort { conn, result }
            }
            Call::SetTimer { token, after } => {
                let deadline = self.iface.clock().now() + after;
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

impl<N: Nic, C: Clock> libix::Transport for LinkedTransport<N, C> {
    type Pool = N::Pool;

    fn pool(&self) -> &N::Pool {
        self.iface.nic().pool()
    }

    fn now(&self) -> Instant {
        self.iface.clock().now()
    }

    fn poll(&mut self, batch: &mut EventBatch<N::Pool>) -> usize {
        self.last = self.iface.poll(&mut self.tcp);
        let now = self.iface.clock().now();
        batch.set_now(now);
        let mut n = self.timers.fire_into(now, batch);
        while batch.room() > 0 {
            let Some((conn, cookie)) = self.synth.pop() else {
                break;
            };
            let _ = batch.push(Event::Dead {
                conn,
                cookie,
                reason: CloseReason::Aborted,
            });
            n += 1;
        }
        while batch.room() > 0 {
            let Some(ev) = self.tcp.poll_event() else {
                break;
            };
            let ev = self.translate(ev);
            let _ = batch.push(ev);
            n += 1;
        }
        n
    }

    fn execute(&mut self, calls: &mut CallQueue<N::Pool>, batch: &mut EventBatch<N::Pool>) {
        self.call_batch += 1;
        for call in calls.drain() {
            let done = self.run(call);
            batch.complete(done);
        }
    }

    fn flush(&mut self) {
        {
            let mut ctx = self.iface.tx();
            ix_net::Transport::poll(&mut self.tcp, &mut ctx);
        }
        self.iface.flush();
    }
}
