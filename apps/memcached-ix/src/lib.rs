//! memcached-ix: a memcached that existing clients cannot tell from the real one, on
//! libix.
//!
//! - [`text`], [`meta`] and [`binary`] parse memcached's three request syntaxes into
//!   typed commands (pure functions over complete lines / headers: fuzzable).
//! - [`store`] is the item store shared by every thread: striped shards, each a hash
//!   map with its own LRU list, global memory accounting, CAS counter, expiry on a
//!   clock passed in.
//! - [`conn`] is one connection's state machine: reassembly of requests split across
//!   segments, value bytes streamed into store buffers, responses queued as buffer
//!   references (a GET sends the stored value by reference, never a copy).
//! - [`handler`] is the libix application (generic over the buffer pool), [`args`]
//!   memcached's command-line flags, [`stats`] the counters behind `stats`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod args;
pub mod binary;
pub mod conn;
pub mod conns;
pub mod exec;
pub mod handler;
pub mod meta;
pub mod num;
pub mod out;
pub mod prefix;
pub mod stats;
pub mod store;
pub mod text;
pub mod tunables;

/// The version string memcached-ix reports (`version`, `stats`): memcached's
/// protocol level it speaks.
pub const VERSION: &str = "1.6.18";
