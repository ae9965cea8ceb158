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

mod support;

use ix_runtime::FlowGroups;
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use support::linux::{close_in_order, connect, local_v4};
use support::netns::{in_ns, NsIxRun};
use support::output::per_thread;

const FLOWS: usize = 64;

/// Creates namespace `ix2t-TAG-PID`; `before_start` runs with it (e.g. a server
/// inside); then ix-run on two threads on core 1, subnet 10.`net`.0.0/24.
fn start(tag: &str, net: u8, extra: &[&str], before_start: impl FnOnce(&str)) -> NsIxRun {
    let pid = std::process::id();
    // The kernel side is configured by ix-run; a server binding the host address
    // needs it first.
    let mut args = vec!["--cores", "1,1", "--seconds", "120"];
    args.extend_from_slice(extra);
    NsIxRun::start(
        &format!("ix2t-{tag}-{pid}"),
        &format!("ix2{tag}{}", pid % 10_000),
        net,
        &args,
        Stdio::inherit(),
        before_start,
    )
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
    let _turn = support::one_at_a_time();
    let inst = start("s", 83, &[], |_| {});
    const CLIENTS: usize = 4;
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            inst.in_ns(move |addr| {
                let per = FLOWS / CLIENTS;
                let mut socks: Vec<TcpStream> = (0..per)
                    .map(|_| connect(SocketAddrV4::new(addr, 7)))
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
                    ends.push(local_v4(s));
                    close_in_order(s);
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
    let _turn = support::one_at_a_time();
    const CONNS: usize = 2;
    const REQUESTS: usize = 2;
    const SIZE: usize = 64;
    let peers = Arc::new(Mutex::new(Vec::<SocketAddrV4>::new()));
    let server_peers = Arc::clone(&peers);
    let net = 84;
    let host = Ipv4Addr::new(10, net, 0, 1);
    let (ready_tx, ready_rx) = mpsc::channel();
    let inst = start(
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
            in_ns(ns_name, move || {
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
