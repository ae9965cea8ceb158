//! What an instance can leave behind when it dies hard, and its removal: the EAL
//! runtime directory (`/var/run/dpdk/PREFIX`), hugepage files
//! (`/dev/hugepages/PREFIXmap_*`), its agent socket.

use std::path::{Path, PathBuf};

/// DPDK's runtime directory for `prefix`.
pub fn dpdk_runtime_dir(prefix: &str) -> PathBuf {
    Path::new("/var/run/dpdk").join(prefix)
}

/// Hugepage files whose names start with `prefix` in each hugetlbfs mount we know.
pub fn hugepage_files(prefix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["/dev/hugepages", "/mnt/huge"] {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with(prefix) {
                    out.push(e.path());
                }
            }
        }
    }
    out
}

/// Removes what an exited instance with EAL prefix `prefix` and agent socket
/// `agent_socket` left behind; returns what was removed.
pub fn remove_leftovers(prefix: &str, agent_socket: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let dir = dpdk_runtime_dir(prefix);
    if dir.exists() && std::fs::remove_dir_all(&dir).is_ok() {
        removed.push(dir);
    }
    for f in hugepage_files(prefix) {
        if std::fs::remove_file(&f).is_ok() {
            removed.push(f);
        }
    }
    if agent_socket.exists() && std::fs::remove_file(agent_socket).is_ok() {
        removed.push(agent_socket.to_owned());
    }
    removed
}
