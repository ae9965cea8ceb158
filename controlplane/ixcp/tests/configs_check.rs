//! `ixctl check` accepts every file in `configs/` (with the applications built),
//! and refuses a copy of the default config whose application does not exist.

mod common;

use common::{echo_ix, memcached_ix, workspace};
use std::path::PathBuf;
use std::process::Command;

fn toml_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

#[test]
fn every_config_in_configs_passes_check() {
    let bin_dir = echo_ix().parent().unwrap().to_owned();
    assert_eq!(memcached_ix().parent(), Some(bin_dir.as_path()));
    let mut files = Vec::new();
    toml_files(&workspace().join("configs"), &mut files);
    files.sort();
    assert!(
        files.len() >= 5,
        "default.toml and four examples: {files:?}"
    );
    for f in &files {
        let out = Command::new(env!("CARGO_BIN_EXE_ixctl"))
            .env("IX_APP_PATH", &bin_dir)
            .arg("check")
            .arg(f)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(": ok ("), "{stdout}");
    }
    // With an empty search path, the same default config is refused (exit 2).
    let dir = std::env::temp_dir().join(format!("ixcp-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("default.toml");
    let text = std::fs::read_to_string(workspace().join("configs/default.toml"))
        .unwrap()
        .replace("\"memcached-ix\"", "\"no-such-memcached-ix\"");
    std::fs::write(&copy, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ixctl"))
        .arg("check")
        .arg(&copy)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("instance.memcached.app") && err.contains("missing application binary"),
        "{err}"
    );
}
