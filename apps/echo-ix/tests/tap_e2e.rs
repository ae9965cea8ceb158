//! End to end through a real DPDK tap port: `ix-run` serves echo-ix in a network
//! namespace this test creates; Linux clients (threads of this test that enter the
//! namespace) check every byte.
//!
//! - 1,000 concurrent connections, each one request/response, byte-exact;
//! - 64 MiB each way over one echo connection, both directions at once;
//! - 64 MiB each way (sink + source, the zero-copy paths) over an impaired link: the
//!   fault injector at 2% loss with reordering and duplication, and 2% random drop
//!   of TCP input in the namespace's kernel (nftables).
//!
//! The tests take turns (one DPDK instance at a time on the dataplane core). Each
//! removes its namespace and stops its instance, also on failure.

use ix_hostlink::Netns;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `ix-run` in its own namespace; dropping it stops the instance, then
/// removes the namespace (and with it everything configured inside).
struct Instance {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    printed: Vec<String>,
    ns: Option<Netns>,
    addr: Ipv4Addr,
    _fault_file: Option<tempfile_path::TempPath>,
}

mod tempfile_path {
    /// A file removed on drop.
    pub struct TempPath(pub std::path::PathBuf);
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        drop(self.ns.take());
    }
}

impl Instance {
    /// Creates namespace `ixe2e-TAG-PID`, starts ix-run in it on subnet
    /// 10.`net`.0.0/24 and waits for READY.
    fn start(tag: &str, net: u8, extra: &[&str], fault_plan: Option<&str>) -> Instance {
        let pid = std::process::id();
        let name = format!("ixe2e-{tag}-{pid}");
        let iface = format!("ixe{tag}{}", pid % 10_000);
        let ns = Netns::create(&name).expect("create the namespace");
        let fault_file = fault_plan.map(|text| {
            let p = std::env::temp_dir().join(format!("ix-fault-{tag}-{pid}.toml"));
            std::fs::write(&p, text).expect("write the fault plan");
            tempfile_path::TempPath(p)
        });
        let host = format!("10.{net}.0.1/24");
        let addr = Ipv4Addr::new(10, net, 0, 2);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ix-run"));
        cmd.args(["--netns", &name, "--iface", &iface, "--host-addr", &host])
            .args(["--addr", &addr.to_string(), "--seconds", "170"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(f) = &fault_file {
            cmd.arg("--fault-plan").arg(&f.0);
        }
        let mut child = cmd.spawn().expect("start ix-run");
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
            ns: Some(ns),
            addr,
            _fault_file: fault_file,
        };
        loop {
            match inst.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(l) => {
                    let ready = l == "READY";
                    inst.printed.push(l);
                    if ready {
                        break;
                    }
                }
                Err(e) => panic!("ix-run not ready ({e}): {:?}", inst.printed),
            }
        }
        inst
    }

    fn ns_name(&self) -> String {
        self.ns
            .as_ref()
            .map(|n| n.name().to_owned())
            .unwrap_or_default()
    }

    /// Runs a command inside the namespace; panics if it fails.
    fn exec(&self, args: &[&str]) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns_name()])
            .args(args)
            .output()
            .expect("ip netns exec");
        assert!(out.status.success(), "{args:?}: {out:?}");
    }

    /// SIGTERM, wait, and the `stat`/`app` lines it printed as a map.
    fn stop(mut self) -> HashMap<String, u64> {
        let mut child = self.child.take().expect("running");
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        let status = child.wait().expect("wait");
        assert!(status.success(), "ix-run exit: {status:?}");
        self.printed.extend(self.lines.try_iter());
        // The reader thread may still be draining the pipe.
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.printed.push(l);
        }
        let mut m = HashMap::new();
        for l in &self.printed {
            let mut w = l.split_whitespace();
            if let (Some(kind @ ("stat" | "app")), Some(k), Some(v)) =
                (w.next(), w.next(), w.next())
            {
                if let Ok(v) = v.parse() {
                    m.insert(format!("{kind}.{k}"), v);
                }
            }
        }
        println!("ix-run printed:\n{}", self.printed.join("\n"));
        m
    }

    /// A thread running `f` inside the namespace.
    fn client<T: Send + 'static>(
        &self,
        f: impl FnOnce(Ipv4Addr) -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let name = self.ns_name();
        let addr = self.addr;
        std::thread::spawn(move || {
            Netns::create_or_join(&name)
                .and_then(|n| n.enter_current_thread())
                .expect("enter the namespace");
            f(addr)
        })
    }
}

fn connect(addr: Ipv4Addr, port: u16) -> TcpStream {
    let s = TcpStream::connect_timeout(&SocketAddrV4::new(addr, port).into(), IO_TIMEOUT)
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

fn pattern(offset: u64, buf: &mut [u8]) {
    echo_ix::pattern::fill(offset, buf);
}

#[test]
fn thousand_concurrent_connections_each_echo_byte_exact() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let inst = Instance::start("k", 81, &[], None);
    let started = Instant::now();
    const THREADS: usize = 4;
    const PER: usize = 250;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            inst.client(move |addr| {
                // All of this thread's connections open at once.
                let mut socks: Vec<TcpStream> = (0..PER).map(|_| connect(addr, 7)).collect();
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
    println!("1000 connections, {total} bytes echoed in {took:?}");
    let stats = inst.stop();
    assert_eq!(stats["app.accepted"], 1000);
    assert_eq!(stats["app.echoed_bytes"], total as u64);
    // The stack copied nothing; the only copies are the echo's own, counted.
    assert_eq!(stats["stat.copied_bytes"], total as u64);
    assert_eq!(stats["stat.handler_panics"], 0);
}

/// Streams `total` bytes of the pattern into `w`.
fn send_pattern(w: &mut TcpStream, total: u64) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut off = 0u64;
    while off < total {
        let n = (total - off).min(buf.len() as u64) as usize;
        pattern(off, &mut buf[..n]);
        w.write_all(&buf[..n]).expect("send");
        off += n as u64;
    }
}

/// Reads until EOF (or `total` bytes if `until_eof` is false), checking the pattern.
fn recv_pattern(r: &mut TcpStream, total: u64, until_eof: bool) -> u64 {
    let mut buf = vec![0u8; 256 * 1024];
    let mut off = 0u64;
    loop {
        if !until_eof && off >= total {
            return off;
        }
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
    let inst = Instance::start("b", 82, &[], None);
    let started = Instant::now();
    let client = inst.client(|addr| {
        let mut s = connect(addr, 7);
        let mut w = s.try_clone().expect("clone");
        let writer = std::thread::spawn(move || {
            send_pattern(&mut w, BIG);
            w.shutdown(Shutdown::Write).expect("shutdown");
        });
        let got = recv_pattern(&mut s, BIG, true);
        writer.join().expect("writer");
        got
    });
    let got = client.join().expect("client");
    let took = started.elapsed();
    println!(
        "64 MiB each way over one echo connection in {took:?} ({:.1} MB/s each way)",
        BIG as f64 / took.as_secs_f64() / 1e6
    );
    assert_eq!(got, BIG);
    let stats = inst.stop();
    assert_eq!(stats["app.echoed_bytes"], BIG);
    assert_eq!(stats["stat.copied_bytes"], BIG, "only the echo's own copy");
}

const FAULTS: &str = r#"
[fault]
seed = 1234
rx = { drop = 0.02, reorder = 0.02, duplicate = 0.01 }
tx = { drop = 0.02, reorder = 0.02, duplicate = 0.01 }
"#;

#[test]
fn sixty_four_mib_each_way_zero_copy_over_an_impaired_link() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let src_bytes = BIG.to_string();
    // ix's default 200 ms RTO floor, as Linux's: losses are repaired by SACK, RACK
    // and loss probes, and a timeout (200 ms each) is left for the rare lost probe.
    let inst = Instance::start("f", 83, &["--source-bytes", &src_bytes], Some(FAULTS));
    // The kernel side drops 2% of TCP input at random, too.
    inst.exec(&["nft", "add", "table", "inet", "ixt"]);
    inst.exec(&[
        "nft",
        "add chain inet ixt in { type filter hook input priority 0 ; }",
    ]);
    inst.exec(&[
        "nft",
        "add rule inet ixt in meta l4proto tcp numgen random mod 100 < 2 counter drop",
    ]);
    let started = Instant::now();
    let sink = inst.client(move |addr| {
        let mut s = connect(addr, 9);
        send_pattern(&mut s, BIG);
        s.shutdown(Shutdown::Write).expect("shutdown");
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).expect("orderly close");
        assert!(rest.is_empty());
        println!(
            "impaired: sink direction done after {:?}",
            started.elapsed()
        );
    });
    let source = inst.client(move |addr| {
        let mut s = connect(addr, 19);
        let n = recv_pattern(&mut s, BIG, true);
        println!(
            "impaired: source direction done after {:?}",
            started.elapsed()
        );
        n
    });
    sink.join().expect("sink client");
    let got = source.join().expect("source client");
    let took = started.elapsed();
    println!(
        "impaired: 64 MiB each way (sink + source) in {took:?} ({:.1} MB/s each way)",
        BIG as f64 / took.as_secs_f64() / 1e6
    );
    assert_eq!(got, BIG, "source stream");
    let nft = Command::new("ip")
        .args([
            "netns",
            "exec",
            &inst.ns_name(),
            "nft",
            "list",
            "table",
            "inet",
            "ixt",
        ])
        .output()
        .expect("nft list");
    let listing = String::from_utf8_lossy(&nft.stdout).to_string();
    println!("{listing}");
    assert!(
        !listing.contains("packets 0 "),
        "nftables dropped nothing: {listing}"
    );
    let stats = inst.stop();
    assert_eq!(stats["app.sunk_bytes"], BIG, "sink stream");
    assert_eq!(stats["app.sink_errors"], 0);
    assert_eq!(stats["app.sourced_bytes"], BIG);
    assert_eq!(stats["stat.copied_bytes"], 0, "zero copy both ways");
    assert!(stats["stat.tcp_retransmits"] > 0, "the link was lossy");
}
