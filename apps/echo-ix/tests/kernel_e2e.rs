//! The tap tests' workloads on libix's kernel transport: `echo-kernel` serves the
//! unchanged echo-ix application over Linux sockets on 127.0.0.1 (loopback only);
//! clients are threads of this test and check every byte.
//!
//! - 1,000 concurrent connections, each one request/response, byte-exact, over two
//!   shared-nothing threads (`SO_REUSEPORT`);
//! - 64 MiB each way over one echo connection, both directions at once;
//! - 64 MiB each way through the sink and the source (the paths without an
//!   application copy).
//!
//! The tests take turns (their timings are printed). Each instance is stopped by
//! SIGTERM, also on failure (killed on drop).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const IO_TIMEOUT: Duration = Duration::from_secs(60);
const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A port nothing listens on now (the kernel's pick for a throw-away bind).
fn free_port() -> u16 {
    TcpListener::bind((LOCAL, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `echo-kernel`; dropping it kills it.
struct Instance {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    printed: Vec<String>,
    echo: u16,
    sink: u16,
    source: u16,
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Instance {
    /// Starts `echo-kernel` on free loopback ports and waits for READY.
    fn start(extra: &[&str]) -> Instance {
        let (echo, sink, source) = (free_port(), free_port(), free_port());
        let mut child = Command::new(env!("CARGO_BIN_EXE_echo-kernel"))
            .args(["--addr", "127.0.0.1", "--seconds", "170"])
            .args(["--port", &echo.to_string()])
            .args(["--sink-port", &sink.to_string()])
            .args(["--source-port", &source.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start echo-kernel");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut inst = Instance {
            child: Some(child),
            lines,
            printed: Vec::new(),
            echo,
            sink,
            source,
        };
        loop {
            match inst.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(l) => {
                    let ready = l == "READY";
                    inst.printed.push(l);
                    if ready {
                        break;
                    }
                }
                Err(e) => panic!("echo-kernel not ready ({e}): {:?}", inst.printed),
            }
        }
        inst
    }

    /// SIGTERM, wait, and the `stat`/`app`/`thread` lines it printed as a map.
    fn stop(mut self) -> HashMap<String, u64> {
        let mut child = self.child.take().expect("running");
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        let status = child.wait().expect("wait");
        assert!(status.success(), "echo-kernel exit: {status:?}");
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.printed.push(l);
        }
        let mut m = HashMap::new();
        for l in &self.printed {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w[..] {
                [kind @ ("stat" | "app"), k, v] => {
                    if let Ok(v) = v.parse() {
                        m.insert(format!("{kind}.{k}"), v);
                    }
                }
                ["thread", t, k, v] => {
                    if let Ok(v) = v.parse() {
                        m.insert(format!("thread{t}.{k}"), v);
                    }
                }
                _ => {}
            }
        }
        println!("echo-kernel printed:\n{}", self.printed.join("\n"));
        m
    }
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect_timeout(&SocketAddrV4::new(LOCAL, port).into(), IO_TIMEOUT)
        .expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    s.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    s
}

/// The request of connection `i`: its own length and bytes.
fn request(i: usize) -> Vec<u8> {
    let len = 1 + (i * 7919) % 3000;
    (0..len)
        .map(|k| (i * 31 + k * 17 + (k >> 8)) as u8)
        .collect()
}

#[test]
fn thousand_concurrent_connections_each_echo_byte_exact() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let inst = Instance::start(&["--threads", "2"]);
    let port = inst.echo;
    let started = Instant::now();
    const THREADS: usize = 4;
    const PER: usize = 250;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                // All of this thread's connections open at once.
                let mut socks: Vec<TcpStream> = (0..PER).map(|_| connect(port)).collect();
                for (j, s) in socks.iter_mut().enumerate() {
                    s.write_all(&request(t * PER + j)).expect("send");
                }
                let mut bytes = 0;
                for (j, s) in socks.iter_mut().enumerate() {
                    let want = request(t * PER + j);
                    let mut got = vec![0; want.len()];
                    s.read_exact(&mut got).expect("echo");
                    assert_eq!(got, want, "connection {}", t * PER + j);
                    bytes += got.len();
                }
                for s in &socks {
                    s.shutdown(Shutdown::Write).expect("shutdown");
                }
                for s in &mut socks {
                    let mut rest = Vec::new();
                    s.read_to_end(&mut rest).expect("orderly close");
                    assert!(rest.is_empty());
                }
                bytes
            })
        })
        .collect();
    let total: usize = workers.into_iter().map(|w| w.join().expect("client")).sum();
    let took = started.elapsed();
    println!("kernel transport: 1000 connections, {total} bytes echoed in {took:?}");
    let stats = inst.stop();
    assert_eq!(stats["app.accepted"], 1000);
    assert_eq!(stats["app.ended"], 1000);
    assert_eq!(stats["app.echoed_bytes"], total as u64);
    assert_eq!(
        stats["stat.closed"], 1000,
        "every connection ended in order"
    );
    assert_eq!(stats["stat.failed"], 0);
    assert_eq!(stats["stat.conns"], 0);
    // The transport copies nothing itself; the only copies are the echo's own.
    assert_eq!(stats["stat.copied_bytes"], total as u64);
    assert_eq!(stats["stat.handler_panics"], 0);
    assert!(
        stats["thread0.accepted"] > 0 && stats["thread1.accepted"] > 0,
        "SO_REUSEPORT spread the connections over both threads"
    );
}

/// Streams `total` bytes of the pattern into `w`.
fn send_pattern(w: &mut TcpStream, total: u64) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut off = 0u64;
    while off < total {
        let n = (total - off).min(buf.len() as u64) as usize;
        echo_ix::pattern::fill(off, &mut buf[..n]);
        w.write_all(&buf[..n]).expect("send");
        off += n as u64;
    }
}

/// Reads until EOF, checking the pattern; returns the bytes read.
fn recv_pattern(r: &mut TcpStream) -> u64 {
    let mut buf = vec![0u8; 256 * 1024];
    let mut off = 0u64;
    loop {
        let n = r.read(&mut buf).expect("recv");
        if n == 0 {
            return off;
        }
        assert_eq!(
            echo_ix::pattern::mismatches(off, &buf[..n]),
            0,
            "bytes differ at stream offset {off}"
        );
        off += n as u64;
    }
}

const BIG: u64 = 64 << 20;

#[test]
fn sixty_four_mib_each_way_over_one_echo_connection() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let inst = Instance::start(&["--threads", "1"]);
    let port = inst.echo;
    let started = Instant::now();
    let mut s = connect(port);
    let mut w = s.try_clone().expect("clone");
    let writer = std::thread::spawn(move || {
        send_pattern(&mut w, BIG);
        w.shutdown(Shutdown::Write).expect("shutdown");
    });
    let got = recv_pattern(&mut s);
    writer.join().expect("writer");
    let took = started.elapsed();
    println!(
        "kernel transport: 64 MiB each way over one echo connection in {took:?} ({:.1} MB/s each way)",
        BIG as f64 / took.as_secs_f64() / 1e6
    );
    assert_eq!(got, BIG);
    let stats = inst.stop();
    assert_eq!(stats["app.echoed_bytes"], BIG);
    assert_eq!(stats["stat.rx_bytes"], BIG);
    assert_eq!(stats["stat.tx_bytes"], BIG);
    assert_eq!(stats["stat.copied_bytes"], BIG, "only the echo's own copy");
    assert_eq!(stats["stat.closed"], 1);
}

#[test]
fn sixty_four_mib_each_way_through_sink_and_source() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let src_bytes = BIG.to_string();
    let inst = Instance::start(&["--threads", "1", "--source-bytes", &src_bytes]);
    let (sink_port, source_port) = (inst.sink, inst.source);
    let started = Instant::now();
    let sink = std::thread::spawn(move || {
        let mut s = connect(sink_port);
        send_pattern(&mut s, BIG);
        s.shutdown(Shutdown::Write).expect("shutdown");
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).expect("orderly close");
        assert!(rest.is_empty());
        started.elapsed()
    });
    let source = std::thread::spawn(move || {
        let mut s = connect(source_port);
        let n = recv_pattern(&mut s);
        (n, started.elapsed())
    });
    let sink_took = sink.join().expect("sink client");
    let (got, source_took) = source.join().expect("source client");
    let took = started.elapsed();
    println!(
        "kernel transport: sink 64 MiB in {sink_took:?}, source 64 MiB in {source_took:?}; both in {took:?} ({:.1} MB/s each way)",
        BIG as f64 / took.as_secs_f64() / 1e6
    );
    assert_eq!(got, BIG, "source stream");
    let stats = inst.stop();
    assert_eq!(stats["app.sunk_bytes"], BIG, "sink stream");
    assert_eq!(stats["app.sink_errors"], 0);
    assert_eq!(stats["app.sourced_bytes"], BIG);
    assert_eq!(stats["stat.copied_bytes"], 0, "no copy by ix either way");
    assert_eq!(stats["stat.closed"], 2);
}
