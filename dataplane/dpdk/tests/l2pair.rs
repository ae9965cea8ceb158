//! Moves 1,000,000 frames between two DPDK processes over shared memory:
//! `ix-l2pair` runs twice, a vhost-user server (`net_vhost0`, receiving) and
//! a `virtio_user0` client (sending), each with its own `--file-prefix`,
//! `--no-huge -m 256` and core. The receiver checks every payload and that
//! no sequence number is missing; the sender retries whatever its tx ring
//! refuses. Processes and socket files are cleaned up even on failure.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ix-l2pair");

/// The two processes and their files; kills and removes them on drop.
struct Pair {
    dir: PathBuf,
    socket: PathBuf,
    children: Vec<(&'static str, Child)>,
}

impl Pair {
    fn new(tag: &str) -> Pair {
        let dir = std::env::temp_dir().join(format!("ix-l2pair-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = PathBuf::from(format!("/tmp/ix-l2pair-{tag}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&socket);
        Pair {
            dir,
            socket,
            children: Vec::new(),
        }
    }

    fn spawn(&mut self, name: &'static str, args: &[&str]) {
        let out = File::create(self.dir.join(format!("{name}.out"))).unwrap();
        let err = File::create(self.dir.join(format!("{name}.err"))).unwrap();
        let child = Command::new(BIN)
            .args(args)
            .args(["--socket", self.socket.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        self.children.push((name, child));
    }

    fn output(&self, name: &str) -> String {
        output_in(&self.dir, name)
    }

    fn all_output(&self) -> String {
        self.children
            .iter()
            .map(|(name, _)| self.output(name))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until the socket exists (the server's port is configured).
    fn wait_for_socket(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.socket.exists() {
            for (name, child) in &mut self.children {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!(
                        "{name} exited early ({status})\n{}",
                        output_in(&self.dir, name)
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "no socket after {timeout:?}\n{}",
                self.all_output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for every process to exit; returns their statuses by name.
    fn wait_all(&mut self, timeout: Duration) -> Vec<(&'static str, ExitStatus)> {
        let deadline = Instant::now() + timeout;
        let mut done = Vec::new();
        while done.len() < self.children.len() {
            for (name, child) in &mut self.children {
                if done.iter().any(|(n, _)| n == name) {
                    continue;
                }
                if let Some(status) = child.try_wait().unwrap() {
                    done.push((*name, status));
                }
            }
            assert!(
                Instant::now() < deadline,
                "still running after {timeout:?}: {done:?}\n{}",
                self.all_output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        done
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Returns what process `name` printed, from its files in `dir`.
fn output_in(dir: &Path, name: &str) -> String {
    let read = |ext| std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).unwrap_or_default();
    format!(
        "--- {name} stdout:\n{}--- {name} stderr:\n{}",
        read("out"),
        read("err")
    )
}

/// Parses `key=value` pairs from the `RESULT` line of `text`.
fn result_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("RESULT "))?;
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
}

fn run_pair(tag: &str, frames: u64, server_sends: bool) {
    let frames_arg = frames.to_string();
    let mut pair = Pair::new(tag);
    let (server_dir, client_dir) = if server_sends {
        ("--send", "--recv")
    } else {
        ("--recv", "--send")
    };
    let common = [
        "--frames",
        frames_arg.as_str(),
        "--timeout-secs",
        "90",
        "--memory-mb",
        "256",
    ];
    let mut server_args = vec!["--role", "server", "--lcore", "0", server_dir];
    server_args.extend(common);
    pair.spawn("server", &server_args);
    pair.wait_for_socket(Duration::from_secs(30));
    let mut client_args = vec!["--role", "client", "--lcore", "1", client_dir];
    client_args.extend(common);
    pair.spawn("client", &client_args);

    let statuses = pair.wait_all(Duration::from_secs(120));
    let output = pair.all_output();
    for (name, status) in &statuses {
        assert!(status.success(), "{name} failed: {status}\n{output}");
    }
    let receiver = pair.output(if server_sends { "client" } else { "server" });
    let sender = pair.output(if server_sends { "server" } else { "client" });
    assert_eq!(
        result_field(&receiver, "received"),
        Some(frames),
        "{output}"
    );
    assert_eq!(result_field(&receiver, "corrupt"), Some(0), "{output}");
    assert_eq!(result_field(&receiver, "duplicates"), Some(0), "{output}");
    assert_eq!(result_field(&receiver, "lost"), Some(0), "{output}");
    assert_eq!(result_field(&sender, "acked"), Some(frames), "{output}");
    let line = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("RESULT"))
            .unwrap_or_default()
            .to_owned()
    };
    eprintln!("{}\n{}", line(&sender), line(&receiver));
}

#[test]
fn one_million_frames_between_two_processes() {
    run_pair("fwd", 1_000_000, false);
    // And the other way round (vhost transmits into virtio_user's rx ring).
    run_pair("rev", 100_000, true);
}
