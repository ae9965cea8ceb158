//! Congestion control: the window that bounds what a connection has in flight.
//!
//! One algorithm today, [`newreno::NewReno`] (RFC 5681 slow start and congestion
//! avoidance with byte counting, RFC 6928's initial window, RFC 6582's window during
//! fast recovery). Which segments to (re)send during recovery is decided by the
//! connection (SACK scoreboard per RFC 6675, or NewReno's partial ACKs without SACK);
//! this module only sizes the window.

pub mod newreno;

pub use newreno::NewReno;
