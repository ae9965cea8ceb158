//! echo-ix: an echo server on libix, with a sink and a pattern source for transfer
//! tests, and `ix-run` (`src/bin/ix-run/`), which brings up a DPDK tap port in a
//! network namespace and runs the application on one elastic thread.
//!
//! Every service is zero copy. The echo sends each received segment back by
//! reference: `RxSeg::into_shared` freezes the received frame in place (on DPDK the
//! receive mbuf itself, refcounted) and the echo sends the payload as a range of it.
//! The segment's receive-window credit is kept until the peer acknowledges the echoed
//! bytes (IX's flow control: the window is the memory the application holds, and the
//! echo holds the received buffers until then). The sink reads segments where they
//! arrived; the source sends one buffer of whole pattern periods by reference again
//! and again. `ix_nic::copy` counts 0 payload bytes for all three.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod cli;
pub mod client;
pub mod nic;
pub mod pattern;

pub use app::{AppStats, EchoIx, Services};
/// Port setup lives in ix-instance; re-exported for the binaries and tests here.
pub use ix_instance::{tap, vhost};
