//! A panic in application code is contained: the connections of the batch are reset
//! (and reported dead), the panic is counted, the thread goes on serving the others;
//! under `FailInstance` the instance is marked failed instead.

mod support;

use ix_runtime::{PanicPolicy, RuntimeConfig};
use libix::CloseReason;
use support::*;

fn poison_first(p: &mut Pair) -> libix::ConnId {
    let victim = p.client.handler().connected[0];
    let poison = p.client.handler().poison.clone().unwrap();
    // Sent outside a handler: queue a raw call through a one-off handler run.
    p.client.handler_mut().req = Some(poison);
    victim
}

#[test]
fn a_panicking_handler_resets_its_batch_and_the_thread_carries_on() {
    let mut p = pair(4, RuntimeConfig::default());
    p.run(500);
    assert_eq!(p.client.handler().connected.len(), 4);
    let before = p.client.handler().rounds;
    assert!(before > 0);
    // Every following request is poisoned: each connection's next batch panics.
    let _ = poison_first(&mut p);
    p.run(500);
    let s = p.server.snapshot();
    assert!(s.counters.handler_panics >= 1, "{s}");
    assert!(s.counters.panic_resets >= 1);
    assert!(!s.failed);
    // The clients saw their connections reset.
    let dead = &p.client.handler().dead;
    assert!(!dead.is_empty());
    assert!(
        dead.iter().all(|&(_, r)| r == CloseReason::Reset),
        "{dead:?}"
    );
    // The server's application heard of the resets (Dead events it was owed).
    assert_eq!(p.server.handler().app().dead, s.counters.panic_resets);
    // And the thread is alive: it still iterates and accepts new connections.
    assert!(p.server.iterate() || p.server.counters().iterations > 1000);
}

#[test]
fn under_fail_instance_the_instance_is_marked_failed() {
    let rt = RuntimeConfig {
        panic_policy: PanicPolicy::FailInstance,
        ..RuntimeConfig::default()
    };
    let mut p = pair(1, rt);
    p.run(300);
    let _ = poison_first(&mut p);
    p.run(300);
    assert!(p.server.is_failed());
    assert!(p.server.snapshot().failed);
}
