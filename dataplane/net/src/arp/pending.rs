//! Packets waiting for their next hop's MAC, and the retry schedule of each request.
//!
//! A fixed number of resolution slots, each with a fixed-depth queue, all allocated
//! up front: a flood of traffic to unresolvable hosts costs counted drops, never
//! memory. Frames wait complete except for the Ethernet destination, which is
//! written when the reply comes.

use ix_nic::Instant;
use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::Duration;

#[derive(Debug)]
struct Hop<F> {
    ip: Ipv4Addr,
    /// Whether this slot is resolving `ip`.
    active: bool,
    frames: VecDeque<F>,
    requests_sent: u8,
    next_request: Instant,
}

/// Where a frame went when queued for resolution.
#[derive(Debug)]
pub enum Enqueued<F> {
    /// Queued, and this is the first frame for its next hop: send the first request.
    NewHop,
    /// Queued behind others for the same next hop (a request is already out).
    Queued,
    /// The next hop's queue is full: the frame is handed back to be dropped.
    HopFull(F),
    /// Every resolution slot is busy: the frame is handed back to be dropped.
    NoSlot(F),
}

/// What a slot's timer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Nothing due.
    Idle,
    /// Send another request for this address.
    Retry(Ipv4Addr),
    /// Requests are exhausted: this many frames were dropped and the slot freed.
    GaveUp(Ipv4Addr, usize),
}

/// Bounded per-next-hop queues of frames awaiting ARP resolution.
#[derive(Debug)]
pub struct Pending<F> {
    hops: Box<[Hop<F>]>,
    per_hop: usize,
    active: usize,
}

impl<F> Pending<F> {
    /// `hops` resolution slots of `per_hop` frames each, all allocated now.
    pub fn new(hops: usize, per_hop: usize) -> Self {
        let hops = (0..hops)
            .map(|_| Hop {
                ip: Ipv4Addr::UNSPECIFIED,
                active: false,
                frames: VecDeque::with_capacity(per_hop),
                requests_sent: 0,
                next_request: Instant::ZERO,
            })
            .collect();
        Pending {
            hops,
            per_hop,
            active: 0,
        }
    }

    fn find(&self, ip: Ipv4Addr) -> Option<usize> {
        if self.active == 0 {
            return None;
        }
        self.hops.iter().position(|h| h.active && h.ip == ip)
    }

    /// Whether `ip` is being resolved.
    pub fn is_pending(&self, ip: Ipv4Addr) -> bool {
        self.find(ip).is_some()
    }

    /// Next hops being resolved.
    pub fn active_hops(&self) -> usize {
        self.active
    }

    /// Frames waiting across all next hops.
    pub fn frames(&self) -> usize {
        self.hops.iter().map(|h| h.frames.len()).sum()
    }

    /// Queues `frame` for `ip`; a new hop's first request is taken to be sent at
    /// `now`, the next one due `retry` later.
    pub fn enqueue(
        &mut self,
        ip: Ipv4Addr,
        frame: F,
        now: Instant,
        retry: Duration,
    ) -> Enqueued<F> {
        let per_hop = self.per_hop;
        if let Some(h) = self.find(ip).and_then(|i| self.hops.get_mut(i)) {
            if h.frames.len() >= per_hop {
                return Enqueued::HopFull(frame);
            }
            // Below the capacity reserved in new(): no allocation.
            h.frames.push_back(frame);
            return Enqueued::Queued;
        }
        let Some(h) = self.hops.iter_mut().find(|h| !h.active) else {
            return Enqueued::NoSlot(frame);
        };
        h.ip = ip;
        h.active = true;
        h.requests_sent = 1;
        h.next_request = now + retry;
        h.frames.push_back(frame);
        self.active += 1;
        Enqueued::NewHop
    }

    /// Ends the resolution of `ip`, handing each waiting frame to `f` in the order
    /// queued; returns how many there were.
    pub fn resolve(&mut self, ip: Ipv4Addr, mut f: impl FnMut(F)) -> usize {
        let Some(h) = self.find(ip).and_then(|i| self.hops.get_mut(i)) else {
            return 0;
        };
        h.active = false;
        let n = h.frames.len();
        // drain() keeps the queue's allocation for the slot's next use.
        h.frames.drain(..).for_each(&mut f);
        self.active -= 1;
        n
    }

    /// Number of slots, for [`Pending::tick`].
    pub fn slots(&self) -> usize {
        self.hops.len()
    }

    /// Runs slot `i`'s timer at `now`: a due slot with requests left asks for a retry
    /// (due again `retry` later); one that sent `max_requests` without an answer drops
    /// its frames and is freed.
    pub fn tick(&mut self, i: usize, now: Instant, retry: Duration, max_requests: u8) -> Tick {
        let Some(h) = self.hops.get_mut(i) else {
            return Tick::Idle;
        };
        if !h.active || now < h.next_request {
            return Tick::Idle;
        }
        if h.requests_sent < max_requests {
            h.requests_sent += 1;
            h.next_request = now + retry;
            return Tick::Retry(h.ip);
        }
        h.active = false;
        let n = h.frames.len();
        h.frames.clear();
        self.active -= 1;
        Tick::GaveUp(h.ip, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RETRY: Duration = Duration::from_secs(1);

    fn ip(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, n)
    }

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    #[test]
    fn bounded_per_hop_and_in_slots() {
        let mut p: Pending<u32> = Pending::new(2, 2);
        assert!(matches!(
            p.enqueue(ip(1), 1, ms(0), RETRY),
            Enqueued::NewHop
        ));
        assert!(matches!(
            p.enqueue(ip(1), 2, ms(0), RETRY),
            Enqueued::Queued
        ));
        assert!(matches!(
            p.enqueue(ip(1), 3, ms(0), RETRY),
            Enqueued::HopFull(3)
        ));
        assert!(matches!(
            p.enqueue(ip(2), 4, ms(0), RETRY),
            Enqueued::NewHop
        ));
        assert!(matches!(
            p.enqueue(ip(3), 5, ms(0), RETRY),
            Enqueued::NoSlot(5)
        ));
        assert_eq!((p.active_hops(), p.frames()), (2, 3));
    }

    #[test]
    fn resolution_releases_in_order_and_frees_the_slot() {
        let mut p: Pending<u32> = Pending::new(1, 4);
        for v in 1..=3 {
            p.enqueue(ip(1), v, ms(0), RETRY);
        }
        let mut out = Vec::new();
        assert_eq!(p.resolve(ip(1), |f| out.push(f)), 3);
        assert_eq!(out, vec![1, 2, 3]);
        assert!(!p.is_pending(ip(1)));
        assert_eq!(p.resolve(ip(1), |_| unreachable!()), 0);
        assert!(matches!(
            p.enqueue(ip(2), 9, ms(0), RETRY),
            Enqueued::NewHop
        ));
    }

    #[test]
    fn retries_then_gives_up() {
        let mut p: Pending<u32> = Pending::new(1, 4);
        p.enqueue(ip(1), 1, ms(0), RETRY);
        p.enqueue(ip(1), 2, ms(0), RETRY);
        assert_eq!(p.tick(0, ms(999), RETRY, 3), Tick::Idle);
        assert_eq!(p.tick(0, ms(1000), RETRY, 3), Tick::Retry(ip(1)));
        assert_eq!(p.tick(0, ms(1500), RETRY, 3), Tick::Idle);
        assert_eq!(p.tick(0, ms(2000), RETRY, 3), Tick::Retry(ip(1)));
        assert_eq!(p.tick(0, ms(3000), RETRY, 3), Tick::GaveUp(ip(1), 2));
        assert_eq!((p.active_hops(), p.frames()), (0, 0));
        assert_eq!(p.tick(0, ms(9000), RETRY, 3), Tick::Idle);
        assert_eq!(p.tick(7, ms(9000), RETRY, 3), Tick::Idle, "no such slot");
    }
}
