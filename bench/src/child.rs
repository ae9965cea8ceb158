//! Role processes seen from `l2bench`: spawned in their own process group
//! (so a Ctrl-C reaches only `l2bench`, which then stops them in order),
//! talked to through their stdout lines, stopped by closing their stdin,
//! and cleaned up (killed if need be, EAL runtime directory removed) on drop.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::kv::Fields;

/// How much of a role's stderr is kept for error messages.
const STDERR_KEEP: usize = 16 * 1024;
/// How long a stopped role may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// A running role process.
pub struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
    runtime_dir: PathBuf,
    status: Option<ExitStatus>,
    interrupted: Arc<AtomicBool>,
}

impl Proc {
    /// Starts `program args...` as role `name` with EAL file prefix `prefix`;
    /// `interrupted` aborts any wait (l2bench's Ctrl-C).
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        prefix: &str,
        interrupted: Arc<AtomicBool>,
    ) -> Result<Proc> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {name}: {}", program.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let stderr_pipe = child.stderr.take().context("no stderr pipe")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let keep = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr_pipe);
            let mut chunk = [0u8; 4096];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = keep.lock() {
                    s.push_str(&String::from_utf8_lossy(&chunk[..n]));
                    if s.len() > 2 * STDERR_KEEP {
                        let mut cut = s.len() - STDERR_KEEP;
                        while !s.is_char_boundary(cut) {
                            cut += 1;
                        }
                        s.drain(..cut);
                    }
                }
            }
        });
        Ok(Proc {
            name: name.to_owned(),
            child,
            stdin,
            lines,
            seen: Vec::new(),
            stderr,
            runtime_dir: PathBuf::from("/var/run/dpdk").join(prefix),
            status: None,
            interrupted,
        })
    }

    /// The role's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the role printed, for error messages.
    pub fn diagnostics(&self) -> String {
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let skip = self.seen.len().saturating_sub(10);
        format!(
            "--- {} stdout (last lines):\n{}\n--- {} stderr (last lines):\n{}",
            self.name,
            self.seen[skip..].join("\n"),
            self.name,
            tail.join("\n")
        )
    }

    /// Waits for the next line tagged `tag` (e.g. `READY`, `RESULT`); fails if
    /// the role exits first, after `timeout`, or on interruption.
    pub fn wait_for(&mut self, tag: &str, timeout: Duration) -> Result<Fields> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.interrupted.load(Ordering::Relaxed) {
                bail!("interrupted");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!(
                    "{} printed no {tag} line within {timeout:?}\n{}",
                    self.name,
                    self.diagnostics()
                );
            }
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok(line) => {
                    let fields = Fields::parse(&line, tag);
                    self.seen.push(line);
                    if let Some(fields) = fields {
                        return Ok(fields);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.reap(Duration::from_secs(2));
                    bail!(
                        "{} exited ({}) before printing {tag}\n{}",
                        self.name,
                        status.map_or("still running".to_owned(), |s| s.to_string()),
                        self.diagnostics()
                    );
                }
            }
        }
    }

    /// Tells the role to stop (closes its stdin).
    pub fn stop(&mut self) {
        self.stdin = None;
    }

    /// Waits up to `timeout` for the process to exit; returns its status.
    fn reap(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.status.is_some() {
            return self.status;
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.status = Some(status);
                    return self.status;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => return None,
            }
        }
    }

    /// Stops the role and waits for it to exit successfully; returns the
    /// last `RESULT` line it printed, if any.
    pub fn finish(&mut self) -> Result<Option<Fields>> {
        self.stop();
        let Some(status) = self.reap(EXIT_GRACE) else {
            let _ = self.child.kill();
            self.reap(Duration::from_secs(5));
            bail!(
                "{} did not exit within {EXIT_GRACE:?} of being stopped; killed it\n{}",
                self.name,
                self.diagnostics()
            );
        };
        // Collect whatever it printed on its way out.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        if !status.success() {
            bail!("{} failed ({status})\n{}", self.name, self.diagnostics());
        }
        Ok(self
            .seen
            .iter()
            .rev()
            .find_map(|l| Fields::parse(l, "RESULT")))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
        if self.reap(EXIT_GRACE).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // A role that exits cleanly removes it itself; one that was killed cannot.
        if self.runtime_dir.exists() {
            let _ = std::fs::remove_dir_all(&self.runtime_dir);
        }
    }
}

/// Processes stopped in order on drop: the first one first. (A `Vec` drops
/// its elements front to back, and each `Proc` waits for its exit.)
pub type Group = Vec<Proc>;
