//! Outgoing connections: a non-blocking `connect` takes a slot at once (phase
//! `Connecting`); once epoll reports the socket, its error and peer address tell
//! whether it is established (`Connected` owed) or failed (`ConnectFailed` owed).

use super::table::tx_add;
use super::KernelTransport;
use crate::error::CallError;
use crate::id::ConnId;
use crate::kernel::conn::{Final, Phase};
use crate::kernel::error::{close_reason, connect_error};
use mio::net::TcpStream;
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{SocketAddr, SocketAddrV4};

impl KernelTransport {
    /// `connect(remote, cookie)`: starts a non-blocking connect in a free slot (phase
    /// `Connecting`). Errors before any packet left are the call's; a refusal the
    /// kernel reports at once still gets an id and then `ConnectFailed`, as on ix.
    pub(super) fn connect(
        &mut self,
        remote: SocketAddrV4,
        cookie: u64,
    ) -> Result<ConnId, CallError> {
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

    /// Whether a connecting socket has an outcome: established (phase `Open`,
    /// `Connected` owed) or failed (phase `Ending`).
    pub(super) fn check_connect(&mut self, i: usize) -> bool {
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
}
