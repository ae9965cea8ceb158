//! An `echo-ix` instance started as the control plane starts it ([`Fixture`]): a
//! spec file named by `IX_INSTANCE_SPEC`, on a DPDK tap port (or another NIC) whose
//! kernel side is in a network namespace the test creates; its agent socket asked
//! as `ixcp` asks it (JSON lines, [`ask`]), and connections from the namespace held
//! open while the agent lists them ([`hold_echoed`]).

use super::linux::{connect, local_v4};
use super::netns::in_ns;
use ix_hostlink::Netns;
use ix_instance::agent_proto::{AgentRequest, AgentResponse};
use ix_instance::spec::{InstanceSpec, NicSpec, SPEC_ENV};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The address of the tap's kernel side.
pub const HOST: Ipv4Addr = Ipv4Addr::new(10, 81, 0, 1);
/// The address the instance answers on.
pub const IX: Ipv4Addr = Ipv4Addr::new(10, 81, 0, 2);
/// The echo service's port.
pub const ECHO: u16 = 7;
/// Bound of every wait for the instance and of every agent request.
pub const WAIT: Duration = Duration::from_secs(60);

/// Everything the test made; dropping it kills the instance (if still running) and
/// removes the spec file, the socket file and the namespace.
pub struct Fixture {
    child: Option<Child>,
    /// The spec the instance runs.
    pub spec: InstanceSpec,
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
pub fn ns_of(tag: &str) -> String {
    format!("ixinst-{tag}-{}", std::process::id())
}

/// A tap spec for test `tag` on `cores`.
pub fn spec(tag: &str) -> InstanceSpec {
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
pub fn with_nic(tag: &str, nic: NicSpec) -> InstanceSpec {
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
    pub fn start(tag: &str) -> Fixture {
        let ns = Netns::create(&ns_of(tag)).expect("create the namespace");
        Fixture::start_with(spec(tag), ns)
    }

    /// Writes `spec` and starts `echo-ix` on it; `ns` (already set up) is removed
    /// with the fixture.
    pub fn start_with(spec: InstanceSpec, ns: Netns) -> Fixture {
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

    /// The instance's process id; panics once it was waited for.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("pid")
    }

    /// The namespace's name.
    pub fn ns_name(&self) -> String {
        self.ns
            .as_ref()
            .map(|n| n.name().to_owned())
            .unwrap_or_default()
    }

    /// The tap interface's name (empty for other NICs).
    pub fn iface(&self) -> String {
        match &self.spec.nic {
            NicSpec::Tap { iface, .. } => iface.clone(),
            _ => String::new(),
        }
    }

    /// Polls Status until ready.
    pub fn wait_ready(&mut self) {
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
    pub fn assert_left_nothing(&self) {
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
    pub fn stop_cleanly(&mut self) {
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
    pub fn wait_exit(&mut self) -> ExitStatus {
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
pub fn ask(socket: &Path, req: &AgentRequest) -> std::io::Result<AgentResponse> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(WAIT))?;
    let mut line = serde_json::to_string(req).map_err(std::io::Error::other)?;
    line.push('\n');
    s.write_all(line.as_bytes())?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer)?;
    serde_json::from_str(&answer).map_err(std::io::Error::other)
}

/// Echoes a request over each of `conns` connections from namespace `ns`, then
/// holds them open until `release` fires (or is dropped); each one's local address.
pub fn echo_from(ns: &str, conns: usize, release: mpsc::Receiver<()>) -> Vec<SocketAddrV4> {
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
pub type ConnList = Vec<(usize, String, String)>;

/// The connections the agent lists.
pub fn conns_of(socket: &Path) -> ConnList {
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
pub fn hold_echoed(fx: &Fixture, conns: usize) -> (mpsc::Sender<()>, Vec<SocketAddrV4>, ConnList) {
    let (release, hold) = mpsc::channel();
    let addrs = echo_from(&fx.ns_name(), conns, hold);
    (release, addrs, conns_of(&fx.spec.agent_socket))
}
