//! End to end through `ix_instance::run`: the `echo-ix` binary started as the control
//! plane starts it (a spec file named by `IX_INSTANCE_SPEC`), on a DPDK tap port
//! whose kernel side is in a network namespace this test creates. The test talks to
//! the instance's agent socket as `ixcp` does (JSON lines) and drives real TCP from
//! the namespace: Status turns ready, Stats counters move, Conns shows the open
//! connection ESTABLISHED, Capture returns the test's own TCP frames, and Stop
//! closes the connection gracefully, exits 0 and leaves no socket file, no tap
//! interface and no DPDK runtime directory behind.

mod support;

use ix_hostlink::Netns;
use ix_instance::agent_proto::{AgentRequest, AgentResponse, CapturedFrame};
use ix_instance::capture::unhex;
use ix_instance::spec::{InstanceSpec, NicSpec, SPEC_ENV};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::linux::{connect, local_v4};
use support::netns::in_ns;
use support::process::send_sigterm;

const HOST: Ipv4Addr = Ipv4Addr::new(10, 81, 0, 1);
const IX: Ipv4Addr = Ipv4Addr::new(10, 81, 0, 2);
const ECHO: u16 = 7;
const WAIT: Duration = Duration::from_secs(60);

/// Everything the test made; dropping it kills the instance (if still running) and
/// removes the spec file, the socket file and the namespace.
struct Fixture {
    child: Option<Child>,
    spec: InstanceSpec,
    spec_file: PathBuf,
    log_file: PathBuf,
    ns: Option<Netns>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.spec_file);
        let _ = std::fs::remove_file(&self.spec.agent_socket);
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log_file).unwrap_or_default();
            eprintln!("echo-ix stderr:\n{log}");
        }
        let _ = std::fs::remove_file(&self.log_file);
        drop(self.ns.take());
    }
}

/// The namespace of test `tag`.
fn ns_of(tag: &str) -> String {
    format!("ixinst-{tag}-{}", std::process::id())
}

/// A tap spec for test `tag` on `cores`.
fn spec(tag: &str) -> InstanceSpec {
    let pid = std::process::id();
    with_nic(
        tag,
        NicSpec::Tap {
            iface: format!("ixi{tag}{}", pid % 10_000),
            netns: ns_of(tag),
            host_addr: Some(HOST),
            host_prefix: 24,
            bridge: None,
        },
    )
}

/// A spec for test `tag` on `nic`, one thread on core 1.
fn with_nic(tag: &str, nic: NicSpec) -> InstanceSpec {
    let pid = std::process::id();
    InstanceSpec {
        name: format!("e2e-{tag}-{pid}"),
        cores: vec![1],
        nic,
        addr: IX,
        prefix: 24,
        gateway: None,
        batch: 64,
        flow_groups: 128,
        max_conns: 1024,
        idle_backoff: true,
        memory_mb: 256,
        hugepages: false,
        eal_args: Vec::new(),
        file_prefix: format!("ixinst-{tag}-{pid}"),
        agent_socket: std::env::temp_dir().join(format!("ixinst-{tag}-{pid}.sock")),
        log_level: "info".to_owned(),
    }
}

impl Fixture {
    /// Creates the namespace, writes the spec and starts `echo-ix` on it.
    fn start(tag: &str) -> Fixture {
        let ns = Netns::create(&ns_of(tag)).expect("create the namespace");
        Fixture::start_with(spec(tag), ns)
    }

    /// Writes `spec` and starts `echo-ix` on it; `ns` (already set up) is removed
    /// with the fixture.
    fn start_with(spec: InstanceSpec, ns: Netns) -> Fixture {
        let dir = std::env::temp_dir();
        let spec_file = dir.join(format!("{}.json", spec.name));
        let log_file = dir.join(format!("{}.log", spec.name));
        std::fs::write(&spec_file, serde_json::to_string(&spec).expect("json")).expect("spec");
        let log = std::fs::File::create(&log_file).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_echo-ix"))
            .env(SPEC_ENV, &spec_file)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start echo-ix");
        Fixture {
            child: Some(child),
            spec,
            spec_file,
            log_file,
            ns: Some(ns),
        }
    }

    fn ns_name(&self) -> String {
        self.ns
            .as_ref()
            .map(|n| n.name().to_owned())
            .unwrap_or_default()
    }

    fn iface(&self) -> String {
        match &self.spec.nic {
            NicSpec::Tap { iface, .. } => iface.clone(),
            _ => String::new(),
        }
    }

    /// Polls Status until ready.
    fn wait_ready(&mut self) {
        let until = Instant::now() + WAIT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("echo-ix exited before it was ready: {status}");
            }
            if let Ok(AgentResponse::Status {
                ready: true,
                pid,
                threads,
            }) = ask(&self.spec.agent_socket, &AgentRequest::Status)
            {
                assert_eq!(Some(pid), self.child.as_ref().map(Child::id));
                assert_eq!(threads.len(), self.spec.cores.len());
                for (t, core) in threads.iter().zip(&self.spec.cores) {
                    assert_eq!(t.core, *core);
                    assert!(t.heartbeat > 0 && !t.failed);
                }
                return;
            }
            assert!(Instant::now() < until, "the instance never became ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Checks the instance left no agent socket and no DPDK runtime directory.
    fn assert_left_nothing(&self) {
        let socket = &self.spec.agent_socket;
        assert!(
            !socket.exists(),
            "the agent socket {} is removed",
            socket.display()
        );
        let dpdk_dir = Path::new("/var/run/dpdk").join(&self.spec.file_prefix);
        assert!(!dpdk_dir.exists(), "{} is removed", dpdk_dir.display());
    }

    /// Stops the instance through its agent (3 s of grace), checks it exits 0 and
    /// leaves nothing behind.
    fn stop_cleanly(&mut self) {
        assert_eq!(
            ask(
                &self.spec.agent_socket,
                &AgentRequest::Stop { grace_ms: 3000 }
            )
            .expect("stop"),
            AgentResponse::Stopping
        );
        let status = self.wait_exit();
        assert!(status.success(), "echo-ix exit: {status}");
        self.assert_left_nothing();
    }

    /// Waits for the instance to exit.
    fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let until = Instant::now() + WAIT;
        loop {
            if let Some(s) = child.try_wait().expect("wait") {
                return s;
            }
            if Instant::now() > until {
                let _ = child.kill();
                let _ = child.wait();
                panic!("echo-ix did not exit after Stop");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One request on its own connection, as ixcp does it.
fn ask(socket: &Path, req: &AgentRequest) -> std::io::Result<AgentResponse> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(WAIT))?;
    let mut line = serde_json::to_string(req).map_err(std::io::Error::other)?;
    line.push('\n');
    s.write_all(line.as_bytes())?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer)?;
    serde_json::from_str(&answer).map_err(std::io::Error::other)
}

/// A parsed Ethernet/IPv4/TCP frame: (src, dst, flags, payload).
fn tcp_of(frame: &[u8]) -> Option<(SocketAddrV4, SocketAddrV4, u8, Vec<u8>)> {
    if frame.len() < 14 + 20 + 20 || frame[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ip[9] != 6 || ip.len() < ihl + 20 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
    let src_ip = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst_ip = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let tcp = &ip[ihl..total];
    let src_port = u16::from_be_bytes([tcp[0], tcp[1]]);
    let dst_port = u16::from_be_bytes([tcp[2], tcp[3]]);
    let off = usize::from(tcp[12] >> 4) * 4;
    let payload = tcp.get(off..)?.to_vec();
    Some((
        SocketAddrV4::new(src_ip, src_port),
        SocketAddrV4::new(dst_ip, dst_port),
        tcp[13],
        payload,
    ))
}

const SYN: u8 = 0x02;

#[test]
fn instance_serves_reports_captures_and_stops_cleanly() {
    let _turn = support::one_at_a_time();
    let mut fx = Fixture::start("a");
    fx.wait_ready();
    let socket = fx.spec.agent_socket.clone();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&socket).expect("socket").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the agent socket is private");

    // Capture (on its own agent connection) while the client talks.
    let capture = {
        let socket = socket.clone();
        std::thread::spawn(move || {
            ask(
                &socket,
                &AgentRequest::Capture {
                    count: 12,
                    timeout_ms: 8000,
                },
            )
        })
    };
    std::thread::sleep(Duration::from_millis(500));

    let msg = b"hello through ix";
    let client = in_ns(&fx.ns_name(), move || {
        let mut s = connect(SocketAddrV4::new(IX, ECHO));
        s.write_all(msg).expect("send");
        let mut back = vec![0u8; msg.len()];
        s.read_exact(&mut back).expect("echo");
        (s, back)
    });
    let (mut stream, back) = client.join().expect("client");
    assert_eq!(back, msg, "echoed byte for byte");
    let local = local_v4(&stream);

    // The connection is open: the instance lists it.
    match ask(&socket, &AgentRequest::Conns).expect("conns") {
        AgentResponse::Conns { conns } => {
            let ours: Vec<_> = conns
                .iter()
                .filter(|c| c.remote == local.to_string())
                .collect();
            assert_eq!(ours.len(), 1, "{conns:?}");
            assert_eq!(ours[0].state, "ESTABLISHED");
            assert_eq!(ours[0].local, SocketAddrV4::new(IX, ECHO).to_string());
            assert_eq!(ours[0].thread, 0);
        }
        other => panic!("{other:?}"),
    }

    // Counters moved.
    match ask(&socket, &AgentRequest::Stats).expect("stats") {
        AgentResponse::Stats { threads } => {
            assert_eq!(threads.len(), 1);
            let get = |k: &str| {
                threads[0]
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|&(_, v)| v)
                    .unwrap_or(0)
            };
            assert!(get("rx_packets") >= 3, "{:?}", threads[0]);
            assert!(get("tx_packets") >= 2, "{:?}", threads[0]);
            assert!(get("rx_bytes") > msg.len() as u64);
            assert!(get("events") >= 2);
            assert_eq!(get("conns"), 1);
            assert_eq!(get("handler_panics"), 0);
        }
        other => panic!("{other:?}"),
    }

    // The capture holds this connection's frames, both ways, as sent on the wire.
    let frames: Vec<CapturedFrame> = match capture.join().expect("capture").expect("ask") {
        AgentResponse::Capture { frames } => frames,
        other => panic!("{other:?}"),
    };
    assert!(!frames.is_empty());
    let parsed: Vec<_> = frames
        .iter()
        .map(|f| {
            let bytes = unhex(&f.data_hex).expect("hex");
            assert_eq!(
                bytes.len(),
                f.orig_len as usize,
                "whole frames fit the snap length"
            );
            (f.dir.as_str(), tcp_of(&bytes))
        })
        .collect();
    let server = SocketAddrV4::new(IX, ECHO);
    assert!(
        parsed.iter().any(|(dir, t)| *dir == "rx"
            && matches!(t, Some((s, d, flags, _)) if *s == local && *d == server && flags & SYN != 0)),
        "our SYN was captured: {parsed:?}"
    );
    assert!(
        parsed.iter().any(|(dir, t)| *dir == "rx"
            && matches!(t, Some((s, d, _, p)) if *s == local && *d == server && p == msg)),
        "our request was captured"
    );
    assert!(
        parsed.iter().any(|(dir, t)| *dir == "tx"
            && matches!(t, Some((s, d, _, p)) if *s == server && *d == local && p == msg)),
        "the echo was captured"
    );
    assert!(
        frames.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns),
        "oldest first"
    );

    // Stop with the connection still open: the instance closes it (the client sees
    // end of stream), exits 0 and leaves nothing behind.
    let answer = ask(&socket, &AgentRequest::Stop { grace_ms: 3000 }).expect("stop");
    assert_eq!(answer, AgentResponse::Stopping);
    let mut rest = Vec::new();
    let eof = in_ns(&fx.ns_name(), move || {
        stream.read_to_end(&mut rest).map(|_| rest)
    })
    .join()
    .expect("reader");
    assert_eq!(eof.expect("graceful close, not a reset"), Vec::<u8>::new());
    let status = fx.wait_exit();
    assert!(status.success(), "echo-ix exit: {status}");
    fx.assert_left_nothing();
    let tap = Command::new("ip")
        .args(["-n", &fx.ns_name(), "link", "show", &fx.iface()])
        .output()
        .expect("ip");
    assert!(!tap.status.success(), "the tap interface is gone");
}

#[test]
fn sigterm_stops_cleanly_and_bad_specs_are_refused() {
    let _turn = support::one_at_a_time();
    let mut fx = Fixture::start("b");
    fx.wait_ready();
    send_sigterm(fx.child.as_ref().map(Child::id).expect("pid"));
    let status = fx.wait_exit();
    assert!(status.success(), "echo-ix exit on SIGTERM: {status}");
    fx.assert_left_nothing();

    // Without a spec, and with a broken one: a clear refusal, not a panic.
    let bin = env!("CARGO_BIN_EXE_echo-ix");
    let out = Command::new(bin)
        .env_remove(SPEC_ENV)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(SPEC_ENV));
    let bad = std::env::temp_dir().join(format!("ixinst-bad-{}.json", std::process::id()));
    let mut broken = spec("c");
    broken.cores.clear();
    std::fs::write(&bad, serde_json::to_string(&broken).expect("json")).expect("write");
    let out = Command::new(bin).env(SPEC_ENV, &bad).output().expect("run");
    let _ = std::fs::remove_file(&bad);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no cores"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Echoes a request over each of `conns` connections from namespace `ns`, then
/// holds them open until `release` fires (or is dropped); each one's local address.
fn echo_from(ns: &str, conns: usize, release: mpsc::Receiver<()>) -> Vec<SocketAddrV4> {
    let (tx, rx) = mpsc::channel();
    let holder = in_ns(ns, move || {
        let mut open = Vec::new();
        for i in 0..conns {
            let mut s = connect(SocketAddrV4::new(IX, ECHO));
            let msg = format!("request {i}");
            s.write_all(msg.as_bytes()).expect("send");
            let mut back = vec![0u8; msg.len()];
            s.read_exact(&mut back).expect("echo");
            assert_eq!(back, msg.as_bytes());
            open.push(s);
        }
        let addrs: Vec<SocketAddrV4> = open.iter().map(local_v4).collect();
        tx.send(addrs).expect("report");
        let _ = release.recv();
    });
    let addrs = rx.recv_timeout(WAIT).expect("every connection echoed");
    drop(holder); // detached: it ends when `release` fires or is dropped
    addrs
}

/// Connections as the agent lists them: (thread, remote, state).
type ConnList = Vec<(usize, String, String)>;

/// The connections the agent lists.
fn conns_of(socket: &Path) -> ConnList {
    match ask(socket, &AgentRequest::Conns).expect("conns") {
        AgentResponse::Conns { conns } => conns
            .into_iter()
            .map(|c| (c.thread, c.remote, c.state))
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// The connections the agent lists while `conns` echoed connections from `fx`'s
/// namespace are held open: the sender that lets them go, their local addresses
/// and the agent's list.
fn hold_echoed(fx: &Fixture, conns: usize) -> (mpsc::Sender<()>, Vec<SocketAddrV4>, ConnList) {
    let (release, hold) = mpsc::channel();
    let addrs = echo_from(&fx.ns_name(), conns, hold);
    (release, addrs, conns_of(&fx.spec.agent_socket))
}

#[test]
fn two_threads_on_a_steered_tap_each_serve_their_flows() {
    let _turn = support::one_at_a_time();
    let ns = Netns::create(&ns_of("m")).expect("create the namespace");
    let mut s = spec("m");
    // Core 0 is the clients' too: the threads back off when idle.
    s.cores = vec![1, 0];
    let mut fx = Fixture::start_with(s, ns);
    fx.wait_ready();
    let (release, addrs, listed) = hold_echoed(&fx, 32);
    for a in &addrs {
        let mine: Vec<_> = listed.iter().filter(|c| c.1 == a.to_string()).collect();
        assert_eq!(mine.len(), 1, "{a} in {listed:?}");
        assert_eq!(mine[0].2, "ESTABLISHED");
    }
    // 32 random ports all hashing to one thread's groups: odds 2^-31.
    assert!(listed.iter().any(|c| c.0 == 0) && listed.iter().any(|c| c.0 == 1));
    match ask(&fx.spec.agent_socket, &AgentRequest::Stats).expect("stats") {
        AgentResponse::Stats { threads } => assert_eq!(threads.len(), 2),
        other => panic!("{other:?}"),
    }
    fx.stop_cleanly();
    let _ = release.send(());
}

#[test]
fn af_packet_on_a_veth_serves_and_stops_cleanly() {
    let _turn = support::one_at_a_time();
    let ns = Netns::create(&ns_of("p")).expect("create the namespace");
    ns.ip(&[
        "link", "add", "ixdp", "type", "veth", "peer", "name", "ixhost",
    ])
    .expect("veth");
    ns.ip(&["addr", "add", &format!("{HOST}/24"), "dev", "ixhost"])
        .expect("address");
    ns.ip(&["link", "set", "ixhost", "up"]).expect("up");
    // The veth would hand AF_PACKET frames with their checksum still to fill in.
    let out = ns
        .command("ethtool")
        .args(["-K", "ixhost", "tx", "off"])
        .output()
        .expect("ethtool");
    assert!(out.status.success(), "{out:?}");
    let spec = with_nic(
        "p",
        NicSpec::AfPacket {
            iface: "ixdp".to_owned(),
            netns: ns.name().to_owned(),
        },
    );
    let mut fx = Fixture::start_with(spec, ns);
    fx.wait_ready();
    let (release, addrs, listed) = hold_echoed(&fx, 2);
    assert!(addrs.iter().all(|a| listed
        .iter()
        .any(|c| c.1 == a.to_string() && c.2 == "ESTABLISHED")));
    fx.stop_cleanly();
    let _ = release.send(());
}
