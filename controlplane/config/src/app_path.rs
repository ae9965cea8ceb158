//! Where an instance's application binary is found.
//!
//! `app` in a config is either a path (contains `/`: absolute, or relative to the
//! config file's directory) or a bare name, looked up in order in: each directory
//! of `$IX_APP_PATH` (colon-separated), the directory holding the running
//! `ixctl`/`ixcp` executable (so `target/release/ixctl` finds
//! `target/release/echo-ix`), `./target/release` under the current directory, and
//! `$PATH`.

use std::path::{Path, PathBuf};

/// Directories searched for bare application names, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPath {
    /// The directories.
    pub dirs: Vec<PathBuf>,
}

impl SearchPath {
    /// The standard search path of this process (see the module documentation).
    pub fn from_process() -> SearchPath {
        let mut dirs = Vec::new();
        if let Some(p) = std::env::var_os("IX_APP_PATH") {
            dirs.extend(std::env::split_paths(&p).filter(|d| !d.as_os_str().is_empty()));
        }
        if let Some(d) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_owned))
        {
            dirs.push(d);
        }
        if let Ok(cwd) = std::env::current_dir() {
            dirs.push(cwd.join("target/release"));
        }
        if let Some(p) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&p));
        }
        SearchPath { dirs }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Resolves `app` (see the module documentation); `None` if no executable file is
/// found.
pub fn resolve_app(app: &str, config_dir: &Path, search: &SearchPath) -> Option<PathBuf> {
    if app.is_empty() {
        return None;
    }
    if app.contains('/') {
        let p = config_dir.join(app);
        return is_executable(&p).then(|| std::path::absolute(&p).unwrap_or(p));
    }
    search
        .dirs
        .iter()
        .map(|d| d.join(app))
        .find(|p| is_executable(p))
}
