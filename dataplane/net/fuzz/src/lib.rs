//! Structure-aware fuzzing of `ix-net`: a grammar of frames and scripts, the code
//! that turns them into bytes, the checks every transmitted frame must pass, and the
//! harness that plays a script against an `Interface` over a `FakeNic`.
//!
//! The fuzz targets in `fuzz_targets/` are thin: they hand libFuzzer's input to
//! [`world::World`]. Everything here is ordinary Rust, so `cargo test` in this directory
//! checks the generator and the checker without libFuzzer.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod addrs;
pub mod check;
pub mod emit;
pub mod grammar;
pub mod known;
pub mod policy;
#[cfg(test)]
mod regressions;
pub mod samples;
pub mod setup;
pub mod upper;
pub mod world;

#[cfg(test)]
mod tests;
