//! The connections open now, for `stats conns`: each registers when accepted
//! (its number, peer address, time) and keeps a state and the time of its last
//! command in atomics the handler updates after each batch of requests (no lock
//! on the request path; the table's lock is taken at accept, close and
//! `stats conns` only).
//!
//! memcached names a connection by its file descriptor; libix does not expose
//! sockets (the dataplane has none), so memcached-ix numbers connections itself,
//! lowest free number first as the kernel does fds: the listener is
//! [`LISTENER`], connections from 1.

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The number `stats conns` gives the listener.
pub const LISTENER: u32 = 0;

/// What a connection is doing, as memcached's state names say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ConnState {
    /// Accepted, nothing received yet (`conn_new_cmd`).
    New,
    /// Waiting for (the rest of) a request (`conn_read`).
    Read,
    /// Running requests (`conn_parse_cmd`: the one asking `stats conns`).
    ParseCmd,
    /// Receiving a value (`conn_nread`).
    Nread,
    /// Skipping a refused value (`conn_swallow`).
    Swallow,
    /// Stopped reading until the client takes its responses (`conn_mwrite`).
    Mwrite,
    /// Closing once its responses are sent (`conn_closing`).
    Closing,
}

impl ConnState {
    const ALL: [ConnState; 7] = [
        ConnState::New,
        ConnState::Read,
        ConnState::ParseCmd,
        ConnState::Nread,
        ConnState::Swallow,
        ConnState::Mwrite,
        ConnState::Closing,
    ];

    /// memcached's name for it.
    pub fn name(self) -> &'static str {
        match self {
            ConnState::New => "conn_new_cmd",
            ConnState::Read => "conn_read",
            ConnState::ParseCmd => "conn_parse_cmd",
            ConnState::Nread => "conn_nread",
            ConnState::Swallow => "conn_swallow",
            ConnState::Mwrite => "conn_mwrite",
            ConnState::Closing => "conn_closing",
        }
    }
}

/// One open connection.
#[derive(Debug)]
pub struct ConnInfo {
    number: u32,
    remote: SocketAddrV4,
    state: AtomicU8,
    last_cmd: AtomicU32,
}

impl ConnInfo {
    /// Its number (memcached's fd column).
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The peer's address.
    pub fn remote(&self) -> SocketAddrV4 {
        self.remote
    }

    /// What it is doing now.
    pub fn state(&self) -> ConnState {
        let s = self.state.load(Ordering::Relaxed);
        ConnState::ALL
            .get(usize::from(s))
            .copied()
            .unwrap_or(ConnState::Read)
    }

    /// Records what it is doing.
    pub fn set_state(&self, s: ConnState) {
        self.state.store(s as u8, Ordering::Relaxed);
    }

    /// Relative time of its last command (of its accept before one).
    pub fn last_cmd(&self) -> u32 {
        self.last_cmd.load(Ordering::Relaxed)
    }

    /// Records a command at relative time `now`.
    pub fn commanded(&self, now: u32) {
        self.last_cmd.store(now, Ordering::Relaxed);
    }
}

/// Every open connection, by number.
#[derive(Debug, Default)]
pub struct ConnTable {
    open: Mutex<BTreeMap<u32, Arc<ConnInfo>>>,
}

impl ConnTable {
    /// Registers a connection from `remote` accepted at relative time `now`
    /// under the lowest free number; it leaves the table when the returned
    /// entry drops.
    pub fn open(self: &Arc<Self>, remote: SocketAddrV4, now: u32) -> ConnEntry {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let mut number = LISTENER + 1;
        for &n in open.keys() {
            if n != number {
                break;
            }
            number += 1;
        }
        let info = Arc::new(ConnInfo {
            number,
            remote,
            state: AtomicU8::new(ConnState::New as u8),
            last_cmd: AtomicU32::new(now),
        });
        open.insert(number, Arc::clone(&info));
        ConnEntry {
            table: Arc::clone(self),
            info,
        }
    }

    /// The open connections in number order.
    pub fn snapshot(&self) -> Vec<Arc<ConnInfo>> {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

/// A connection's place in the [`ConnTable`]; dropping it takes it out.
#[derive(Debug)]
pub struct ConnEntry {
    table: Arc<ConnTable>,
    info: Arc<ConnInfo>,
}

impl ConnEntry {
    /// The connection's record.
    pub fn info(&self) -> &ConnInfo {
        &self.info
    }
}

impl Drop for ConnEntry {
    fn drop(&mut self) {
        self.table
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.info.number);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn numbers_are_reused_lowest_first_and_entries_leave_on_drop() {
        let t = Arc::new(ConnTable::default());
        let addr = |p| SocketAddrV4::new(Ipv4Addr::LOCALHOST, p);
        let a = t.open(addr(1000), 5);
        let b = t.open(addr(1001), 6);
        let c = t.open(addr(1002), 7);
        let numbers = |t: &ConnTable| t.snapshot().iter().map(|i| i.number()).collect::<Vec<_>>();
        assert_eq!(numbers(&t), [1, 2, 3]);
        drop(b);
        assert_eq!(numbers(&t), [1, 3]);
        let d = t.open(addr(1003), 8);
        assert_eq!(d.info().number(), 2, "the lowest free number, as fds");
        assert_eq!(d.info().remote(), addr(1003));
        assert_eq!((d.info().state(), d.info().last_cmd()), (ConnState::New, 8));
        d.info().set_state(ConnState::Nread);
        d.info().commanded(9);
        let snap = t.snapshot();
        assert_eq!(snap[1].state().name(), "conn_nread");
        assert_eq!(snap[1].last_cmd(), 9);
        drop((a, c, d));
        assert!(t.snapshot().is_empty());
    }
}
