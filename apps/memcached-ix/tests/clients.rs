//! Real clients against memcached-ix on the kernel transport over loopback:
//! memccapable (ASCII and binary), memcaslap in verify mode, pymemcache and
//! python-binary-memcached scripts, plus raw-socket checks of flow control, the
//! memory limit and the copy counter. A missing client fails the test with a
//! message naming ci/setup.sh.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[path = "clients/tools.rs"]
mod tools;

use tools::{read_until, require, require_python};

/// A memcached-ix process on a free loopback port; killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_memcached-ix"))
            .args([
                "-p",
                &port.to_string(),
                "-l",
                "127.0.0.1",
                "-U",
                "0",
                "-t",
                "2",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start memcached-ix");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "READY", "memcached-ix did not start");
        Server { child, port }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.set_nodelay(true).unwrap();
        s
    }

    /// `stats` as (name, value) pairs.
    fn stat(&self, name: &str) -> u64 {
        let mut s = self.connect();
        s.write_all(b"stats\r\n").unwrap();
        let text = read_until(&mut s, b"END\r\n");
        let text = String::from_utf8_lossy(&text);
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("STAT {name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no stat {name} in {text}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run client");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "client failed: {text}");
    text
}

#[test]
fn memccapable_passes_every_ascii_and_binary_test() {
    require("memccapable");
    let srv = Server::start(&[]);
    let out = run(Command::new("memccapable").args([
        "-h",
        "127.0.0.1",
        "-p",
        &srv.port.to_string(),
        "-t",
        "10",
    ]));
    let passed = out.lines().filter(|l| l.ends_with("[pass]")).count();
    let ascii = out
        .lines()
        .filter(|l| l.starts_with("ascii") && l.ends_with("[pass]"))
        .count();
    let binary = out
        .lines()
        .filter(|l| l.starts_with("binary") && l.ends_with("[pass]"))
        .count();
    assert!(!out.contains("[FAIL]"), "{out}");
    assert_eq!((ascii, binary, passed), (27, 27, 54), "{out}");
    assert!(out.contains("All tests passed"), "{out}");
}

#[test]
fn memcaslap_verify_finds_no_failure_text_and_binary() {
    require("memcaslap");
    let srv = Server::start(&[]);
    for binary in [false, true] {
        let server = format!("127.0.0.1:{}", srv.port);
        let mut cmd = Command::new("memcaslap");
        cmd.args(["-s", &server, "-t", "3s", "-c", "8", "-T", "1", "-v", "1"]);
        if binary {
            cmd.arg("-B");
        }
        let out = run(&mut cmd);
        let field = |name: &str| -> u64 {
            out.lines()
                .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {out}"))
        };
        assert!(field("cmd_get") > 1000, "{out}");
        assert_eq!(field("verify_failed"), 0, "{out}");
        assert_eq!(field("verify_misses"), 0, "{out}");
        assert_eq!(field("get_misses"), 0, "{out}");
    }
}

#[test]
fn pymemcache_script_passes() {
    require_python("pymemcache");
    let srv = Server::start(&[]);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/pymemcache_check.py"
    );
    let out = run(Command::new("python3").args([script, &srv.port.to_string()]));
    assert!(out.contains("pymemcache: 50 checks passed"), "{out}");
}

#[test]
fn python_binary_memcached_script_passes() {
    require_python("bmemcached");
    let srv = Server::start(&[]);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/bmemcached_check.py"
    );
    let out = run(Command::new("python3").args([script, &srv.port.to_string()]));
    assert!(out.contains("bmemcached: 27 checks passed"), "{out}");
}

#[test]
fn responses_larger_than_the_send_window_flow_and_others_are_served() {
    let srv = Server::start(&[]);
    let mut a = srv.connect();
    let value = vec![b'v'; 500_000];
    a.write_all(b"set big 0 0 500000\r\n").unwrap();
    a.write_all(&value).unwrap();
    a.write_all(b"\r\n").unwrap();
    assert_eq!(read_until(&mut a, b"\r\n"), b"STORED\r\n");
    // 40 pipelined GETs (20 MB of responses) without reading any.
    let gets = b"get big\r\n".repeat(40);
    a.write_all(&gets).unwrap();
    // Another connection is served meanwhile.
    let mut b = srv.connect();
    b.write_all(b"version\r\n").unwrap();
    assert_eq!(read_until(&mut b, b"\r\n"), b"VERSION 1.6.18\r\n");
    let header = b"VALUE big 0 500000\r\n";
    let one = header.len() + 500_000 + 2 + 5;
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    while got < one * 40 {
        let n = a.read(&mut buf).unwrap();
        assert!(n > 0);
        got += n;
    }
    assert_eq!(got, one * 40);
    assert!(
        srv.stat("conn_yields") > 0,
        "the connection stopped reading while its responses waited"
    );
}

#[test]
fn the_memory_limit_evicts_and_stats_say_so() {
    let srv = Server::start(&["-m", "2", "--value-block", "1024"]);
    let mut s = srv.connect();
    let value = vec![b'x'; 50_000];
    for i in 0..100 {
        s.write_all(format!("set k{i} 0 0 50000 noreply\r\n").as_bytes())
            .unwrap();
        s.write_all(&value).unwrap();
        s.write_all(b"\r\n").unwrap();
    }
    s.write_all(b"get k99\r\n").unwrap();
    let got = read_until(&mut s, b"END\r\n");
    assert!(
        got.starts_with(b"VALUE k99 0 50000\r\n"),
        "the newest item is kept"
    );
    assert!(srv.stat("evictions") > 50);
    assert!(srv.stat("bytes") <= 2 << 20);
    assert_eq!(srv.stat("limit_maxbytes"), 2 << 20);
}

#[test]
fn gets_of_large_values_copy_no_payload() {
    let srv = Server::start(&[]);
    let mut s = srv.connect();
    let sizes = [1024usize, 4096, 100_000];
    let values: Vec<Vec<u8>> = sizes
        .iter()
        .map(|size| (0..*size).map(|j| (j % 251) as u8).collect())
        .collect();
    let before_sets = srv.stat("ix_copied_bytes");
    for (i, v) in values.iter().enumerate() {
        s.write_all(format!("set z{i} 0 0 {}\r\n", v.len()).as_bytes())
            .unwrap();
        s.write_all(v).unwrap();
        s.write_all(b"\r\n").unwrap();
        assert_eq!(read_until(&mut s, b"\r\n"), b"STORED\r\n");
    }
    // The store's one copy of each value is counted...
    let after_sets = srv.stat("ix_copied_bytes");
    assert_eq!(after_sets - before_sets, sizes.iter().sum::<usize>() as u64);
    for (i, v) in values.iter().enumerate() {
        for _ in 0..20 {
            s.write_all(format!("get z{i}\r\n").as_bytes()).unwrap();
            let got = read_until(&mut s, b"END\r\n");
            let head = format!("VALUE z{i} 0 {}\r\n", v.len());
            assert_eq!(&got[..head.len()], head.as_bytes());
            assert_eq!(&got[head.len()..head.len() + v.len()], &v[..]);
        }
    }
    // ...and GETs add nothing.
    assert_eq!(srv.stat("ix_copied_bytes"), after_sets);
    assert_eq!(srv.stat("get_hits"), 60);
}
