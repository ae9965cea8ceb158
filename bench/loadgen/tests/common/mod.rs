//! Shared pieces of the end-to-end tests: a Debian memcached on a loopback port, its
//! `stats`, running ix-mutilate and reading its output. Every process started here is
//! killed when its guard drops, also on panic.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's memcached on 127.0.0.1 and a port of its own, one worker thread.
pub struct Memcached {
    pub port: u16,
    _child: ChildGuard,
}

impl Memcached {
    /// Starts Debian's; panics with a hint if memcached is not installed.
    pub fn start() -> Memcached {
        Self::start_program("memcached", &["-m", "64", "-u", "nobody"])
    }

    /// Starts `program` with memcached's flags for port, address, UDP off, one thread,
    /// plus `extra`.
    pub fn start_program(program: &str, extra: &[&str]) -> Memcached {
        let port = free_port();
        let child = Command::new(program)
            .args([
                "-p",
                &port.to_string(),
                "-U",
                "0",
                "-l",
                "127.0.0.1",
                "-t",
                "1",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {program} ({e}); ci/setup.sh installs memcached")
            });
        let mut guard = ChildGuard(child);
        wait_listening(port, &mut guard.0);
        Memcached {
            port,
            _child: guard,
        }
    }

    /// `host:port` for -s.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's `stats` counters.
    pub fn stats(&self) -> HashMap<String, u64> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
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
}

/// Server counters after minus before, for the given names.
pub fn delta(before: &HashMap<String, u64>, after: &HashMap<String, u64>, name: &str) -> u64 {
    after[name] - before[name]
}

/// Runs ix-mutilate with `args` to completion; panics with its output if it fails.
pub fn mutilate(args: &[&str]) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(BIN).args(args).output().unwrap();
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
