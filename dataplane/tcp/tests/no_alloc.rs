//! The steady-state path allocates nothing: a counting global allocator watches two
//! engines over a FakeLink exchanging request/response traffic on warm connections.
//!
//! Its own test binary, so the allocator affects nothing else; counts are per thread.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;
use support::*;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

// SAFETY: defers every operation to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_allocates_nothing_and_copies_nothing() {
    steady_state(false);
}

/// The same with RFC 7323 timestamps negotiated: TSopt on every segment, PAWS,
/// TS.Recent and RTT from TSecr allocate nothing either.
#[test]
fn steady_state_with_timestamps_allocates_nothing() {
    steady_state(true);
}

/// Warm request/response traffic (timestamps as `timestamps`) allocates and copies
/// nothing.
fn steady_state(timestamps: bool) {
    use ix_nic::SharedBuf;
    use ix_tcp::TcpEvent;
    let c = ix_tcp::TcpConfig {
        timestamps,
        ..cfg()
    };
    let mut n = pair_with(c.clone(), c);
    let (ca, cb) = n.open(80);
    assert_eq!(n.a.tcp.conn_info(ca).unwrap().timestamps, timestamps);
    // Payload buffers made once, up front (the application's, frozen).
    let req = n.a.pool().shared_from(&[0x11; 64]).unwrap();
    let resp = n.b.pool().shared_from(&[0x22; 1400]).unwrap();
    let mut got_a = 0usize;
    let mut got_b = 0usize;
    // One round: A sends a request, B answers; events handled without allocating.
    let round = |n: &mut Net<ix_fakenic::FakeNic>, got_a: &mut usize, got_b: &mut usize| {
        assert_eq!(n.a.tcp.send(ca, &req, 0..req.len()), Ok(64));
        for _ in 0..4 {
            n.a.iface.poll(&mut n.a.tcp);
            while let Some(ev) = n.a.tcp.poll_event() {
                if let TcpEvent::Recv { seg, .. } = ev {
                    *got_a += seg.len();
                }
            }
            n.b.iface.poll(&mut n.b.tcp);
            while let Some(ev) = n.b.tcp.poll_event() {
                if let TcpEvent::Recv { seg, .. } = ev {
                    *got_b += seg.len();
                    assert_eq!(n.b.tcp.send(cb, &resp, 0..resp.len()), Ok(1400));
                }
            }
            n.clock.advance(Duration::from_micros(100));
        }
    };
    // Warm up: every queue reaches its working capacity.
    for _ in 0..200 {
        round(&mut n, &mut got_a, &mut got_b);
    }
    let probe = allocs();
    drop(std::hint::black_box(Vec::<u8>::with_capacity(16)));
    assert_eq!(allocs() - probe, 1, "the counter works");

    ix_nic::copy::reset();
    let (a0, b0) = (got_a, got_b);
    let before = allocs();
    for _ in 0..2000 {
        round(&mut n, &mut got_a, &mut got_b);
    }
    let during = allocs() - before;
    assert_eq!(during, 0, "heap allocations on the steady-state path");
    assert_eq!(ix_nic::copy::copied_bytes(), 0, "payload copied");
    assert_eq!(got_b - b0, 2000 * 64);
    assert_eq!(got_a - a0, 2000 * 1400);
    assert_eq!(n.a.tcp.stats().get(ix_tcp::Counter::Retransmits), 0);
}
