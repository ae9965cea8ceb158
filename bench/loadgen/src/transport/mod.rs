//! How connections' bytes reach servers. Everything above this trait (schedule,
//! protocol, measurement) is the same whichever transport carries the bytes.

pub mod dataplane;
pub mod libix_kernel;
pub mod linux;

use crate::clock::Clock;
use crate::conn::Connection;
use crate::error::{LoadgenError, Result};
use std::net::{SocketAddr, SocketAddrV4};

/// Carries the bytes of a set of connections, driven by one thread.
pub trait Transport {
    /// Opens a connection to `server`; connections are numbered in the order opened,
    /// and `drive`'s `conns[i]` is the i-th one.
    fn connect(&mut self, server: SocketAddr) -> Result<()>;

    /// Moves bytes between `conns` and their sockets, calling each connection's `tick`
    /// as time passes, until every connection `is_done` (returns true) or the clock
    /// reaches `deadline_ns` (returns false).
    fn drive(
        &mut self,
        conns: &mut Vec<Connection>,
        clock: &Clock,
        deadline_ns: u64,
    ) -> Result<bool>;
}

/// Which transport to use (`--transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Linux sockets, one mio event loop per thread.
    Linux {
        /// Block in epoll between arrivals (`-B`) instead of spinning close to them.
        blocking: bool,
    },
    /// libix's per-connection layer (`ev`) on libix's kernel transport: the client
    /// code a dataplane (DPDK) client would run, over Linux sockets.
    LibixKernel,
    /// The same kind of libix application as a kernel-bypass client on the
    /// process's dataplane instance (`--ix-spec`): one elastic thread per load
    /// thread, on a DPDK port.
    Libix,
}

impl TransportKind {
    /// A new transport of this kind for one thread; `nodelay` sets `TCP_NODELAY` on
    /// its sockets (the dataplane's TCP has no Nagle delay: ignored there).
    pub fn open(self, nodelay: bool) -> Result<Box<dyn Transport>> {
        match self {
            TransportKind::Linux { blocking } => {
                Ok(Box::new(linux::LinuxTransport::new(blocking, nodelay)?))
            }
            TransportKind::LibixKernel => {
                Ok(Box::new(libix_kernel::LibixKernelTransport::new(nodelay)?))
            }
            TransportKind::Libix => Ok(Box::new(dataplane::DataplaneTransport::new()?)),
        }
    }
}

/// The IPv4 address of `server`, or a parse error naming `--server`: the libix
/// transports speak IPv4 only.
pub(crate) fn ipv4_server(server: SocketAddr) -> Result<SocketAddrV4> {
    match server {
        SocketAddr::V4(v4) => Ok(v4),
        SocketAddr::V6(_) => Err(LoadgenError::parse(
            "--server",
            &server.to_string(),
            "libix speaks IPv4 only",
        )),
    }
}

/// Checks that `drive` got one connection per opened socket (`conns` against
/// `sockets`), which the caller's numbering of connections assumes.
pub(crate) fn check_conn_count(conns: usize, sockets: usize) -> Result<()> {
    if conns == sockets {
        Ok(())
    } else {
        Err(LoadgenError::Config(format!(
            "{conns} connections for {sockets} sockets"
        )))
    }
}
