//! ixcp: the control-plane daemon. Owns the run directory (control socket, lock,
//! pid, state, log), supervises instances, and on SIGTERM/SIGINT (or `ixctl
//! stop`) stops every instance cleanly and exits.

use anyhow::{Context, Result};
use clap::Parser;
use ixcp::rundir::{RunDir, DEFAULT_RUN_DIR};
use ixcp::supervisor::{Supervisor, TICK};
use std::sync::Arc;
use tracing_subscriber::fmt::writer::MakeWriterExt;

#[derive(Parser)]
#[command(about = "ix control-plane daemon")]
struct Args {
    /// Run directory (control socket, lock, state, logs).
    #[arg(long, default_value = DEFAULT_RUN_DIR)]
    run_dir: std::path::PathBuf,
    /// tracing filter for ixcp's own log.
    #[arg(long, default_value = "info")]
    log_level: String,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let run = RunDir::new(&args.run_dir);
    run.create()?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.log())
        .with_context(|| format!("opening {}", run.log().display()))?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log_level))
        .with_ansi(false)
        .with_writer(std::io::stderr.and(std::sync::Mutex::new(log)))
        .init();
    let _lock = run.take_lock()?;
    recover_from_predecessor(&run);
    std::fs::write(run.pid_file(), format!("{}\n", std::process::id()))?;
    let sup = Arc::new(Supervisor::new(run.clone()));
    let listener = ixcp::server::bind(&sup)?;
    tracing::info!(run_dir = %run.root().display(), pid = std::process::id(), "ixcp listening on {}", run.socket().display());

    let (exit_tx, exit_rx) = std::sync::mpsc::channel::<()>();
    {
        let sup = Arc::clone(&sup);
        std::thread::Builder::new()
            .name("watch".into())
            .spawn(move || loop {
                sup.tick();
                std::thread::sleep(TICK);
            })?;
    }
    {
        let sup = Arc::clone(&sup);
        let tx = exit_tx.clone();
        std::thread::Builder::new()
            .name("control".into())
            .spawn(move || ixcp::server::accept_loop(sup, listener, tx))?;
    }
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                tracing::info!(signal = sig, "stopping on signal");
                let _ = exit_tx.send(());
            }
        })?;

    let _ = exit_rx.recv();
    let stopped = ixcp::daemon::stop_all(&sup);
    tracing::info!(?stopped, "ixcp exiting");
    sup.lock().exiting = true;
    for f in [
        run.socket(),
        run.pid_file(),
        run.state(),
        run.journal(),
        run.lock(),
    ] {
        let _ = std::fs::remove_file(f);
    }
    Ok(())
}

/// Cleans up after an ixcp that died without doing so (its journal is still
/// there); a journal that cannot be read is logged and set aside, not trusted.
fn recover_from_predecessor(run: &RunDir) {
    match ixcp::journal::Journal::read(run) {
        Ok(None) => {}
        Ok(Some(j)) => {
            tracing::warn!(
                previous = j.ixcp_pid,
                "the previous ixcp died without cleaning up; recovering"
            );
            for line in ixcp::journal::recover(&j) {
                tracing::info!("recovery: {line}");
            }
            ixcp::journal::remove(&run.journal());
        }
        Err(e) => {
            tracing::error!(
                "unreadable journal, left as {}.bad: {e}",
                run.journal().display()
            );
            let _ = std::fs::rename(run.journal(), run.journal().with_extension("json.bad"));
        }
    }
}
