//! Runs every script under `scripts/` against every target.
//!
//! The Linux target needs root, `/dev/net/tun` and iproute2; it fails (never skips)
//! when it cannot set up, with the reason.

use ix_script::{parse, run, IxTarget, LinuxTarget, Script, Target, TargetKind};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

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

/// Runs every script on targets `make` builds; panics listing every failure.
fn run_all<T: Target>(kind: TargetKind, make: impl Fn(&Script) -> Result<T, String>) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in scripts() {
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

#[test]
fn linux_conformance() {
    run_all(TargetKind::Linux, |s| {
        LinuxTarget::new(&s.setup).map_err(|e| {
            format!("{e} (the Linux target needs root, /dev/net/tun and iproute2's `ip`)")
        })
    });
}

#[test]
fn ix_conformance() {
    run_all(TargetKind::Ix, |s| {
        IxTarget::new(&s.setup).map_err(|e| e.to_string())
    });
}
