//! The Linux-socket transport: non-blocking TCP sockets under one mio (epoll) loop per
//! thread. Like mutilate's default, it polls without blocking when the next arrival is
//! near, because epoll's millisecond timeouts would delay sends by up to a millisecond.

use super::Transport;
use crate::clock::Clock;
use crate::conn::Connection;
use crate::error::{LoadgenError, Result};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

/// Closer than this to the next arrival, the loop spins instead of sleeping in epoll.
const SPIN_NS: u64 = 2_000_000;
/// How long a connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Sockets of one thread and the epoll instance watching them.
pub struct LinuxTransport {
    poll: Poll,
    events: Events,
    sockets: Vec<TcpStream>,
    peers: Vec<SocketAddr>,
    rx_buf: Vec<u8>,
    ready: Vec<(usize, bool, bool)>,
    blocking: bool,
    nodelay: bool,
}

impl LinuxTransport {
    /// An empty transport; `blocking` sleeps in epoll until the next arrival (rounded
    /// up to a millisecond) instead of spinning near it; `nodelay` sets `TCP_NODELAY`
    /// (mutilate's default; `--no_nodelay` leaves Nagle on).
    pub fn new(blocking: bool, nodelay: bool) -> Result<Self> {
        Ok(LinuxTransport {
            poll: Poll::new().map_err(|e| LoadgenError::io("epoll_create", e))?,
            events: Events::with_capacity(1024),
            sockets: Vec::new(),
            peers: Vec::new(),
            rx_buf: vec![0; 256 * 1024],
            ready: Vec::with_capacity(1024),
            blocking,
            nodelay,
        })
    }

    fn flush(&mut self, i: usize, conn: &mut Connection) -> Result<()> {
        while !conn.tx_pending().is_empty() {
            match self.sockets[i].write(conn.tx_pending()) {
                Ok(0) => return Err(self.closed(i)),
                Ok(n) => conn.tx_advance(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(LoadgenError::io(format!("send to {}", self.peers[i]), e)),
            }
        }
        Ok(())
    }

    fn receive(&mut self, i: usize, conn: &mut Connection, clock: &Clock) -> Result<()> {
        loop {
            match self.sockets[i].read(&mut self.rx_buf) {
                Ok(0) => return Err(self.closed(i)),
                Ok(n) => conn.on_rx(&self.rx_buf[..n], clock.now_ns())?,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(LoadgenError::io(
                        format!("receive from {}", self.peers[i]),
                        e,
                    ))
                }
            }
        }
    }

    fn closed(&self, i: usize) -> LoadgenError {
        LoadgenError::Protocol(format!("{} closed the connection", self.peers[i]))
    }
}

impl Transport for LinuxTransport {
    fn connect(&mut self, server: SocketAddr) -> Result<()> {
        let what = || format!("connect to {server}");
        let std_stream = std::net::TcpStream::connect_timeout(&server, CONNECT_TIMEOUT)
            .map_err(|e| LoadgenError::io(what(), e))?;
        std_stream
            .set_nodelay(self.nodelay)
            .map_err(|e| LoadgenError::io(what(), e))?;
        std_stream
            .set_nonblocking(true)
            .map_err(|e| LoadgenError::io(what(), e))?;
        let mut stream = TcpStream::from_std(std_stream);
        let token = Token(self.sockets.len());
        self.poll
            .registry()
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| LoadgenError::io(what(), e))?;
        self.sockets.push(stream);
        self.peers.push(server);
        Ok(())
    }

    fn drive(
        &mut self,
        conns: &mut Vec<Connection>,
        clock: &Clock,
        deadline_ns: u64,
    ) -> Result<bool> {
        super::check_conn_count(conns.len(), self.sockets.len())?;
        loop {
            let now = clock.now_ns();
            let mut all_done = true;
            let mut wake = deadline_ns;
            for (i, conn) in conns.iter_mut().enumerate() {
                conn.tick(now);
                self.flush(i, conn)?;
                all_done &= conn.is_done(now);
                if let Some(t) = conn.next_wakeup(now) {
                    wake = wake.min(t);
                }
            }
            if all_done {
                return Ok(true);
            }
            if now >= deadline_ns {
                return Ok(false);
            }
            let until = wake.saturating_sub(now);
            let timeout = if self.blocking {
                Duration::from_nanos(until)
            } else if until > SPIN_NS {
                // epoll rounds up to whole milliseconds: wake a millisecond early.
                Duration::from_nanos(until - 1_000_000)
            } else {
                Duration::ZERO
            };
            match self.poll.poll(&mut self.events, Some(timeout)) {
                // Spinning with nothing to do: let a server on the same core run.
                Ok(()) if self.events.is_empty() && timeout.is_zero() => thread::yield_now(),
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(LoadgenError::io("epoll_wait", e)),
            }
            self.ready.clear();
            self.ready.extend(self.events.iter().map(|e| {
                let readable = e.is_readable() || e.is_read_closed() || e.is_error();
                (e.token().0, readable, e.is_writable())
            }));
            for k in 0..self.ready.len() {
                let (i, readable, writable) = self.ready[k];
                let Some(conn) = conns.get_mut(i) else {
                    continue;
                };
                if readable {
                    self.receive(i, conn, clock)?;
                }
                if writable {
                    self.flush(i, conn)?;
                }
            }
        }
    }
}
