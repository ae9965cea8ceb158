//! Test harness: a daemon with its own run directory, ixctl invocations, and a
//! guard that stops everything and removes what the test created, also on panic.

#![allow(dead_code)]

pub mod client;
pub mod config_toml;

use ixcp::proto::InstanceStatus;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A test's own run directory, namespaces and ixcp; dropping it stops ixcp and
/// removes them.
pub struct Harness {
    pub dir: PathBuf,
    pub run: PathBuf,
    pub netns: Vec<String>,
    tag: String,
}

impl Harness {
    pub fn new(tag: &str) -> Harness {
        let dir = std::env::temp_dir().join(format!("ixcp-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Harness {
            run: dir.join("run"),
            dir,
            netns: Vec::new(),
            tag: tag.to_owned(),
        }
    }

    /// A namespace name unique to this test (and recorded for cleanup).
    pub fn ns(&mut self, tag: &str) -> String {
        let n = format!("ixt-{}-{tag}-{}", self.tag, std::process::id());
        self.netns.push(n.clone());
        n
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs ixctl with this harness's run directory.
    pub fn ixctl(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ixctl"))
            .env("IX_RUN_DIR", &self.run)
            .env("IXCP", env!("CARGO_BIN_EXE_ixcp"))
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs ixctl and insists on success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.ixctl(args);
        assert!(
            out.status.success(),
            "ixctl {args:?} failed: {}\n{}\nixcp log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.run.join("ixcp.log")).unwrap_or_default()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn status(&self) -> Vec<InstanceStatus> {
        serde_json::from_str(&self.ok(&["status", "--json"])).unwrap()
    }

    pub fn instance(&self, name: &str) -> InstanceStatus {
        self.status()
            .into_iter()
            .find(|s| s.summary.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    /// Polls `f` until it holds or `limit` passes.
    pub fn wait_for(&self, what: &str, limit: Duration, mut f: impl FnMut(&Harness) -> bool) {
        let start = Instant::now();
        while !f(self) {
            assert!(
                start.elapsed() < limit,
                "timed out waiting for {what}; status: {:?}",
                self.status()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts `cfg`, whose one instance `name` is reachable from namespace
    /// `ns` at `reach` ("ADDR PORT"); asserts ixctl says so and the instance
    /// runs; returns its pid.
    pub fn start_one(&self, cfg: &Path, name: &str, ns: &str, reach: &str) -> u32 {
        let out = self.ok(&["start", cfg.to_str().unwrap()]);
        let want = format!("reach {name}: ip netns exec {ns} nc {reach}");
        assert!(out.contains(&want), "{out}");
        let st = self.instance(name);
        assert_eq!(st.state, "running");
        st.pid.unwrap()
    }

    /// Sends SIGKILL to instance `name`'s process `pid`, waits up to `limit`
    /// for its first restart, asserts the recorded reason names SIGKILL, and
    /// returns the restarted instance's status.
    pub fn kill_9_and_await_restart(
        &self,
        name: &str,
        pid: u32,
        limit: Duration,
    ) -> InstanceStatus {
        let killed = Instant::now();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        self.wait_for(&format!("{name}'s restart"), limit, |h| {
            let st = h.instance(name);
            st.state == "running" && st.restarts == 1
        });
        let st = self.instance(name);
        eprintln!(
            "{name} restart after kill -9: running again after {} ms (ixcp measured {:?} ms)",
            killed.elapsed().as_millis(),
            st.last_restart_ms
        );
        assert!(
            st.last_reason.as_deref().unwrap_or("").contains("SIGKILL"),
            "{st:?}"
        );
        st
    }

    pub fn daemon_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.run.join("ixcp.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

pub fn alive(pid: u32) -> bool {
    // A zombie still has /proc/PID; count it as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.split(") ").nth(1).unwrap_or("").starts_with('Z'))
        .unwrap_or(false)
}

pub fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// Everything `ixctl stop` must remove: asserts none of it is left.
pub fn assert_nothing_left(h: &Harness, pids: &[u32], prefixes: &[String]) {
    for &p in pids {
        assert!(!alive(p), "process {p} still running");
    }
    for n in &h.netns {
        assert!(!netns_exists(n), "namespace {n} left behind");
    }
    for f in [
        "ixcp.sock",
        "ixcp.pid",
        "ixcp.lock",
        "state.json",
        "journal.json",
        "instances",
    ] {
        assert!(!h.run.join(f).exists(), "{f} left in the run directory");
    }
    for p in prefixes {
        assert!(
            !Path::new("/var/run/dpdk").join(p).exists(),
            "/var/run/dpdk/{p} left behind"
        );
        for dir in ["/dev/hugepages", "/mnt/huge"] {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    assert!(
                        !e.file_name().to_string_lossy().starts_with(p.as_str()),
                        "hugepage file {:?} left",
                        e.path()
                    );
                }
            }
        }
    }
}

/// Waits up to `limit` for process `pid` to have exited.
pub fn wait_gone(pid: u32, limit: Duration) {
    let start = Instant::now();
    while alive(pid) {
        assert!(start.elapsed() < limit, "process {pid} still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ixctl stop`, then waits for ixcp to exit (it answers before removing its
/// run files) and asserts nothing is left of it, of `pids`, of `h`'s
/// namespaces or of `instances`' EAL files.
pub fn stop_leaving_nothing(h: &Harness, pids: &[u32], instances: &[&str]) {
    let daemon = h.daemon_pid().unwrap() as u32;
    h.ok(&["stop"]);
    wait_gone(daemon, client::IO);
    let mut all = pids.to_vec();
    all.push(daemon);
    let prefixes: Vec<String> = instances.iter().map(|i| prefix(h, i)).collect();
    assert_nothing_left(h, &all, &prefixes);
}

/// `tcpdump -nr PCAP` plus `flags`: asserts it succeeds and returns its output.
pub fn tcpdump(pcap: &Path, flags: &[&str]) -> String {
    let out = Command::new("tcpdump")
        .args(flags)
        .arg("-nr")
        .arg(pcap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tcpdump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The EAL file prefix ixcp gives `instance` under `h`'s run directory.
pub fn prefix(h: &Harness, instance: &str) -> String {
    ixcp::rundir::RunDir::new(&h.run).file_prefix(instance)
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.ixctl(&["stop"]);
        if let Some(pid) = self.daemon_pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        for n in &self.netns {
            if netns_exists(n) {
                let _ = Command::new("ip").args(["netns", "del", n]).status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The release `echo-ix` binary, built here if needed (`cargo test --workspace
/// --release` has built it already; `cargo test -p ixcp` has not). Cargo does not
/// hold its build lock while tests run, so the nested build cannot deadlock.
pub fn echo_ix() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| release_bin("echo-ix", "echo-ix"))
        .clone()
}

/// The release `memcached-ix` binary, built here if needed (as [`echo_ix`]).
pub fn memcached_ix() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| release_bin("memcached-ix", "memcached-ix"))
        .clone()
}

/// Builds binary `bin` of package `package` in release mode and returns its path.
pub fn release_bin(package: &str, bin: &str) -> PathBuf {
    let root = workspace();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--release", "-p", package, "--bin", bin])
        .status()
        .unwrap();
    assert!(status.success(), "building {bin} failed");
    let path = target.join("release").join(bin);
    assert!(path.exists(), "{} missing after the build", path.display());
    path
}
