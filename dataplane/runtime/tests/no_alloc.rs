//! The elastic thread's steady state allocates nothing and copies no payload: the
//! allocation-counter crate's counting global allocator watches a libix server
//! (per-connection layer, zero-copy responses) and a raw-interface client over the
//! fake NIC.
//!
//! Its own test binary, so the allocator affects nothing else; counts are per thread.

mod support;

use ix_runtime::RuntimeConfig;
use support::*;

#[test]
fn elastic_threads_in_steady_state_allocate_and_copy_nothing() {
    let mut p = pair(8, RuntimeConfig::default());
    // Warm up: handshakes done, every queue at its working size.
    p.run(2000);
    assert_eq!(p.client.handler().connected.len(), 8);
    assert!(p.client.handler().rounds > 100, "traffic flows");

    let probe = allocation_counter::measure(|| {
        drop(std::hint::black_box(Vec::<u8>::with_capacity(16)));
    });
    assert_eq!(probe.count_total, 1, "the counter works");

    ix_nic::copy::reset();
    let rounds = p.client.handler().rounds;
    let (s0, c0) = (*p.server.counters(), *p.client.counters());
    let during = allocation_counter::measure(|| p.run(5000)).count_total;
    let done = p.client.handler().rounds - rounds;
    assert_eq!(during, 0, "heap allocations on the steady-state path");
    assert_eq!(ix_nic::copy::copied_bytes(), 0, "payload copied");
    assert!(done > 1000, "only {done} request/response rounds");
    let (s1, c1) = (*p.server.counters(), *p.client.counters());
    assert!(s1.events > s0.events && s1.calls > s0.calls);
    assert!(c1.busy_iterations > c0.busy_iterations);
    assert_eq!(p.client.handler().failed_calls, 0);
    let snap = p.server.snapshot();
    assert!(snap.nic.rx_packets > 0 && snap.nic.rx_batches > 0);
    assert_eq!(snap.counters.handler_panics, 0);
}
