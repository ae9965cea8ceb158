//! An elastic thread as the echo client: runs until its connections are done,
//! then reports requests completed, errors and round-trip times.

use crate::elastic::{Setup, Slot};
use crate::report::{stat_lines, Outcome};
use anyhow::Result;
use echo_ix::client::{ClientConfig, EchoClient};
use libix::ev::EvConfig;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// An elastic thread as an echo client: runs until its connections are done.
pub fn client(
    setup: &Setup,
    slot: Slot<'_>,
    cfg: ClientConfig,
    stop: &Arc<AtomicBool>,
) -> Result<Outcome> {
    let t = slot.t;
    let app = EchoClient::new(cfg).map_err(anyhow::Error::msg)?;
    let finished = app.finished_flag();
    let ev = EvConfig {
        max_conns: setup.max_conns,
        max_unsent: cfg.pipeline.max(64),
        max_connecting: (cfg.conns as usize).clamp(1, setup.max_conns),
    };
    let ran = slot.launch(setup, app, ev, stop, Some(finished))?;
    let (thread, snap) = (&ran.thread, &ran.snap);
    let lines = stat_lines(thread, snap);
    let app = thread.handler().inner().app();
    let report = app.report();
    if let Some(why) = app.fatal() {
        eprintln!("ix-run: client thread {t} gave up: {why}");
    }
    eprintln!(
        "ix-run: thread {t}: {} request/responses in {:.3} s: {:.0}/s; RTT median {:.1} us, \
         p99 {:.1} us, p99.9 {:.1} us; {} errors",
        report.completed,
        report.elapsed_s,
        report.rps,
        report.rtt_p50_ns as f64 / 1e3,
        report.rtt_p99_ns as f64 / 1e3,
        report.rtt_p999_ns as f64 / 1e3,
        report.errors(),
    );
    let ok = report.ok() && snap.counters.handler_panics == 0;
    let outcome = Outcome {
        lines,
        result: report.to_string(),
        ok,
        totals: vec![
            ("completed", report.completed),
            ("errors", report.errors()),
            ("handler_panics", snap.counters.handler_panics),
        ],
        printed: false,
    };
    Ok(ran.finish(outcome, setup.linger_secs))
}
