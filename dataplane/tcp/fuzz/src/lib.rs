//! Structure-aware fuzzing of `ix-tcp` with live connections.
//!
//! Each input is a [`grammar::Script`]: a [`setup::Setup`] (configuration and how
//! many passive and active connections to establish first, deterministically) and a
//! list of [`grammar::Action`]s: segments from a grammar resolved against each
//! flow's state by [`peer`] (so most land in or near the window), virtual time,
//! application calls. [`world::World`] plays it against a `TcpEngine` under an
//! `ix_net::Interface` over a `FakeNic`, checking after every step what
//! [`check`] (each frame), [`segments`] (each segment against its flow), [`app`]
//! (events), [`calls`] (call results) and [`invariants`] (tables, books, counters)
//! demand, [`ts_check`] (RFC 7323 timestamps, when an input turns them on: the
//! peers' side in [`tsopt`]), and at the end that nothing leaked; [`trace`] prints a run.
//!
//! The fuzz target in `fuzz_targets/` is one line; everything here is ordinary Rust,
//! so `cargo test` in this directory checks the harness without libFuzzer.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod trace;

pub mod addrs;
pub mod app;
pub mod calls;
pub mod check;
pub mod grammar;
pub mod invariants;
pub mod offers;
pub mod peer;
pub mod random;
pub mod segments;
pub mod sent;
pub mod setup;
pub mod ts_check;
pub mod tsopt;
pub mod wire;
pub mod world;

#[cfg(test)]
mod regressions;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod ts_tests;
