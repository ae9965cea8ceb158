//! The kernel transport over loopback (127.0.0.1 only): raw handlers scripted per
//! test against plain `std` peers, one file per topic; [`support`] holds the
//! scripted handler, the event log and the loop driver they share.

mod accept;
mod connect;
mod lifecycle;
mod listen;
mod recv;
mod runtime;
mod send;
mod support;
mod timers;
