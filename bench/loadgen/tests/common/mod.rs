//! Shared pieces of the end-to-end tests: network namespaces made for a test
//! ([`TestNs`]), a memcached inside one, its `stats`, running ix-mutilate (inside the
//! namespace or not) and reading its output. Every process and namespace made here
//! is removed when its guard drops, also on panic.

#![allow(dead_code)]

pub mod instance;

use ix_hostlink::Netns;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A network namespace this test process made (`lg-TAG-PID-N`), deleted on drop.
#[derive(Debug)]
pub struct TestNs {
    ns: Netns,
}

impl TestNs {
    /// Creates a fresh namespace (loopback up) for test `tag`.
    pub fn create(tag: &str) -> Arc<TestNs> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "lg-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let ns = Netns::create(&name).unwrap_or_else(|e| {
            panic!("cannot create namespace {name} ({e}); the e2e tests run as root")
        });
        Arc::new(TestNs { ns })
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        self.ns.name()
    }

    /// `program` to be run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        self.ns.command(program)
    }

    /// Runs `f` on a thread inside the namespace (sockets it opens live there).
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        self.spawn(f)
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    }

    /// Starts `f` on a thread inside the namespace (threads it starts are there too).
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let name = self.name().to_owned();
        std::thread::spawn(move || {
            Netns::create_or_join(&name)
                .and_then(|ns| ns.enter_current_thread())
                .unwrap_or_else(|e| panic!("cannot enter {name}: {e}"));
            f()
        })
    }

    /// Runs ix-mutilate inside the namespace to completion; panics with its output
    /// if it fails.
    pub fn mutilate(&self, args: &[&str]) -> String {
        let mut c = self.command(BIN);
        c.args(args);
        run_ok(c, args)
    }

    /// Waits until something accepts connections on `addr` inside the namespace.
    pub fn wait_listening(&self, addr: SocketAddr, child: &mut Child, within: Duration) {
        let since = Instant::now();
        while !self.run(move || TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the process for {addr} exited early: {status}");
            }
            assert!(
                since.elapsed() < within,
                "nothing listens on {addr} in {within:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// memcached's `stats` counters from `addr`, asked from inside the namespace.
    pub fn stats(&self, addr: SocketAddr) -> HashMap<String, u64> {
        self.run(move || stats_of(addr))
    }
}

/// The ix-mutilate binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_ix-mutilate");

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
pub fn wait_listening(port: u16, child: &mut Child) {
    let since = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("process for port {port} exited early: {status}");
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process killed (and reaped) on drop.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    /// SIGTERM first (an instance then releases its port and DPDK files), SIGKILL
    /// after 10 s.
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            if let Ok(pid) = i32::try_from(self.0.id()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
            let since = Instant::now();
            while since.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = self.0.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's memcached (or another program taking its flags) listening inside a
/// namespace of its own, one worker thread.
pub struct Memcached {
    pub port: u16,
    _child: ChildGuard,
    pub ns: Arc<TestNs>,
}

impl Memcached {
    /// Starts Debian's on 127.0.0.1:11211 in a new namespace; panics with a hint if
    /// memcached is not installed.
    pub fn start() -> Memcached {
        Self::start_in(TestNs::create("mc"), "127.0.0.1", "memcached", &[])
    }

    /// Starts `program` (memcached's flags) inside `ns` listening on `listen`:11211,
    /// UDP off, one thread, plus `extra`.
    pub fn start_in(ns: Arc<TestNs>, listen: &str, program: &str, extra: &[&str]) -> Memcached {
        let port = 11211;
        require_program(program);
        let child = ns
            .command(program)
            .args([
                "-p", "11211", "-U", "0", "-l", listen, "-t", "1", "-m", "64",
            ])
            .args(["-u", "nobody"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} ({e})"));
        let mut guard = ChildGuard(child);
        let probe = SocketAddr::from(([127, 0, 0, 1], port));
        ns.wait_listening(probe, &mut guard.0, Duration::from_secs(10));
        Memcached {
            port,
            _child: guard,
            ns,
        }
    }

    /// Runs ix-mutilate inside the server's namespace.
    pub fn mutilate(&self, args: &[&str]) -> String {
        self.ns.mutilate(args)
    }

    /// `host:port` for -s, inside the namespace.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's `stats` counters.
    pub fn stats(&self) -> HashMap<String, u64> {
        self.ns.stats(SocketAddr::from(([127, 0, 0, 1], self.port)))
    }
}

/// Panics, saying how to get it, if `program` is neither a file nor on the PATH: a
/// missing server fails the test, it never passes silently.
pub fn require_program(program: &str) {
    let found = if program.contains('/') {
        std::path::Path::new(program).is_file()
    } else {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
    };
    assert!(
        found,
        "{program} is not installed or not built: run ci/setup.sh (it installs Debian's \
         memcached) and build the workspace (`cargo build --release --workspace`)"
    );
}

/// memcached's `stats` counters from `addr` (from the calling thread's namespace).
pub fn stats_of(addr: SocketAddr) -> HashMap<String, u64> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"stats\r\n").unwrap();
    let mut out = HashMap::new();
    for line in BufReader::new(s).lines() {
        let line = line.unwrap();
        if line == "END" {
            break;
        }
        let parts: Vec<&str> = line.split(' ').collect();
        if let [_, name, value] = parts[..] {
            if let Ok(v) = value.parse() {
                out.insert(name.to_string(), v);
            }
        }
    }
    out
}

/// Server counters after minus before, for the given names.
pub fn delta(before: &HashMap<String, u64>, after: &HashMap<String, u64>, name: &str) -> u64 {
    after[name] - before[name]
}

/// Runs ix-mutilate with `args` to completion (in the test's own namespace); panics
/// with its output if it fails.
pub fn mutilate(args: &[&str]) -> String {
    let mut c = Command::new(BIN);
    c.args(args);
    run_ok(c, args)
}

/// Runs `c` (ix-mutilate with `args`) to completion; panics with its output if it
/// fails.
pub fn run_ok(mut c: Command, args: &[&str]) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().unwrap();
    let out = String::from_utf8_lossy(&stdout).into_owned();
    assert!(
        status.success(),
        "ix-mutilate {args:?} failed: {status}\n{out}\n{}",
        String::from_utf8_lossy(&stderr)
    );
    out
}

/// Counts of one client from the "Per client" section: (gets, sets, misses, skipped).
pub fn client_counts(out: &str, name: &str) -> (u64, u64, u64, u64) {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no line for {name} in\n{out}"));
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    (v[0], v[1], v[2], v[3])
}

/// The N of "Total QPS = x (N / ts)".
pub fn total_requests(out: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.starts_with("Total QPS"))
        .expect("Total QPS line");
    line.split('(')
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The first number after `prefix` on its line ("Misses = 5 (..)" -> 5).
pub fn number_after(out: &str, prefix: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{out}"));
    line[prefix.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}
