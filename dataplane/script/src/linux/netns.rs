//! A network namespace the test creates and always deletes, and `ip` run inside it.

use crate::target::TargetError;
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Prefix of every namespace this crate creates; followed by `<pid>-<n>`.
const PREFIX: &str = "ixscript-";

/// Distinguishes the namespaces of one process.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A network namespace named `ixscript-<pid>-<n>`, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a fresh namespace (deleting any left behind by dead processes first).
    /// Assumes root and iproute2's `ip`.
    pub fn create() -> Result<Netns, TargetError> {
        sweep_stale();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{}-{n}", std::process::id());
        run_ip(&["netns", "add", &name])?;
        Ok(Netns { name })
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <ns> args...`, failing with its stderr.
    pub fn ip(&self, args: &[&str]) -> Result<(), TargetError> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run_ip(&all)
    }

    /// Runs `f` on a thread that has entered the namespace, so sockets it opens and
    /// `/proc/sys/net` files it writes belong to the namespace. The calling thread's
    /// namespace never changes.
    pub fn enter<R: Send>(
        &self,
        f: impl FnOnce() -> std::io::Result<R> + Send,
    ) -> Result<R, TargetError> {
        let path = format!("/run/netns/{}", self.name);
        let what = |e: &dyn std::fmt::Display| {
            TargetError::Setup(format!("entering namespace {}: {e}", self.name))
        };
        let ns = File::open(&path).map_err(|e| what(&e))?;
        std::thread::scope(|s| {
            s.spawn(move || {
                setns(&ns, CloneFlags::CLONE_NEWNET).map_err(|e| what(&e))?;
                f().map_err(|e| what(&e))
            })
            .join()
            .map_err(|_| TargetError::Setup("namespace thread panicked".to_string()))?
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace also destroys any interface still in it.
        if let Err(e) = run_ip(&["netns", "del", &self.name]) {
            eprintln!("ix-script: could not delete namespace {}: {e}", self.name);
        }
    }
}

/// Runs `ip args...`; the error carries the command line and its stderr.
pub fn run_ip(args: &[&str]) -> Result<(), TargetError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| TargetError::Setup(format!("cannot run `ip` (iproute2 is required): {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(TargetError::Setup(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Deletes namespaces this crate created in processes that no longer exist (a test
/// killed before its guards ran). Namespaces of live processes are left alone.
fn sweep_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run_ip(&["netns", "del", name]);
        }
    }
}
