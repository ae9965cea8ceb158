//! Smoke test: `l2bench all` runs end to end with tiny windows (no figure is
//! checked: this is not a timed test) and leaves nothing behind: no
//! namespace, no socket file, no EAL runtime directory. Needs root.

use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_l2bench");

/// Names in `dir` that l2bench with `pid` created (`ixl2b-<what>-<pid>-<n>`).
fn leftovers(dir: &Path, pid: u32) -> Vec<String> {
    let tag = format!("-{pid}-");
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("ixl2b-") && n.contains(&tag))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn all_modes_run_and_clean_up() {
    let child = Command::new(BIN)
        .args(["all", "--runs", "1", "--seconds", "0.2", "--burst", "8"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start l2bench");
    let pid = child.id();
    let out = child.wait_with_output().expect("run l2bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for row in ["tap tx (a)", "tap rx (b)", "pair ", "frames/ping"] {
        assert!(stdout.contains(row), "no {row:?} in\n{stdout}");
    }
    assert!(!stdout.contains("failed"), "{stdout}");
    assert!(stdout.contains("burst 8, frame 64 B"), "{stdout}");

    assert!(!Path::new(&format!("/run/netns/ixl2b-{pid}")).exists());
    assert_eq!(
        leftovers(Path::new("/var/run/dpdk"), pid),
        Vec::<String>::new()
    );
    assert_eq!(leftovers(&std::env::temp_dir(), pid), Vec::<String>::new());
}

#[test]
fn bad_arguments_are_refused_before_anything_starts() {
    let out = Command::new(BIN)
        .args(["pair", "--burst", "0"])
        .output()
        .expect("run l2bench");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--burst 0: must be in 1..=64"), "{stderr}");
}
