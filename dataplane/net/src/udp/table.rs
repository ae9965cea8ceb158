//! Bound UDP ports and their bounded queues of received datagrams.
//!
//! A fixed number of port slots, each queue's capacity reserved when the table is
//! made, so binding and delivering never allocate. Datagrams are kept as owned
//! [`RxSeg`]s over the received buffers: zero copy, and the application decides how
//! long to hold each one.

use ix_nic::{RxBuf, RxSeg};
use std::collections::VecDeque;
use std::net::SocketAddrV4;

/// A received UDP datagram: its addresses and its payload, still in the receive buffer.
#[derive(Debug)]
pub struct Datagram<R: RxBuf> {
    /// Who sent it.
    pub src: SocketAddrV4,
    /// Where it was sent: our address (or a broadcast address) and the bound port.
    pub dst: SocketAddrV4,
    /// The payload; dropping it returns the buffer to its pool.
    pub payload: RxSeg<R>,
}

/// Why a port operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UdpError {
    /// Port 0 cannot be bound.
    #[error("port 0 cannot be bound")]
    PortZero,
    /// The port is bound already.
    #[error("port {0} is already bound")]
    InUse(u16),
    /// Every port slot is taken.
    #[error("no free UDP port slot")]
    TableFull,
    /// The port is not bound.
    #[error("port {0} is not bound")]
    NotBound(u16),
}

#[derive(Debug)]
struct Slot<R: RxBuf> {
    /// The bound port; 0 when the slot is free.
    port: u16,
    queue: VecDeque<Datagram<R>>,
}

/// The bound ports of one interface.
#[derive(Debug)]
pub struct UdpTable<R: RxBuf> {
    slots: Box<[Slot<R>]>,
    depth: usize,
}

impl<R: RxBuf> UdpTable<R> {
    /// Room for `ports` bound ports with `depth` queued datagrams each, all reserved now.
    pub fn new(ports: usize, depth: usize) -> Self {
        let slots = (0..ports)
            .map(|_| Slot {
                port: 0,
                queue: VecDeque::with_capacity(depth),
            })
            .collect();
        UdpTable { slots, depth }
    }

    /// The slot index of bound `port`.
    pub(crate) fn find(&self, port: u16) -> Option<usize> {
        if port == 0 {
            return None;
        }
        self.slots.iter().position(|s| s.port == port)
    }

    /// Starts queueing datagrams for `port`.
    pub fn bind(&mut self, port: u16) -> Result<(), UdpError> {
        if port == 0 {
            return Err(UdpError::PortZero);
        }
        if self.find(port).is_some() {
            return Err(UdpError::InUse(port));
        }
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.port == 0)
            .ok_or(UdpError::TableFull)?;
        slot.port = port;
        Ok(())
    }

    /// Stops queueing for `port`, dropping what was queued; returns how many were.
    pub fn unbind(&mut self, port: u16) -> Result<usize, UdpError> {
        let slot = self
            .find(port)
            .and_then(|i| self.slots.get_mut(i))
            .ok_or(UdpError::NotBound(port))?;
        slot.port = 0;
        let n = slot.queue.len();
        // clear() keeps the reserved capacity for the slot's next port.
        slot.queue.clear();
        Ok(n)
    }

    /// Whether `port` is bound.
    pub fn is_bound(&self, port: u16) -> bool {
        self.find(port).is_some()
    }

    /// The oldest datagram queued for `port`.
    pub fn recv(&mut self, port: u16) -> Option<Datagram<R>> {
        let i = self.find(port)?;
        self.slots.get_mut(i)?.queue.pop_front()
    }

    /// Datagrams queued for `port`.
    pub fn queued(&self, port: u16) -> usize {
        self.find(port)
            .and_then(|i| self.slots.get(i))
            .map_or(0, |s| s.queue.len())
    }

    /// Whether slot `i`'s queue cannot take another datagram.
    pub(crate) fn is_full(&self, i: usize) -> bool {
        self.slots
            .get(i)
            .is_none_or(|s| s.queue.len() >= self.depth)
    }

    /// Queues `d` on slot `i`; hands it back if the queue is full.
    pub(crate) fn deliver(&mut self, i: usize, d: Datagram<R>) -> Result<(), Datagram<R>> {
        if self.is_full(i) {
            return Err(d);
        }
        match self.slots.get_mut(i) {
            // Below the capacity reserved in new(): no allocation.
            Some(s) => {
                s.queue.push_back(d);
                Ok(())
            }
            None => Err(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ix_nic::heap::HeapPool;
    use std::net::Ipv4Addr;

    fn dgram(pool: &HeapPool, byte: u8) -> Datagram<ix_nic::heap::HeapRx> {
        let rx = pool.rx_from(&[byte; 4]).unwrap();
        let a = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 9);
        Datagram {
            src: a,
            dst: a,
            payload: RxSeg::new(rx, 0..4).unwrap(),
        }
    }

    #[test]
    fn bind_rules() {
        let mut t: UdpTable<ix_nic::heap::HeapRx> = UdpTable::new(2, 4);
        assert_eq!(t.bind(0), Err(UdpError::PortZero));
        assert_eq!(t.bind(53), Ok(()));
        assert_eq!(t.bind(53), Err(UdpError::InUse(53)));
        assert_eq!(t.bind(54), Ok(()));
        assert_eq!(t.bind(55), Err(UdpError::TableFull));
        assert_eq!(t.unbind(53), Ok(0));
        assert_eq!(t.unbind(53), Err(UdpError::NotBound(53)));
        assert_eq!(t.bind(55), Ok(()));
        assert!(t.is_bound(55) && !t.is_bound(53) && !t.is_bound(0));
    }

    #[test]
    fn queues_are_bounded_fifo_and_unbind_releases() {
        let pool = HeapPool::new(8, 64);
        let mut t = UdpTable::new(1, 2);
        t.bind(7).unwrap();
        let i = t.find(7).unwrap();
        assert!(t.deliver(i, dgram(&pool, 1)).is_ok());
        assert!(t.deliver(i, dgram(&pool, 2)).is_ok());
        assert!(t.is_full(i));
        let refused = t.deliver(i, dgram(&pool, 3)).unwrap_err();
        drop(refused);
        assert_eq!(t.queued(7), 2);
        assert_eq!(t.recv(7).unwrap().payload.data(), &[1; 4]);
        assert_eq!(t.unbind(7), Ok(1));
        assert_eq!(pool.stats().in_use(), 0, "queued buffers released");
        assert!(t.recv(7).is_none());
    }
}
