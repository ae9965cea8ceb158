//! echo-ix: an echo server on libix, with a sink and a pattern source for transfer
//! tests, and `ix-run` (`src/bin/ix-run/`), which brings up a DPDK tap port in a
//! network namespace and runs the application on one elastic thread.
//!
//! The echo path copies each received byte once, into a send buffer: received
//! buffers (`RxSeg`) are not shareable payload (`SharedBuf`), and the copy is
//! counted in `ix_nic::copy`, which the runtime reports. Making it zero-copy needs
//! an `ix-nic` conversion from a received segment to a shared buffer (on DPDK: the
//! mbuf itself, refcounted, with the segment's receive-window credit released when
//! the last reference goes) — not in `ix-nic` yet. The source sends one buffer of
//! whole pattern periods by reference again and again: zero copy.

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
