//! An elastic thread as the echo server (echo, sink, source): runs until stopped,
//! then reports the application's counters and the flows it served.

use crate::elastic::{Setup, Slot};
use crate::report::{key_values, stat_lines, Outcome};
use anyhow::Result;
use echo_ix::{AppStats, EchoIx, Services};
use ix_runtime::Snapshot;
use libix::ev::EvConfig;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The server's numbers, in `RESULT` order: the application's, then the thread's.
fn server_totals(app: &AppStats, snap: &Snapshot) -> Vec<(&'static str, u64)> {
    let mut totals = app.named().to_vec();
    totals.extend([
        ("handler_panics", snap.counters.handler_panics),
        ("copied_bytes", snap.copied_bytes),
        ("rx_packets", snap.nic.rx_packets),
        ("tx_packets", snap.nic.tx_packets),
    ]);
    totals
}

/// An elastic thread as the echo server: runs until stopped.
pub fn serve(
    setup: &Setup,
    slot: Slot<'_>,
    services: Services,
    stop: &Arc<AtomicBool>,
) -> Result<Outcome> {
    let ev = EvConfig {
        max_conns: setup.max_conns,
        ..EvConfig::default()
    };
    let ran = slot.launch(setup, EchoIx::new(services), ev, stop, None)?;
    let (thread, snap) = (&ran.thread, &ran.snap);
    let mut lines = stat_lines(thread, snap);
    let app = thread.handler().inner().app().stats();
    for (k, v) in app.named() {
        lines.push(format!("app {k} {v}"));
    }
    let totals = server_totals(&app, snap);
    for r in thread.handler().remotes() {
        lines.push(format!("flow {r}"));
    }
    lines.push(format!("flow_unlogged {}", thread.handler().unlogged()));
    let ok = !thread.is_failed();
    let outcome = Outcome {
        lines,
        result: format!("role=server {}", key_values(&totals)),
        ok,
        totals,
        printed: false,
    };
    Ok(ran.finish(outcome, setup.linger_secs))
}
