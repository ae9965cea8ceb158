//! Congestion control: the window that bounds what a connection has in flight.
//!
//! One algorithm today, [`newreno::NewReno`] (RFC 5681 slow start and congestion
//! avoidance with byte counting, RFC 6928's initial window, RFC 6582's window during
//! fast recovery, RFC 3708's undo). Which segments are lost and which to (re)send
//! is decided by the connection (RACK over the retransmission queue and RFC 6675's
//! pipe with SACK, NewReno's duplicate and partial ACKs without); this module only
//! sizes the window.

pub mod newreno;

pub use newreno::NewReno;
