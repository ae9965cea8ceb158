//! libix: ix's application interface, after IX's (OSDI'14).
//!
//! An application is a [`Handler`], one per elastic thread. Its transport hands it
//! **event conditions** in bounded batches ([`EventBatch`] of [`Event`]: knock,
//! connected, recv, sent, peer-closed, dead, timer) and it answers with **batched
//! calls** ([`Calls`]: listen, accept, reject, connect, send — a `sendv` is several —,
//! close, abort, timers). Calls run in order right after the handler returns; one
//! [`Completion`] per call (bytes a send took, a new connection's id, an error)
//! arrives with the next batch, in preallocated space: nothing on this path
//! allocates.
//!
//! Zero copy without use-after-free: received bytes arrive as owned
//! [`ix_nic::RxSeg`]s (dropping one is `recv_done`: the buffer is released and the
//! connection's receive window reopens by its length — IX's flow control), and
//! sends take [`ix_nic::SharedBuf`]s by reference count, so a buffer lives until the
//! peer has acknowledged it, however long the application keeps its own handle.
//!
//! The handler is generic over the pool, so application code does not change
//! across transports; the boundary a transport implements is [`Transport`] (see
//! that module for the linked, kernel and process transports).
//!
//! [`ev`] is the convenient layer on top, like IX's ixev: per-connection state and
//! callbacks, automatic retry of short sends, bounded per-connection queues of
//! unsent references, deferred close. The raw interface stays available.
//!
//! # Example
//!
//! An echo server on the linked transport, driven over an in-memory link by a
//! client written against the same raw interface (runnable: it is a doc test).
//!
//! ```
//! use ix_fakenic::FakeLink;
//! use ix_net::Config as NetConfig;
//! use ix_nic::{BufPool, MutBuf, RxSeg, VirtualClock};
//! use ix_runtime::{ElasticThread, Parts, RuntimeConfig};
//! use ix_tcp::TcpConfig;
//! use libix::ev::{App, ConnCx, Cx, Ev, EvConfig};
//! use libix::{Calls, Event, EventBatch, Handler};
//! use std::net::{Ipv4Addr, SocketAddrV4};
//! use std::time::Duration;
//!
//! /// Echoes every byte: copies the received bytes into a payload buffer and sends it.
//! struct Echo;
//!
//! impl<P: BufPool> App<P> for Echo {
//!     type Conn = ();
//!     fn start(&mut self, cx: &mut Cx<'_, '_, P, ()>) {
//!         cx.listen(7).expect("listen");
//!     }
//!     fn knock(&mut self, _port: u16, _remote: SocketAddrV4) -> Option<()> {
//!         Some(())
//!     }
//!     fn recv(&mut self, c: &mut ConnCx<'_, '_, P>, _: &mut (), seg: RxSeg<P::Rx>) {
//!         let Ok(mut buf) = c.pool().alloc_mut() else { return };
//!         let n = buf.extend_from_slice(&seg);
//!         let _ = c.send(&buf.freeze(), 0..n);
//!     } // `seg` dropped here: recv_done
//! }
//!
//! /// Connects, sends "hello", collects what comes back.
//! #[derive(Default)]
//! struct Client { got: Vec<u8> }
//!
//! impl<P: BufPool> Handler<P> for Client {
//!     fn start(&mut self, calls: &mut Calls<'_, P>) {
//!         calls.connect(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 7), 42).unwrap();
//!     }
//!     fn events(&mut self, batch: &mut EventBatch<P>, calls: &mut Calls<'_, P>) {
//!         for ev in batch.drain() {
//!             match ev {
//!                 Event::Connected { conn, cookie: 42 } => {
//!                     let mut b = calls.pool().alloc_mut().unwrap();
//!                     b.extend_from_slice(b"hello");
//!                     calls.send(conn, &b.freeze(), 0..5).unwrap();
//!                 }
//!                 Event::Recv { seg, .. } => self.got.extend_from_slice(&seg),
//!                 _ => {}
//!             }
//!         }
//!     }
//! }
//!
//! let (a, b) = FakeLink::pair([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], 512, 2048);
//! let clock = VirtualClock::new();
//! let net = |last| NetConfig::new(Ipv4Addr::new(10, 0, 0, last), 24);
//! let rt = RuntimeConfig::default();
//! let server = Ev::new(Echo, EvConfig::default());
//! let mut s = ElasticThread::new(Parts::new(a, clock.clone(), net(1), TcpConfig::default(), server), rt.clone())?;
//! let mut c = ElasticThread::new(Parts::new(b, clock.clone(), net(2), TcpConfig::default(), Client::default()), rt)?;
//! for _ in 0..100 {
//!     s.iterate();
//!     c.iterate();
//!     clock.advance(Duration::from_micros(100));
//! }
//! assert_eq!(c.handler().got, b"hello");
//! # Ok::<(), ix_runtime::RuntimeError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod call;
pub mod completion;
pub mod error;
pub mod ev;
pub mod event;
pub mod handler;
pub mod id;
pub mod kernel;
pub mod timers;
pub mod transport;

pub use call::{Call, CallQueue, Calls};
pub use completion::Completion;
pub use error::{CallError, CloseReason};
pub use event::{Event, EventBatch};
pub use handler::Handler;
pub use id::{ConnId, TimerId};
pub use kernel::{KernelConfig, KernelRuntime, KernelThread, KernelTransport, StopHandle};
pub use timers::AppTimers;
pub use transport::{step, Transport};
