//! How a role talks to the orchestrator: the stop flag (signals, stdin EOF)
//! and the `READY`/`RESULT` lines on stdout.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::kv;

/// A flag raised by SIGINT, SIGTERM or EOF on stdin.
pub(super) fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing a signal handler")?;
    }
    let flag = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("stdin-eof".to_owned())
        .spawn(move || {
            let mut stdin = std::io::stdin();
            let mut buf = [0u8; 64];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            flag.store(true, Ordering::Relaxed);
        })
        .context("starting the stdin watcher")?;
    Ok(stop)
}

/// Whether the role has been told to stop.
pub(super) fn stopped(stop: &AtomicBool) -> bool {
    stop.load(Ordering::Relaxed)
}

/// Fails if the role was told to stop before its measurement ended.
pub(super) fn bail_if_stopped(stop: &AtomicBool) -> Result<()> {
    if stopped(stop) {
        bail!("stopped before the end of the measurement");
    }
    Ok(())
}

/// Prints a protocol line (stdout is line-buffered, so it goes out at once).
pub(super) fn emit(tag: &str, fields: &[(&str, String)]) {
    println!("{}", kv::line(tag, fields));
}

/// Prints the `RESULT` line made of `groups` of fields, in order.
pub(super) fn emit_result(groups: &[&[(&str, String)]]) {
    emit("RESULT", &groups.concat());
}

/// Idles until told to stop (after the role's RESULT).
pub(super) fn wait_for_stop(stop: &AtomicBool) {
    while !stopped(stop) {
        std::thread::sleep(Duration::from_millis(5));
    }
}
