//! Two elastic threads serving one instance, on two queues of one DPDK tap, both
//! pinned to core 1 (oversubscribed, idle back-off on), in a network namespace
//! this test creates:
//!
//! - as a server: 64 Linux connections, each echoed before and after 4 s of
//!   silence (longer than the ~3 s tun remembers a flow's queue by itself); each
//!   flow was served by exactly the thread its flow group names (`ix-run` prints the
//!   remotes each thread accepted), each thread served at least a quarter, every
//!   byte came back, and neither thread sent a reset (a segment steered to the
//!   wrong thread would have met no connection there);
//! - as a client: each thread opens connections to a Linux echo server in the
//!   namespace that answers each request after 5 s of silence; thread 1's
//!   connections (whose ARP reply arrived on thread 0's queue) get every answer.
//!
//! Each test removes its namespace and stops its instance, also on failure.

use ix_hostlink::Netns;
use ix_runtime::FlowGroups;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const IO_TIMEOUT: Duration = Duration::from_secs(60);
const FLOWS: usize = 64;

/// A running `ix-run` in its own namespace; dropping it kills the instance, then
/// removes the namespace (and everything configured inside).
struct Instance {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    printed: Vec<String>,
    ns: Option<Netns>,
    addr: Ipv4Addr,
    host: Ipv4Addr,
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
    /// Creates namespace `ix2t-TAG-PID`; `before_start` runs with it (e.g. a
    /// server inside); then ix-run on two threads on core 1, subnet 10.`net`.0.0/24.
    fn start(tag: &str, net: u8, extra: &[&str], before_start: impl FnOnce(&str)) -> Instance {
        let pid = std::process::id();
        let name = format!("ix2t-{tag}-{pid}");
        let iface = format!("ix2{tag}{}", pid % 10_000);
        let ns = Netns::create(&name).expect("create the namespace");
        let host = Ipv4Addr::new(10, net, 0, 1);
        let addr = Ipv4Addr::new(10, net, 0, 2);
        // The kernel side is configured by ix-run; a server binding the host
        // address needs it first.
        before_start(&name);
        let mut child = Command::new(env!("CARGO_BIN_EXE_ix-run"))
            .args(["--netns", &name, "--iface", &iface])
            .args([
                "--host-addr",
                &format!("{host}/24"),
                "--addr",
                &addr.to_string(),
            ])
            .args(["--cores", "1,1", "--seconds", "120"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ix-run");
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
            host,
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

    /// Waits for ix-run to exit (after SIGTERM if `terminate`); its output lines.
    fn finish(mut self, terminate: bool) -> Vec<String> {
        let mut child = self.child.take().expect("running");
        if terminate {
            let ok = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .expect("kill");
            assert!(ok.success());
        }
        let status = child.wait().expect("wait");
        self.printed.extend(self.lines.try_iter());
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.printed.push(l);
        }
        println!("ix-run printed:\n{}", self.printed.join("\n"));
        assert!(status.success(), "ix-run exit: {status:?}");
        std::mem::take(&mut self.printed)
    }

    /// A thread running `f` inside the namespace.
    fn in_ns<T: Send + 'static>(
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

/// `tN KIND KEY VALUE` lines as a map `(thread, "KIND.KEY") -> value`.
fn per_thread(lines: &[String]) -> HashMap<(usize, String), u64> {
    let mut m = HashMap::new();
    for l in lines {
        let w: Vec<&str> = l.split_whitespace().collect();
        if let [t, kind @ ("stat" | "app"), k, v] = w[..] {
            if let (Some(t), Ok(v)) = (t.strip_prefix('t').and_then(|t| t.parse().ok()), v.parse())
            {
                m.insert((t, format!("{kind}.{k}")), v);
            }
        }
    }
    m
}

/// The request of flow `i`, round `r`.
fn request(i: usize, r: usize) -> Vec<u8> {
    let len = 1 + (i * 7919 + r * 131) % 1400;
    (0..len).map(|k| (i * 31 + r * 7 + k * 17) as u8).collect()
}

fn echo_round(s: &mut TcpStream, i: usize, r: usize) {
    let want = request(i, r);
    s.write_all(&want).expect("send");
    let mut got = vec![0; want.len()];
    s.read_exact(&mut got).expect("echo");
    assert_eq!(got, want, "flow {i} round {r}");
}

#[test]
fn sixty_four_flows_each_stay_on_their_flow_group_s_thread() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let inst = Instance::start("s", 83, &[], |_| {});
    const CLIENTS: usize = 4;
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            inst.in_ns(move |addr| {
                let per = FLOWS / CLIENTS;
                let mut socks: Vec<TcpStream> = (0..per)
                    .map(|_| {
                        let s = TcpStream::connect_timeout(
                            &SocketAddrV4::new(addr, 7).into(),
                            IO_TIMEOUT,
                        )
                        .expect("connect");
                        s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
                        s
                    })
                    .collect();
                for (j, s) in socks.iter_mut().enumerate() {
                    echo_round(s, c * per + j, 0);
                }
                // Silence longer than tun's own memory of a flow's queue.
                std::thread::sleep(Duration::from_secs(4));
                for (j, s) in socks.iter_mut().enumerate() {
                    echo_round(s, c * per + j, 1);
                }
                let mut ends = Vec::new();
                for s in &mut socks {
                    let local = match s.local_addr().expect("local address") {
                        std::net::SocketAddr::V4(a) => a,
                        other => panic!("not IPv4: {other}"),
                    };
                    s.shutdown(Shutdown::Write).expect("shutdown");
                    let mut rest = Vec::new();
                    s.read_to_end(&mut rest).expect("orderly close");
                    assert!(rest.is_empty());
                    ends.push(local);
                }
                ends
            })
        })
        .collect();
    let clients: Vec<SocketAddrV4> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("client"))
        .collect();
    let server = SocketAddrV4::new(inst.addr, 7);
    // Let the last FINs and ACKs settle before stopping.
    std::thread::sleep(Duration::from_millis(500));
    let lines = inst.finish(true);

    let fg = FlowGroups::new(128, 2).expect("flow groups");
    let mut served: HashMap<SocketAddrV4, usize> = HashMap::new();
    for l in &lines {
        let w: Vec<&str> = l.split_whitespace().collect();
        if let [t, "flow", remote] = w[..] {
            let t: usize = t.trim_start_matches('t').parse().expect("thread");
            let remote: SocketAddrV4 = remote.parse().expect("remote");
            assert!(served.insert(remote, t).is_none(), "{remote} knocked twice");
        }
    }
    let clients_set: HashSet<_> = clients.iter().copied().collect();
    assert_eq!(clients_set.len(), FLOWS);
    assert_eq!(served.keys().copied().collect::<HashSet<_>>(), clients_set);
    for (&remote, &t) in &served {
        let owner = fg.owner(fg.group(remote, server));
        assert_eq!(
            t, owner,
            "{remote} served by thread {t}, its group's owner is {owner}"
        );
    }
    let m = per_thread(&lines);
    let get = |t: usize, k: &str| m.get(&(t, k.to_owned())).copied().unwrap_or(0);
    let accepted = [get(0, "app.accepted"), get(1, "app.accepted")];
    println!("accepted per thread: {accepted:?}");
    assert_eq!(accepted[0] + accepted[1], FLOWS as u64);
    assert!(
        accepted.iter().all(|&a| a >= FLOWS as u64 / 4),
        "{accepted:?}"
    );
    for t in 0..2 {
        assert_eq!(get(t, "stat.tcp_rsts_out"), 0, "thread {t} reset something");
        assert_eq!(get(t, "stat.handler_panics"), 0);
        assert_eq!(get(t, "app.ended"), get(t, "app.accepted"), "thread {t}");
    }
    // Thread 0 answered the kernel's ARP and passed it on to thread 1.
    assert!(get(0, "stat.arp_forwarded") >= 1);
}

#[test]
fn thread_1_s_idle_outgoing_connections_get_their_replies() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const CONNS: usize = 2;
    const REQUESTS: usize = 2;
    const SIZE: usize = 64;
    let peers = Arc::new(Mutex::new(Vec::<SocketAddrV4>::new()));
    let server_peers = Arc::clone(&peers);
    let net = 84;
    let host = Ipv4Addr::new(10, net, 0, 1);
    let (ready_tx, ready_rx) = mpsc::channel();
    let inst = Instance::start(
        "c",
        net,
        &[
            "--client",
            &format!("{host}:7007"),
            "--conns",
            &CONNS.to_string(),
            "--requests",
            &REQUESTS.to_string(),
            "--size",
            &SIZE.to_string(),
        ],
        |ns_name| {
            // The slow echo server: binds the host address, which ix-run adds
            // after this returns; so it binds with IP_FREEBIND-free retries.
            let ns_name = ns_name.to_owned();
            std::thread::spawn(move || {
                Netns::create_or_join(&ns_name)
                    .and_then(|n| n.enter_current_thread())
                    .expect("enter the namespace");
                let listener = loop {
                    match TcpListener::bind(SocketAddrV4::new(host, 7007)) {
                        Ok(l) => break l,
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                };
                let _ = ready_tx.send(());
                for conn in listener.incoming().take(2 * CONNS) {
                    let Ok(mut s) = conn else { break };
                    if let Ok(std::net::SocketAddr::V4(p)) = s.peer_addr() {
                        server_peers.lock().expect("peers").push(p);
                    }
                    std::thread::spawn(move || {
                        let mut buf = [0u8; SIZE];
                        while s.read_exact(&mut buf).is_ok() {
                            // Silence: nothing crosses the link for 5 s.
                            std::thread::sleep(Duration::from_secs(5));
                            if s.write_all(&buf).is_err() {
                                break;
                            }
                        }
                    });
                }
            });
        },
    );
    ready_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the slow echo server listens");
    assert_eq!(inst.host, host);
    let lines = inst.finish(false);

    let total = lines
        .iter()
        .find(|l| l.starts_with("RESULT threads=2"))
        .expect("a summary RESULT line");
    assert!(total.contains("ok=true"), "{total}");
    for t in 0..2 {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("t{t} RESULT ")))
            .expect("a per-thread RESULT");
        assert!(
            line.contains(&format!("completed={}", CONNS * REQUESTS)),
            "thread {t}: {line}"
        );
    }
    let m = per_thread(&lines);
    assert_eq!(
        m.get(&(1, "stat.tcp_rsts_out".to_owned()))
            .copied()
            .unwrap_or(0),
        0
    );
    // Both threads' connections reached the server; the replies of each hash to
    // the thread that opened it (the computed local port), two per thread.
    let fg = FlowGroups::new(128, 2).expect("flow groups");
    let server = SocketAddrV4::new(host, 7007);
    let peers = peers.lock().expect("peers").clone();
    assert_eq!(peers.len(), 2 * CONNS, "{peers:?}");
    let mut per_owner = [0usize; 2];
    for p in &peers {
        per_owner[fg.owner(fg.group(server, *p))] += 1;
    }
    assert_eq!(per_owner, [CONNS, CONNS], "{peers:?}");
    // Thread 1 asked for the server's MAC; the answer came on queue 0.
    assert!(
        m.get(&(0, "stat.arp_forwarded".to_owned()))
            .copied()
            .unwrap_or(0)
            >= 1
    );
}
