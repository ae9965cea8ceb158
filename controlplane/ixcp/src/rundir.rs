//! The run directory (default `/run/ix`): ixcp's control socket, lock, pid, state
//! and log, and one subdirectory per instance (spec, agent socket, log).

use crate::Error;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The default run directory.
pub const DEFAULT_RUN_DIR: &str = "/run/ix";

/// Paths under one run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The run directory at `root` (made absolute; nothing is created).
    pub fn new(root: &Path) -> RunDir {
        RunDir {
            root: std::path::absolute(root).unwrap_or_else(|_| root.to_owned()),
        }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// ixcp's control socket (mode 0600: root only).
    pub fn socket(&self) -> PathBuf {
        self.root.join("ixcp.sock")
    }
    /// The lock file one ixcp holds while it runs.
    pub fn lock(&self) -> PathBuf {
        self.root.join("ixcp.lock")
    }
    /// ixcp's process id.
    pub fn pid_file(&self) -> PathBuf {
        self.root.join("ixcp.pid")
    }
    /// ixcp's log.
    pub fn log(&self) -> PathBuf {
        self.root.join("ixcp.log")
    }
    /// The instances' state, rewritten on every change (for people and scripts).
    pub fn state(&self) -> PathBuf {
        self.root.join("state.json")
    }
    /// What this ixcp launched and created, for a successor if it dies
    /// ([`crate::journal`]).
    pub fn journal(&self) -> PathBuf {
        self.root.join("journal.json")
    }
    /// One instance's directory.
    pub fn instance_dir(&self, name: &str) -> PathBuf {
        self.root.join("instances").join(name)
    }

    /// An EAL file prefix unique to this run directory and instance: `ix-NAME` under
    /// the default run directory, `ix-NAME-HASH` under others (tests run their own).
    pub fn file_prefix(&self, instance: &str) -> String {
        if self.root == Path::new(DEFAULT_RUN_DIR) {
            format!("ix-{instance}")
        } else {
            // FNV-1a of the path: stable, short, no dependency.
            let mut h: u32 = 0x811c_9dc5;
            for b in self.root.as_os_str().as_encoded_bytes() {
                h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
            }
            format!("ix-{instance}-{h:08x}")
        }
    }

    /// Creates the directory (mode 0700) if missing.
    pub fn create(&self) -> Result<(), Error> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|e| Error::io(format!("creating {}", self.root.display()), e))?;
        std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(format!("chmod {}", self.root.display()), e))
    }

    /// Takes the run directory's lock without waiting; held until dropped.
    pub fn take_lock(&self) -> Result<Flock<File>, Error> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.lock())
            .map_err(|e| Error::io(format!("opening {}", self.lock().display()), e))?;
        Flock::lock(f, FlockArg::LockExclusiveNonblock)
            .map_err(|_| Error::Locked(self.root.display().to_string()))
    }
}
