//! End to end between two ix instances, no kernel network device involved: `ix-run`
//! twice, an echo server on the vhost-user end of a shared-memory pair (core 1) and
//! the echo client on the virtio_user end (core 0). Both run ix-net (ARP resolves
//! between them) and ix-tcp, both busy-poll with the runtime's idle back-off (the
//! cores are shared with this test and the kernel).
//!
//! - a million 64-byte request/responses (16 connections x 62,500, ping-pong),
//!   every echoed byte checked by the client, zero errors, every connection closed
//!   in order on both sides;
//! - pipelined requests of 1000 bytes (8 connections, 16 outstanding each).
//!
//! Each test starts the vhost end first and the virtio end once the socket exists,
//! stops the vhost end first (it maps the virtio end's memory), and kills whatever
//! is left and removes the socket and output files also on failure. They take turns.
//! Deadlines are generous: the million takes seconds in a release build on the
//! 2-core VM and about two minutes in a debug build; the test gives it 480 s.

mod support;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use support::process::send_sigterm;

const BIN: &str = env!("CARGO_BIN_EXE_ix-run");

/// The two processes and their files; kills and removes them on drop.
struct Pair {
    dir: PathBuf,
    socket: PathBuf,
    children: Vec<(&'static str, Child)>,
}

impl Pair {
    fn new(tag: &str) -> Pair {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("ix-pair-e2e-{tag}-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("output directory");
        let socket = PathBuf::from(format!("/tmp/ix-pair-e2e-{tag}-{pid}.sock"));
        let _ = std::fs::remove_file(&socket);
        Pair {
            dir,
            socket,
            children: Vec::new(),
        }
    }

    fn spawn(&mut self, name: &'static str, args: &[&str]) {
        let out = File::create(self.dir.join(format!("{name}.out"))).expect("stdout file");
        let err = File::create(self.dir.join(format!("{name}.err"))).expect("stderr file");
        let child = Command::new(BIN)
            .args(args)
            .arg("--socket")
            .arg(&self.socket)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start ix-run");
        self.children.push((name, child));
    }

    fn output(&self, name: &str) -> String {
        output_in(&self.dir, name)
    }

    fn stdout(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.out"))).unwrap_or_default()
    }

    fn all_output(&self) -> String {
        self.children
            .iter()
            .map(|(name, _)| self.output(name))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn pid(&self, name: &str) -> u32 {
        self.children
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c.id())
            .expect("a child of that name")
    }

    /// Waits until `name` printed a line starting with `prefix`; panics if a
    /// process exits first or `timeout` passes.
    fn wait_for_line(&mut self, name: &str, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.stdout(name).lines().find(|l| l.starts_with(prefix)) {
                return l.to_owned();
            }
            let mut exited = None;
            for (n, child) in &mut self.children {
                if let Some(status) = child.try_wait().expect("try_wait") {
                    exited = Some((*n, status));
                }
            }
            if let Some((n, status)) = exited {
                // It may have printed the line just before exiting.
                if let Some(l) = self.stdout(name).lines().find(|l| l.starts_with(prefix)) {
                    return l.to_owned();
                }
                panic!(
                    "{n} exited ({status}) before {name} printed {prefix:?}\n{}",
                    self.all_output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not print {prefix:?} within {timeout:?}\n{}",
                self.all_output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for `name` to exit.
    fn wait(&mut self, name: &str, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            let (_, child) = self
                .children
                .iter_mut()
                .find(|(n, _)| *n == name)
                .expect("a child of that name");
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{name} still running after {timeout:?}\n{}",
                self.all_output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // The vhost end (spawned first) goes first.
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What process `name` printed, from its files in `dir`.
fn output_in(dir: &Path, name: &str) -> String {
    let read = |ext| std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).unwrap_or_default();
    format!(
        "--- {name} stdout:\n{}--- {name} stderr:\n{}",
        read("out"),
        read("err")
    )
}

/// The `key=value` pairs of a `RESULT` line.
fn fields(line: &str) -> HashMap<String, String> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn num(f: &HashMap<String, String>, key: &str) -> u64 {
    f.get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {key} in {f:?}"))
}

/// What the echo client asks of the server.
struct Load {
    /// Connections.
    conns: u32,
    /// Requests per connection.
    requests: u64,
    /// Bytes per request.
    size: usize,
    /// Requests outstanding per connection.
    pipeline: usize,
}

impl Load {
    /// As `ix-run --client` arguments.
    fn args(&self) -> Vec<String> {
        [
            ("--conns", self.conns.to_string()),
            ("--requests", self.requests.to_string()),
            ("--size", self.size.to_string()),
            ("--pipeline", self.pipeline.to_string()),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_owned(), v])
        .collect()
    }
}

/// Runs an echo server (vhost, core 1) and a client (virtio, core 0) putting
/// `load` on it; returns the client's and the server's RESULT fields.
fn run_pair(
    tag: &str,
    subnet: u8,
    load: &Load,
    deadline: Duration,
) -> (HashMap<String, String>, HashMap<String, String>) {
    let mut pair = Pair::new(tag);
    let server_addr = format!("10.{subnet}.0.1/24");
    let client_addr = format!("10.{subnet}.0.2/24");
    let target = format!("10.{subnet}.0.1:7");
    let secs = (deadline.as_secs() + 60).to_string();
    pair.spawn(
        "server",
        &[
            "--nic",
            "vhost",
            "--addr",
            &server_addr,
            "--core",
            "1",
            "--rto-min-ms",
            "20",
            "--seconds",
            &secs,
        ],
    );
    pair.wait_for_line("server", "READY", Duration::from_secs(60));
    assert!(pair.socket.exists(), "the vhost end made its socket");
    let mut args = vec![
        "--nic",
        "virtio",
        "--addr",
        &client_addr,
        "--core",
        "0",
        "--rto-min-ms",
        "20",
        "--client",
        &target,
        "--seconds",
        &secs,
    ];
    let load_args = load.args();
    args.extend(load_args.iter().map(String::as_str));
    pair.spawn("client", &args);
    let started = Instant::now();
    let client_line = pair.wait_for_line("client", "RESULT ", deadline);
    let took = started.elapsed();

    // The vhost end stops and closes first; the virtio end then sees its link go
    // down and closes.
    send_sigterm(pair.pid("server"));
    let server_status = pair.wait("server", Duration::from_secs(30));
    let client_status = pair.wait("client", Duration::from_secs(30));
    let output = pair.all_output();
    assert!(server_status.success(), "server: {server_status}\n{output}");
    assert!(client_status.success(), "client: {client_status}\n{output}");
    let server_line = pair
        .stdout("server")
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no server RESULT\n{output}"));
    eprintln!("{tag}: client finished in {took:?}\n{client_line}\n{server_line}");
    assert!(
        !pair.stdout("client").contains("stat handler_panics 1"),
        "{output}"
    );
    (fields(&client_line), fields(&server_line))
}

#[test]
fn a_million_request_responses_between_two_ix_instances() {
    let _turn = support::one_at_a_time();
    let (c, s) = run_pair(
        "mil",
        79,
        &Load {
            conns: 16,
            requests: 62_500,
            size: 64,
            pipeline: 1,
        },
        Duration::from_secs(480),
    );
    assert_eq!(num(&c, "total_requests"), 1_000_000);
    assert_eq!(num(&c, "completed"), 1_000_000);
    assert_eq!(num(&c, "errors"), 0);
    assert_eq!(num(&c, "byte_errors"), 0);
    assert_eq!(num(&c, "extra_bytes"), 0);
    assert_eq!(num(&c, "failed_conns"), 0);
    assert_eq!(num(&c, "connected"), 16);
    assert_eq!(num(&c, "rtt_samples"), 1_000_000);
    assert!(num(&c, "rtt_p50_ns") > 0);
    assert!(num(&c, "rtt_p50_ns") <= num(&c, "rtt_p99_ns"));
    assert!(num(&c, "rtt_p99_ns") <= num(&c, "rtt_p999_ns"));
    assert!(num(&c, "rps") > 0);
    assert_eq!(num(&s, "accepted"), 16);
    assert_eq!(
        num(&s, "ended"),
        16,
        "every connection closed on the server"
    );
    assert_eq!(num(&s, "echoed_bytes"), 64_000_000);
    assert_eq!(num(&s, "copied_bytes"), 0, "the echo copies nothing");
    assert_eq!(num(&s, "handler_panics"), 0);
}

#[test]
fn pipelined_kilobyte_requests_between_two_ix_instances() {
    let _turn = support::one_at_a_time();
    let (c, s) = run_pair(
        "pipe",
        80,
        &Load {
            conns: 8,
            requests: 5000,
            size: 1000,
            pipeline: 16,
        },
        Duration::from_secs(180),
    );
    assert_eq!(num(&c, "completed"), 40_000);
    assert_eq!(num(&c, "errors"), 0);
    assert_eq!(num(&s, "accepted"), 8);
    assert_eq!(num(&s, "ended"), 8);
    assert_eq!(num(&s, "echoed_bytes"), 40_000_000);
    assert_eq!(num(&s, "handler_panics"), 0);
}
