//! Listening sockets and the accept path: `listen` binds a non-blocking
//! `SO_REUSEPORT` socket (every thread of an instance on the same port), the
//! kernel's completed connections are taken with `accept` and announced as `Knock`,
//! the application's `accept`/`reject` settle them, and `unlisten` resets the ones
//! still knocking.

use super::table::enqueue;
use super::KernelTransport;
use crate::error::CallError;
use crate::event::{Event, EventBatch};
use crate::id::ConnId;
use crate::kernel::conn::Phase;
use crate::kernel::error::{interrupted, listen_error, would_block};
use ix_nic::heap::HeapPool;
use mio::net::TcpListener;
use mio::{Interest, Token};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{SocketAddr, SocketAddrV4};

/// A listening socket of this thread.
#[derive(Debug)]
pub(super) struct Listener {
    /// The port it is bound to (the kernel's choice when `listen(0)`).
    pub(super) port: u16,
    /// The port the application asked for (what `unlisten` names).
    pub(super) asked: u16,
    /// The socket, registered with epoll under the listener's slot index.
    pub(super) sock: TcpListener,
    /// Connections may be waiting in its accept queue.
    pub(super) ready: bool,
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

impl KernelTransport {
    /// `listen(port)`: binds [`KernelConfig::addr`](crate::kernel::KernelConfig::addr)`:port`
    /// (0: the kernel's choice) in a free listener slot, registered with epoll and
    /// marked ready (a connection may already wait). The port must not be ours already.
    pub(super) fn listen(&mut self, port: u16) -> Result<(), CallError> {
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

    /// `unlisten(port)`: closes the listener asked for as (or bound to) `port`;
    /// connections it announced and the application has not accepted are reset.
    pub(super) fn unlisten(&mut self, port: u16) -> Result<(), CallError> {
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

    /// `accept(conn, cookie)`: the knocking connection becomes the application's
    /// (phase `Open`, events carry `cookie`); data that arrived meanwhile is read now.
    pub(super) fn accept_knock(&mut self, conn: ConnId, cookie: u64) -> Result<(), CallError> {
        self.lookup(conn).and_then(|i| {
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
        })
    }

    /// `reject(conn)`: the knocking connection is reset and its slot freed (no event
    /// follows).
    pub(super) fn reject_knock(&mut self, conn: ConnId) -> Result<(), CallError> {
        self.lookup(conn).and_then(|i| {
            if self.conns[i].phase != Phase::Knocking {
                return Err(CallError::InvalidState);
            }
            self.free_slot(i, true);
            Ok(())
        })
    }

    /// Accepts waiting connections (each a `Knock`) while `limit` and the batch allow.
    pub(super) fn accept(&mut self, batch: &mut EventBatch<HeapPool>, limit: usize) {
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
}
