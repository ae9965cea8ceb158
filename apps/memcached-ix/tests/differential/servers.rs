//! The two servers under comparison: Debian's memcached and memcached-ix (kernel
//! transport), each on its own free loopback port with the same flags, killed on
//! drop; and one scripted exchange over a fresh connection.

use super::normalize::CasMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where memcached is installed (ci/setup.sh installs Debian's package).
pub const MEMCACHED: &str = "/usr/bin/memcached";

/// How long a response may pause before it counts as complete.
const QUIET: Duration = Duration::from_millis(1000);

/// One server process on a loopback port; killed on drop.
pub struct Server {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Server {
    /// Starts `program` with memcached's flags `-p PORT -l 127.0.0.1 -U 0 -m 64`
    /// plus `extra`, and waits until it accepts connections.
    pub fn start(program: &str, extra: &[&str]) -> Server {
        assert!(
            std::path::Path::new(program).exists(),
            "{program} is missing: run ci/setup.sh"
        );
        let port = free_port();
        let mut cmd = Command::new(program);
        cmd.args(["-p", &port.to_string(), "-l", "127.0.0.1", "-U", "0"])
            .args(["-m", "64"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // memcached refuses to run as root without -u (memcached-ix accepts it).
        if is_root() {
            cmd.args(["-u", "root"]);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        let mut srv = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(st)) = srv.child.try_wait() {
                panic!("{program} exited at start: {st}");
            }
            assert!(Instant::now() < deadline, "{program} did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        srv
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// A port nobody listens on now (the kernel's pick for port 0).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Debian's memcached and memcached-ix, started with the same flags.
pub struct Pair {
    /// The reference.
    pub real: Server,
    /// The one under test.
    pub ix: Server,
}

impl Pair {
    /// Both servers with `extra` flags.
    pub fn start(extra: &[&str]) -> Pair {
        Pair {
            real: Server::start(MEMCACHED, extra),
            ix: Server::start(env!("CARGO_BIN_EXE_memcached-ix"), extra),
        }
    }
}

/// One step of a scripted exchange.
#[derive(Clone, Debug)]
pub enum Step {
    /// Write these bytes (after substituting `{cas:N}` with the side's N-th CAS).
    Send(Vec<u8>),
    /// Write a binary request whose CAS field (bytes 16..24) is the side's CAS
    /// of this ordinal.
    SendBinCas(Vec<u8>, usize),
    /// Wait this many milliseconds (splits writes; lets time pass).
    Pause(u64),
}

/// What a side answered: the bytes, and whether it closed the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Everything read.
    pub bytes: Vec<u8>,
    /// The server closed (or reset) the connection.
    pub closed: bool,
}

/// Runs `steps` on a fresh connection to `port`, then writes `sentinel` and reads
/// until the reply holds `sentinel_reply` `want` times (the script's own plus
/// the sentinel's), the connection closes, or the server stays quiet for a
/// while. `cas` substitutes the CAS placeholders.
pub fn exchange(
    port: u16,
    steps: &[Step],
    sentinel: &[u8],
    sentinel_reply: &[u8],
    want: usize,
    cas: &CasMap,
) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let mut got = Vec::new();
    let mut closed = false;
    for step in steps {
        match step {
            Step::Send(b) => {
                let _ = s.write_all(&cas.substitute(b));
            }
            Step::SendBinCas(b, n) => {
                let mut b = b.clone();
                b[16..24].copy_from_slice(&cas.value(*n).to_be_bytes());
                let _ = s.write_all(&b);
            }
            Step::Pause(ms) => std::thread::sleep(Duration::from_millis(*ms)),
        }
    }
    if !closed {
        let _ = s.write_all(sentinel);
        let deadline = Instant::now() + Duration::from_secs(10);
        s.set_read_timeout(Some(QUIET)).expect("timeout");
        let mut buf = vec![0u8; 1 << 16];
        let seen = |got: &[u8]| got.ends_with(sentinel_reply) && count(got, sentinel_reply) >= want;
        while !seen(&got) && Instant::now() < deadline {
            match s.read(&mut buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        if got.ends_with(sentinel_reply) {
            got.truncate(got.len() - sentinel_reply.len());
        }
    }
    Reply { bytes: got, closed }
}

/// Occurrences of `pat` in `hay`.
pub fn count(hay: &[u8], pat: &[u8]) -> usize {
    hay.windows(pat.len()).filter(|w| *w == pat).count()
}
