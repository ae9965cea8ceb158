//! ix-loadgen: a mutilate-compatible memcached load generator that measures latency
//! from each request's scheduled send time (no coordinated omission), with HDR
//! histograms and nanosecond clocks, over Linux sockets or libix; agents over TCP for
//! load from several machines. The binary is `ix-mutilate`; see README.md.

#![forbid(unsafe_code)]

pub mod agent;
pub mod agent_mode;
pub mod assign;
pub mod cli;
pub mod clock;
pub mod conn;
pub mod dist;
pub mod error;
pub mod histogram;
pub mod master;
pub mod pacing;
pub mod protocol;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod stats;
pub mod transport;
pub mod workload;

pub use error::{LoadgenError, Result};
