//! Runs the measurements: spawns the role processes for each run, in the
//! right order, and collects their figures. Everything it creates (the
//! namespace, socket files, processes, EAL runtime directories) is removed
//! by guards, on success, on error and on Ctrl-C.
//!
//! The figures each measurement yields are in [`results`]; the
//! measurements themselves in [`tap`], [`pair`] and [`pingpong`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::child::Proc;
use crate::cli::{Mode, Settings};
use crate::roles::WARMUP;

mod pair;
mod pingpong;
mod results;
mod tap;

pub use results::{PairRun, PingRun, Results, TapRxRun, TapTxRun};

/// How long a role may take to get ready (EAL init, port, link).
const READY_TIMEOUT: Duration = Duration::from_secs(40);

/// The orchestrator.
pub struct Bench {
    settings: Settings,
    exe: PathBuf,
    interrupted: Arc<AtomicBool>,
    counter: AtomicU32,
}

impl Bench {
    /// Prepares a benchmark with `settings`; `interrupted` is raised on Ctrl-C.
    pub fn new(settings: Settings, interrupted: Arc<AtomicBool>) -> Result<Bench> {
        let exe = std::env::current_exe().context("finding l2bench's own executable")?;
        Ok(Bench {
            settings,
            exe,
            interrupted,
            counter: AtomicU32::new(0),
        })
    }

    /// Runs what `settings.mode` asks for; failures of one measurement are
    /// recorded and the others still run (unless interrupted).
    pub fn run(&self) -> Results {
        let mut results = Results::default();
        let mode = self.settings.mode;
        if matches!(mode, Mode::All | Mode::Tap) {
            if let Err(e) = self.tap(&mut results) {
                results.failures.push(format!("tap: {e:#}"));
            }
        }
        if matches!(mode, Mode::All | Mode::Pair) && !self.is_interrupted() {
            if let Err(e) = self.pair(&mut results) {
                results.failures.push(format!("pair: {e:#}"));
            }
        }
        if matches!(mode, Mode::All | Mode::Pingpong) && !self.is_interrupted() {
            if let Err(e) = self.pingpong(&mut results) {
                results.failures.push(format!("ping-pong: {e:#}"));
            }
        }
        results
    }

    /// A unique name for something this process creates.
    fn unique(&self, what: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("ixl2b-{what}-{}-{n}", std::process::id())
    }

    /// Whether Ctrl-C was pressed.
    fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }

    /// Fails once Ctrl-C was pressed.
    fn check_interrupted(&self) -> Result<()> {
        if self.is_interrupted() {
            bail!("interrupted");
        }
        Ok(())
    }

    /// How long a role may take from READY to its (last) RESULT.
    fn result_timeout(&self) -> Duration {
        WARMUP + Duration::from_secs_f64(self.settings.seconds) + Duration::from_secs(40)
    }

    /// Spawns `l2bench --role ROLE` on `core` with the common settings and `extra` flags.
    fn spawn(&self, role: &str, core: u32, extra: &[(&str, String)]) -> Result<Proc> {
        self.check_interrupted()?;
        let s = &self.settings;
        let prefix = self.unique(role);
        let mut args = vec![
            "--role".to_owned(),
            role.to_owned(),
            "--core".to_owned(),
            core.to_string(),
            "--prefix".to_owned(),
            prefix.clone(),
            "--burst".to_owned(),
            s.burst.to_string(),
            "--frame-size".to_owned(),
            s.frame_size.to_string(),
            "--seconds".to_owned(),
            s.seconds.to_string(),
            "--memory-mb".to_owned(),
            s.memory_mb.to_string(),
        ];
        for (flag, value) in extra {
            args.push(format!("--{flag}"));
            args.push(value.clone());
        }
        let name = format!("{role} (core {core})");
        Proc::spawn(
            &name,
            &self.exe,
            &args,
            &prefix,
            Arc::clone(&self.interrupted),
        )
    }

    /// Runs `measure` `settings.runs` times, printing each run's `figure` as
    /// progress under `label` and handing the run to `keep`. Returns the
    /// failed runs as `{failure_prefix}run N: why` lines; fails only when
    /// interrupted.
    fn repeat<T>(
        &self,
        label: &str,
        failure_prefix: &str,
        measure: impl Fn() -> Result<T>,
        figure: impl Fn(&T) -> String,
        mut keep: impl FnMut(T),
    ) -> Result<Vec<String>> {
        let mut failed = Vec::new();
        for run in 0..self.settings.runs {
            match measure() {
                Ok(r) => {
                    self.progress(label, run, &figure(&r));
                    keep(r);
                }
                Err(e) => failed.push(format!("{failure_prefix}run {}: {e:#}", run + 1)),
            }
            self.check_interrupted()?;
        }
        Ok(failed)
    }

    /// Prints one run's figure to stderr as it comes.
    fn progress(&self, what: &str, run: u32, figure: &str) {
        eprintln!(
            "l2bench: {what} run {}/{}: {figure}",
            run + 1,
            self.settings.runs
        );
    }
}

/// Fails with the `failed` runs' lines, if there are any.
fn none_failed(failed: Vec<String>) -> Result<()> {
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

/// A frame rate as progress shows it.
fn mpps(rate: f64) -> String {
    format!("{:.3} Mpps", rate / 1e6)
}
