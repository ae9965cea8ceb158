//! What the runner's side and an elastic thread's [`super::driver::LoadDriver`]
//! say to each other: one [`Reply`] per [`Command`].

use crate::clock::Clock;
use crate::conn::Connection;
use std::net::SocketAddrV4;

/// What the runner's thread asks of the driver.
#[derive(Debug)]
pub enum Command {
    /// Open one more connection (numbered in the order opened).
    Connect(SocketAddrV4),
    /// Drive every connection until all are done or the clock reaches the deadline.
    Drive(Job),
    /// Close every connection (gracefully) and forget them.
    CloseAll,
}

/// The connections to drive, on the run's clock.
#[derive(Debug)]
pub struct Job {
    /// One per connection opened, in order.
    pub conns: Vec<Connection>,
    /// The run's clock.
    pub clock: Clock,
    /// When to give up, on that clock.
    pub deadline_ns: u64,
}

/// The driver's answers, one per command.
#[derive(Debug)]
pub enum Reply {
    /// The connection is established, or why not.
    Connected(Result<(), String>),
    /// The connections back; whether all finished before the deadline, or why not.
    Driven {
        /// The job's connections.
        conns: Vec<Connection>,
        /// `Ok(true)`: all done; `Ok(false)`: deadline; `Err`: a failure.
        result: Result<bool, String>,
    },
    /// Every connection is gone.
    Closed,
}
