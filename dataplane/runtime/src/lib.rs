//! ix-runtime: IX's elastic threads.
//!
//! An elastic thread runs on one core (pinned with `core_affinity`) and owns one NIC
//! queue pair, one `ix_net::Interface`, one `ix_tcp::TcpEngine` and one libix
//! [`libix::Handler`] — the application, linked in ([`LinkedTransport`] is libix's
//! linked transport). Its loop runs to completion: receive a burst (bounded
//! adaptive batching: what is queued, up to [`RuntimeConfig::batch`], never waited
//! for) -> Ethernet/IPv4/TCP -> the batch of event conditions to the handler -> its
//! batched calls -> timers -> transmit. Idle, it backs off ([`IdlePolicy`]: spin,
//! yield, sleep).
//!
//! From outside: a heartbeat (iterations, one Relaxed store per iteration),
//! statistics ([`Snapshot`]: packets and bytes, bursts and their size histogram,
//! events, calls, drops by reason from ix-net and ix-tcp, busy and idle time,
//! payload copies) published every [`RuntimeConfig::stats_interval`] into a bounded
//! channel or on request, and [`Control`] messages checked without blocking.
//!
//! A panic in application code is caught at the handler boundary: the connections
//! of that batch are reset (each gets a `Dead { Aborted }` event later), the panic
//! is counted and logged, and the thread carries on — or, by [`PanicPolicy`], the
//! instance is marked failed.
//!
//! Nothing on the steady-state per-packet path allocates (a test proves it with a
//! counting allocator over the fake NIC). [`flow_group`] holds IX's flow groups and
//! the Toeplitz hash; outgoing connections get a computed local port whose replies
//! hash to the calling thread. [`arp_share`] lets the threads of one instance share
//! what ARP learns (ARP arrives on one queue).
//!
//! ```
//! use ix_fakenic::FakeNic;
//! use ix_nic::{heap::HeapPool, BufPool, MonotonicClock};
//! use ix_runtime::{spawn, Parts, RuntimeConfig};
//! use libix::{Calls, EventBatch, Handler};
//! use std::net::Ipv4Addr;
//! use std::time::Duration;
//!
//! struct Listen;
//! impl<P: BufPool> Handler<P> for Listen {
//!     fn start(&mut self, calls: &mut Calls<'_, P>) {
//!         calls.listen(80).unwrap();
//!     }
//!     fn events(&mut self, batch: &mut EventBatch<P>, _calls: &mut Calls<'_, P>) {
//!         assert_eq!(batch.completions().len(), 1, "the listen's result");
//!     }
//! }
//!
//! let handle = spawn(RuntimeConfig::default(), || {
//!     let nic = FakeNic::new([2, 0, 0, 0, 0, 1], HeapPool::new(256, 2048));
//!     let net = ix_net::Config::new(Ipv4Addr::new(10, 0, 0, 1), 24);
//!     Ok(Parts::new(nic, MonotonicClock::new(), net, Default::default(), Listen))
//! })?;
//! while handle.heartbeat() < 1000 {
//!     std::thread::sleep(Duration::from_millis(1));
//! }
//! let stats = handle.request_stats(Duration::from_secs(5)).expect("stats");
//! assert_eq!(stats.counters.handler_panics, 0);
//! let last = handle.join()?;
//! assert!(last.counters.iterations >= 1000);
//! # Ok::<(), ix_runtime::RuntimeError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod arp_share;
pub mod backoff;
pub mod config;
pub mod conns;
pub mod control;
pub mod error;
pub mod flow_group;
pub mod linked;
pub mod meter;
pub mod stats;
pub mod thread;
pub mod toeplitz;

pub use arp_share::{arp_share, ArpShare, ArpSharingNic};
pub use config::{IdlePolicy, PanicPolicy, RuntimeConfig};
pub use control::{control_channel, pin_current_thread, spawn, Control, ElasticHandle, Shared};
pub use error::RuntimeError;
pub use flow_group::FlowGroups;
pub use linked::LinkedTransport;
pub use meter::{MeteredNic, NicMeter};
pub use stats::{Counters, Snapshot};
pub use thread::{ElasticThread, Parts};
