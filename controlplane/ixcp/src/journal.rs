//! ixcp's journal (`journal.json` in the run directory): what this ixcp launched
//! and created on the host, rewritten as it changes. A clean exit removes it; one
//! found at start-up means the previous ixcp died without cleaning up (kill -9,
//! OOM, a crash), and [`recover`] removes what it left: its instances (they stop by
//! themselves once their supervisor is gone, see `ix_instance::spec::SUPERVISOR_ENV`;
//! a straggler is killed), their EAL files and sockets, and the links and
//! namespaces it had created. What existed before that ixcp is never touched.

use crate::cleanup::remove_leftovers;
use crate::rundir::RunDir;
use ix_hostlink::run;
use ix_instance::spec::SUPERVISOR_ENV;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the journalled instances get to stop by themselves (their grace period
/// of 2 s, plus their 20 ms watch, plus a slow machine) before they are killed.
const SELF_STOP_WAIT: Duration = Duration::from_secs(5);

/// One launched instance, as far as cleaning up after it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchedInstance {
    /// Its name.
    pub name: String,
    /// Its process, if one is running.
    pub pid: Option<u32>,
    /// Its EAL file prefix.
    pub file_prefix: String,
    /// Its agent socket.
    pub agent_socket: PathBuf,
}

/// One host-side resource ixcp created (and so must remove).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CreatedItem {
    /// A network namespace.
    Netns {
        /// Its name.
        name: String,
    },
    /// A link (a bridge, or a veth pair by one end) in namespace `netns` ("" = current).
    Link {
        /// Its namespace.
        netns: String,
        /// Its name.
        name: String,
    },
}

/// Everything a successor needs to clean up after this ixcp.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The ixcp that wrote it (its instances carry it in [`SUPERVISOR_ENV`]).
    pub ixcp_pid: u32,
    /// Its instances.
    pub instances: Vec<LaunchedInstance>,
    /// What it created on the host, in creation order.
    pub created: Vec<CreatedItem>,
}

impl Journal {
    /// Writes the journal atomically (a crash mid-write leaves the old one).
    pub fn write(&self, run: &RunDir) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let tmp = run.journal().with_extension("json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, run.journal())
    }

    /// Reads the journal a previous ixcp left, if any.
    pub fn read(run: &RunDir) -> Result<Option<Journal>, String> {
        let path = run.journal();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}

/// Whether process `pid` is alive and was started by the ixcp `ixcp_pid` (its
/// environment names it), so that a reused pid is never signalled.
fn is_instance_of(pid: u32, ixcp_pid: u32) -> bool {
    let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let want = format!("{SUPERVISOR_ENV}={ixcp_pid}");
    env.split(|b| *b == 0).any(|kv| kv == want.as_bytes())
}

/// Whether `pid` still exists (a zombie counts as gone: it holds nothing).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name's closing parenthesis.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits up to `wait` for every instance in `live` (name, pid) to go, then kills
/// those left; says what happened to each. The wait is shared, not per instance.
fn end_instances(live: &[(&str, u32)], wait: Duration) -> Vec<String> {
    let until = Instant::now() + wait;
    while Instant::now() < until && live.iter().any(|&(_, pid)| alive(pid)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut done = Vec::new();
    let mut killed = Vec::new();
    for &(name, pid) in live {
        if alive(pid) {
            let target = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGKILL);
            killed.push(pid);
            done.push(format!("instance {name} (pid {pid}) killed"));
        } else {
            done.push(format!("instance {name} (pid {pid}) stopped by itself"));
        }
    }
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until && killed.iter().any(|&pid| alive(pid)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    done
}

/// Runs `ip [-n netns] args...`, ignoring failure (the item may be gone already).
fn ip_quiet(netns: &str, args: &[&str]) -> bool {
    let mut full: Vec<&str> = Vec::new();
    if !netns.is_empty() {
        full.extend(["-n", netns]);
    }
    full.extend_from_slice(args);
    run("ip", &full).is_ok()
}

/// Removes everything `journal` records, newest first; returns one line per
/// thing done. Assumes the caller holds the run directory's lock.
pub fn recover(journal: &Journal) -> Vec<String> {
    recover_with(journal, SELF_STOP_WAIT)
}

/// [`recover`] with the time instances get to stop by themselves.
fn recover_with(journal: &Journal, wait: Duration) -> Vec<String> {
    let live: Vec<(&str, u32)> = journal
        .instances
        .iter()
        .filter_map(|i| Some((i.name.as_str(), i.pid?)))
        .filter(|&(_, pid)| is_instance_of(pid, journal.ixcp_pid))
        .collect();
    let mut done = end_instances(&live, wait);
    for inst in &journal.instances {
        for p in remove_leftovers(&inst.file_prefix, &inst.agent_socket) {
            done.push(format!("removed {}", p.display()));
        }
    }
    for item in journal.created.iter().rev() {
        match item {
            CreatedItem::Link { netns, name } => {
                if ip_quiet(netns, &["link", "del", name]) {
                    done.push(format!("removed link {name}"));
                }
            }
            CreatedItem::Netns { name } => {
                if ip_quiet("", &["netns", "del", name]) {
                    done.push(format!("removed namespace {name}"));
                }
            }
        }
    }
    done
}

/// Removes the journal (a clean exit).
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_round_trips_and_a_missing_one_is_none() {
        let dir = std::env::temp_dir().join(format!("ixcp-journal-{}", std::process::id()));
        let run = RunDir::new(&dir);
        run.create().unwrap();
        assert_eq!(Journal::read(&run), Ok(None));
        let j = Journal {
            ixcp_pid: 42,
            instances: vec![LaunchedInstance {
                name: "a".into(),
                pid: Some(7),
                file_prefix: "ix-a".into(),
                agent_socket: dir.join("a.sock"),
            }],
            created: vec![
                CreatedItem::Netns { name: "n".into() },
                CreatedItem::Link {
                    netns: "n".into(),
                    name: "br0".into(),
                },
            ],
        };
        j.write(&run).unwrap();
        assert_eq!(Journal::read(&run), Ok(Some(j)));
        std::fs::write(run.journal(), "{").unwrap();
        assert!(Journal::read(&run).unwrap_err().contains("journal.json"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_process_not_started_by_that_ixcp_is_never_signalled() {
        // This test process is alive but carries no IX_SUPERVISOR_PID of ixcp 1.
        let me = std::process::id();
        assert!(alive(me));
        assert!(!is_instance_of(me, 1));
        let j = Journal {
            ixcp_pid: 1,
            instances: vec![LaunchedInstance {
                name: "me".into(),
                pid: Some(me),
                file_prefix: format!("ix-journal-test-{me}"),
                agent_socket: PathBuf::from(format!("/tmp/ix-journal-test-{me}.sock")),
            }],
            created: vec![],
        };
        assert!(recover_with(&j, Duration::ZERO).is_empty());
        assert!(alive(me), "still here");
    }

    #[test]
    fn a_straggler_of_the_dead_ixcp_is_killed_and_its_files_removed() {
        // A process that ignores its supervisor's death, started as ixcp starts
        // instances (the dead ixcp's pid in its environment; any number will do).
        let dead_ixcp = 4_000_000u32;
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .env(SUPERVISOR_ENV, dead_ixcp.to_string())
            .spawn()
            .unwrap();
        let pid = child.id();
        let until = Instant::now() + Duration::from_secs(10);
        while !is_instance_of(pid, dead_ixcp) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(is_instance_of(pid, dead_ixcp), "exec'd with the variable");
        let socket = std::env::temp_dir().join(format!("ix-journal-straggler-{pid}.sock"));
        std::fs::write(&socket, b"").unwrap();
        let j = Journal {
            ixcp_pid: dead_ixcp,
            instances: vec![LaunchedInstance {
                name: "straggler".into(),
                pid: Some(pid),
                file_prefix: format!("ix-journal-straggler-{pid}"),
                agent_socket: socket.clone(),
            }],
            created: vec![],
        };
        let done = recover_with(&j, Duration::from_millis(100));
        assert!(
            done.iter()
                .any(|l| l.contains("straggler") && l.contains("killed")),
            "{done:?}"
        );
        assert!(!alive(pid));
        assert!(!socket.exists(), "{done:?}");
        let status = child.wait().unwrap();
        assert!(!status.success(), "killed, not exited: {status}");
    }

    #[test]
    fn a_zombie_or_missing_process_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not reaped yet: a zombie once it has exited.
        let until = Instant::now() + Duration::from_secs(10);
        while alive(pid) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(pid), "an exited, unreaped child counts as gone");
        child.wait().unwrap();
        assert!(!alive(pid));
    }
}
