//! The **kernel** transport: libix over plain Linux sockets, driven by epoll (mio,
//! edge-triggered). An application written against [`crate::Handler`] or
//! [`crate::ev::App`] runs here unchanged, with no DPDK, no NIC and no privileges:
//! for development, for deployments without a dedicated NIC, and for benchmarks that
//! separate what ix's stack gains from what the application costs (same
//! application, two stacks).
//!
//! # Shape
//!
//! - [`KernelTransport`] implements [`crate::Transport`] with
//!   `ix_nic::heap::HeapPool` as its pool.
//! - [`KernelThread`] is one loop like an elastic thread: gather up to
//!   [`KernelConfig::batch`] events per epoll round, hand the batch (and the previous
//!   calls' completions) to the handler, run its calls in order, write; block in
//!   `epoll_wait` when idle (until readiness, the next timer, or a
//!   [`StopHandle::stop`]).
//! - [`KernelRuntime`] runs one such thread per `-T`/core, sharing nothing: each
//!   has its own epoll instance, buffer pool, connection table and listening sockets
//!   (`SO_REUSEPORT` on the same port, so the kernel spreads connections over the
//!   threads by flow hash, as IX's RSS spreads them over elastic threads).
//!
//! # Buffers
//!
//! Received data is read (`readv`) straight into pool blocks, each filled block
//! handed to the application as an [`ix_nic::RxSeg`] — that copy is the kernel's
//! `recv`, not a stack copy (nothing is counted in `ix_nic::copy`). A heap pool only
//! hands out receive blocks as copies of given bytes, so each fresh block is first
//! written once from a block of zeros (`HeapPool::rx_from`); a block given back is
//! written again when reused. Sends take [`ix_nic::SharedBuf`]s by reference: the
//! ranges are queued per connection and written with `sendmsg` (up to 64 ranges
//! gathered per call, `MSG_NOSIGNAL`); each reference is kept until the kernel has
//! accepted every byte of its range, partial writes included, then released.
//!
//! # Semantics: the linked transport's, with these differences
//!
//! Events, calls and completions keep the contract of [`crate::transport`] (one
//! completion per call in order, `EarlierSendShort` after a short send, per-connection
//! event order). Where the kernel decides, the meaning shifts:
//!
//! - **`Sent { acked }` means the kernel accepted the bytes** into the socket's send
//!   buffer — not, as on ix, that the peer acknowledged them. The references are
//!   released then (the kernel holds its own copy). Send room is
//!   [`KernelConfig::send_buf`] bytes queued per connection beyond what the kernel's
//!   socket buffer took; a `send` that does not fit is short, as on ix.
//! - **Receive window**: a connection whose application holds
//!   [`KernelConfig::recv_window`] bytes of unreleased segments is not read until it
//!   drops some (IX's flow control); the kernel's socket buffer then fills and TCP
//!   closes the peer's window. The advertised window itself is the kernel's.
//! - **`Knock`** is raised when the kernel's `accept` hands over a connection whose
//!   handshake is complete; nothing is read from it until `accept`. **`reject`**,
//!   **`abort`** and `unlisten` of a port with knocking connections close at once with
//!   a RST (`SO_LINGER` 0).
//! - **`connect`** is a non-blocking `connect`; `Connected` / `ConnectFailed` follow
//!   from the socket's error and peer address once epoll reports it writable. A
//!   connect refused synchronously still gets an id, then `ConnectFailed`, as on ix.
//!   `close` before it completes drops the socket and `Dead { Aborted }` follows.
//! - **`close`** shuts down the sending side (FIN) once the queued references are
//!   written; **`PeerClosed`** is the read returning end of stream; **`Dead
//!   { Closed }`** follows once both happened (the kernel finishes the close in the
//!   background, TIME_WAIT included). A peer that never closes after our FIN is reset
//!   after [`KernelConfig::fin_timeout`] (`Dead { Timeout }`).
//! - **`Dead`** on a socket error: `ECONNRESET`/`EPIPE` → `Reset`, `ETIMEDOUT` (and
//!   unreachable) → `Timeout`, `ECONNREFUSED` → `Refused`.
//! - **`listen(0)`** binds a port of the kernel's choice
//!   ([`KernelTransport::listening`] tells which); listeners bind
//!   [`KernelConfig::addr`].
//! - Timers are a timing wheel polled every round; an idle thread sleeps in
//!   `epoll_wait`, whose timeout has millisecond granularity.
//!
//! # Example
//!
//! The echo application of the crate example, unchanged, on the kernel transport over
//! loopback, with a plain `std` client:
//!
//! ```
//! use ix_nic::{BufPool, MutBuf, RxSeg};
//! use libix::ev::{App, ConnCx, Cx, Ev, EvConfig};
//! use libix::kernel::{KernelConfig, KernelThread};
//! use std::io::{Read, Write};
//! use std::net::{SocketAddrV4, TcpStream};
//! use std::time::{Duration, Instant};
//!
//! struct Echo;
//!
//! impl<P: BufPool> App<P> for Echo {
//!     type Conn = ();
//!     fn start(&mut self, cx: &mut Cx<'_, '_, P, ()>) {
//!         cx.listen(0).expect("listen"); // 0: a port of the kernel's choice
//!     }
//!     fn knock(&mut self, _port: u16, _remote: SocketAddrV4) -> Option<()> {
//!         Some(())
//!     }
//!     fn recv(&mut self, c: &mut ConnCx<'_, '_, P>, _: &mut (), seg: RxSeg<P::Rx>) {
//!         let Ok(mut buf) = c.pool().alloc_mut() else { return };
//!         let n = buf.extend_from_slice(&seg);
//!         let _ = c.send(&buf.freeze(), 0..n);
//!     }
//! }
//!
//! let cfg = KernelConfig::default(); // 127.0.0.1
//! let mut server = KernelThread::new(&cfg, 0, Ev::new(Echo, EvConfig::default()))?;
//! server.start();
//! let port = server.transport().listening()[0];
//! let client = std::thread::spawn(move || {
//!     let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
//!     s.write_all(b"hello").unwrap();
//!     let mut got = [0u8; 5];
//!     s.read_exact(&mut got).unwrap();
//!     got
//! });
//! let deadline = Instant::now() + Duration::from_secs(10);
//! while !client.is_finished() && Instant::now() < deadline {
//!     server.turn(Duration::from_millis(10));
//! }
//! assert_eq!(&client.join().unwrap(), b"hello");
//! # Ok::<(), libix::kernel::KernelError>(())
//! ```

mod config;
mod conn;
mod error;
mod runtime;
mod sendq;
mod stats;
mod stop;
mod thread;
mod timers;
mod transport;

#[cfg(test)]
mod tests;

pub use config::{KernelConfig, MAX_READ_BLOCKS, MAX_WRITE_PIECES};
pub use error::KernelError;
pub use runtime::{KernelRuntime, ThreadReport};
pub use stats::KernelStats;
pub use stop::StopHandle;
pub use thread::KernelThread;
pub use transport::KernelTransport;
