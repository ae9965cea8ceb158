//! Runs every script under `scripts/` against every target.
//!
//! The Linux target needs root, `/dev/net/tun` and iproute2; it fails (never skips)
//! when it cannot set up, with the reason. TCP scripts (`scripts/tcp/`) run as tests
//! of their own, so they overlap in time with the rest. `IX_SCRIPT=substring` runs
//! only the scripts whose name contains it (for working on one script).

use ix_script::{parse, run, IxTarget, LinuxTarget, Script, Target, TargetKind};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

/// Which scripts a test runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Suite {
    /// Everything but `tcp/`.
    Base,
    /// `tcp/` only.
    Tcp,
}

/// The `.pkt` files of `suite`, filtered by `$IX_SCRIPT`, sorted.
fn suite(suite: Suite) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let filter = std::env::var("IX_SCRIPT").unwrap_or_default();
    scripts()
        .into_iter()
        .filter(|p| p.starts_with(root.join("tcp")) == (suite == Suite::Tcp))
        .filter(|p| p.display().to_string().contains(&filter))
        .collect()
}

/// Every `.pkt` file under `scripts/`, sorted.
fn scripts() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("scripts directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "pkt") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Parses the script at `path`, naming it relative to `scripts/`.
fn load(path: &Path) -> Script {
    let name = path
        .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts"))
        .unwrap_or(path)
        .display()
        .to_string();
    let text = std::fs::read_to_string(path).expect("readable script");
    parse(&name, &text).unwrap_or_else(|e| panic!("{e}"))
}

/// Scripts ix-tcp is known to fail, with why: each must fail (a script that starts
/// passing fails the test until it is taken off this list), so engine fixes are
/// noticed and nothing here hides in a script annotation. Every entry is a bug
/// to fix (in the engine or in the harness), not a difference to keep.
const IX_TCP_KNOWN_FAILURES: &[(&str, &str)] = &[];

/// Runs the scripts of `which` on targets `make` builds; panics listing every
/// failure. Scripts in `known` must fail, with their reason printed.
fn run_all<T: Target>(
    kind: TargetKind,
    which: Suite,
    known: &[(&str, &str)],
    make: impl Fn(&Script) -> Result<T, String>,
) {
    let mut failures = Vec::new();
    let mut ran = 0;
    let paths = suite(which);
    if paths.is_empty() {
        // Only a filter can empty a suite; an unfiltered empty suite is a bug below.
        assert!(std::env::var("IX_SCRIPT").is_ok(), "no scripts found");
        return;
    }
    for path in paths {
        let script = load(&path);
        if let Some(why) = script.skip_reason(kind) {
            println!("{kind} {}: skipped ({why})", script.name);
            continue;
        }
        let mut target = match make(&script) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{}: {kind} target set-up failed: {e}", script.name));
                continue;
            }
        };
        // A panic in one script (a harness bug) must not hide the others' results.
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| run(&script, &mut target)));
        if let Some((_, why)) = known.iter().find(|(name, _)| *name == script.name) {
            match result {
                Ok(Err(e)) => println!("{kind} {}: known failure ({why}): {e}", script.name),
                Ok(Ok(_)) => failures.push(format!(
                    "{}: passes now; take it off the known failures ({why})",
                    script.name
                )),
                Err(_) => failures.push(format!("{}: the harness panicked", script.name)),
            }
            continue;
        }
        match result {
            Err(_) => failures.push(format!("{}: the harness panicked", script.name)),
            Ok(Ok(outcome)) => {
                ran += 1;
                println!(
                    "{kind} {}: ok ({} lines, {} annotated away)",
                    script.name,
                    outcome.lines_run,
                    outcome.skipped.len()
                );
            }
            Ok(Err(e)) => failures.push(format!("{}: {e}", script.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{kind} failures:\n{}",
        failures.join("\n")
    );
    assert!(ran > 0, "no script ran on {kind}");
}

/// A Linux target for `s`.
fn linux(s: &Script) -> Result<LinuxTarget, String> {
    LinuxTarget::new(&s.setup)
        .map_err(|e| format!("{e} (the Linux target needs root, /dev/net/tun and iproute2's `ip`)"))
}

/// An ix target for `s`.
fn ix(s: &Script) -> Result<IxTarget, String> {
    IxTarget::new(&s.setup).map_err(|e| e.to_string())
}

#[test]
fn linux_conformance() {
    run_all(TargetKind::Linux, Suite::Base, &[], linux);
}

#[test]
fn linux_tcp_conformance() {
    run_all(TargetKind::Linux, Suite::Tcp, &[], linux);
}

#[test]
fn ix_conformance() {
    run_all(TargetKind::Ix, Suite::Base, &[], ix);
}

#[test]
fn ix_tcp_conformance() {
    run_all(TargetKind::Ix, Suite::Tcp, IX_TCP_KNOWN_FAILURES, ix);
}
