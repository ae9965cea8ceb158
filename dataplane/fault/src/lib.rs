//! A seeded fault injector at the NIC boundary.
//!
//! [`FaultyNic`] wraps any [`ix_nic::Nic`] and is itself one, so the stack cannot tell
//! it is there. Frames crossing it in either direction are dropped, duplicated,
//! reordered, corrupted or delayed with the probabilities of that direction's
//! [`FaultConfig`]. Decisions come from a PRNG seeded by [`FaultPlan::seed`], one
//! independent stream per direction, so the same seed and the same traffic give the
//! same faults; delays are measured on an [`ix_nic::Clock`], so with a
//! [`VirtualClock`](ix_nic::VirtualClock) they are deterministic too.
//!
//! Tests build a plan in code; a running instance deserializes one from the `[fault]`
//! table of its TOML configuration and must call [`FaultPlan::validate`] (which
//! [`FaultyNic::new`] also does). Held frames live in queues whose capacity is
//! reserved up front: nothing is allocated per frame.
//!
//! ```
//! use ix_fakenic::FakeNic;
//! use ix_fault::{FaultConfig, FaultPlan, FaultyNic};
//! use ix_nic::{heap::HeapPool, Batch, Nic, VirtualClock};
//! use std::time::Duration;
//!
//! // Every received frame is held 10 ms.
//! let rx = FaultConfig { delay: 1.0, delay_us: 10_000, ..FaultConfig::default() };
//! let plan = FaultPlan { seed: 7, rx, tx: FaultConfig::default() };
//! let clock = VirtualClock::new();
//! let fake = FakeNic::new([2, 0, 0, 0, 0, 1], HeapPool::new(16, 2048));
//! let mut nic = FaultyNic::new(fake, clock.clone(), &plan)?;
//! nic.inner_mut().inject(b"frame")?;
//! let mut out = Batch::new();
//! assert_eq!(nic.rx_burst(&mut out), 0);
//! clock.advance(Duration::from_millis(10));
//! assert_eq!(nic.rx_burst(&mut out), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod corrupt;
mod dice;
mod error;
mod faulty;
mod lane;
mod ops;
mod stats;

pub use config::{FaultConfig, FaultPlan, MAX_HOLD_CAPACITY};
pub use error::FaultConfigError;
pub use faulty::FaultyNic;
pub use stats::FaultStats;
