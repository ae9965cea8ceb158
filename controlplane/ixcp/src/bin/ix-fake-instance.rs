//! ix-fake-instance: a stand-in dataplane instance for testing ixcp without DPDK.
//! It reads the spec named by `IX_INSTANCE_SPEC`, creates an EAL-like runtime
//! directory (`/var/run/dpdk/PREFIX`) as DPDK would, and serves the agent
//! protocol with one moving heartbeat per core. Arguments make it misbehave:
//! `--hang-if PATH` stops the heartbeats (agent still answering) once PATH
//! exists, removing PATH so that the next run is healthy; `--crash-after-ms N`
//! exits with status 101 after N ms; `--never-ready` never reports ready.

use anyhow::{Context, Result};
use clap::Parser;
use ix_instance::agent_proto::{
    AgentRequest, AgentResponse, CapturedFrame, ConnInfo, ThreadStatus,
};
use ix_instance::spec::{InstanceSpec, SPEC_ENV};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

#[derive(Parser)]
struct Args {
    /// Stop the heartbeats once this file exists (and remove it).
    #[arg(long)]
    hang_if: Option<PathBuf>,
    /// Exit with status 101 after this many milliseconds.
    #[arg(long)]
    crash_after_ms: Option<u64>,
    /// Never report ready.
    #[arg(long)]
    never_ready: bool,
    /// Accepted for parity with real applications.
    #[arg(long)]
    port: Option<u16>,
}

struct State {
    spec: InstanceSpec,
    heartbeat: AtomicU64,
    started: Instant,
    never_ready: bool,
    stopping: AtomicBool,
}

fn frame(i: usize) -> String {
    // Ethernet (IPv4) + IPv4 + UDP 10.77.0.1:9 -> 10.77.0.2:9 with 4 bytes of payload.
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let ip = [
        0x45, 0, 0, 32, 0, i as u8, 0, 0, 64, 17, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2,
    ];
    let sum = ip
        .chunks(2)
        .fold(0u32, |s, c| s + u32::from(u16::from_be_bytes([c[0], c[1]])));
    let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
    f.extend_from_slice(&ip);
    f[24..26].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&[0, 9, 0, 9, 0, 12, 0, 0, b'f', b'a', b'k', b'e']);
    f.iter().map(|b| format!("{b:02x}")).collect()
}

fn answer(st: &State, req: AgentRequest) -> AgentResponse {
    match req {
        AgentRequest::Status => AgentResponse::Status {
            ready: !st.never_ready && st.started.elapsed() > Duration::from_millis(100),
            pid: std::process::id(),
            threads: st
                .spec
                .cores
                .iter()
                .enumerate()
                .map(|(i, &core)| ThreadStatus {
                    thread: i,
                    core,
                    heartbeat: st.heartbeat.load(Ordering::Relaxed),
                    failed: false,
                })
                .collect(),
        },
        AgentRequest::Stats => AgentResponse::Stats {
            threads: st
                .spec
                .cores
                .iter()
                .map(|_| {
                    vec![
                        (
                            "iterations".to_owned(),
                            st.heartbeat.load(Ordering::Relaxed),
                        ),
                        ("rx_packets".to_owned(), 0),
                    ]
                })
                .collect(),
        },
        AgentRequest::Conns => AgentResponse::Conns {
            conns: vec![ConnInfo {
                thread: 0,
                local: format!("{}:7", st.spec.addr),
                remote: "10.77.0.1:40000".into(),
                state: "ESTABLISHED".into(),
            }],
        },
        AgentRequest::Capture { count, .. } => {
            let ts = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            AgentResponse::Capture {
                frames: (0..count)
                    .map(|i| CapturedFrame {
                        ts_ns: ts + i as u64 * 1000,
                        thread: 0,
                        dir: "rx".into(),
                        orig_len: 46,
                        data_hex: frame(i),
                    })
                    .collect(),
            }
        }
        AgentRequest::Stop { .. } => {
            st.stopping.store(true, Ordering::Relaxed);
            AgentResponse::Stopping
        }
    }
}

fn serve(st: &State, s: UnixStream) {
    let Ok(mut out) = s.try_clone() else { return };
    for line in BufReader::new(s).lines() {
        let Ok(line) = line else { return };
        let resp = match serde_json::from_str::<AgentRequest>(&line) {
            Ok(r) => answer(st, r),
            Err(e) => AgentResponse::Error {
                message: e.to_string(),
            },
        };
        let Ok(text) = serde_json::to_string(&resp) else {
            return;
        };
        if out.write_all(format!("{text}\n").as_bytes()).is_err() {
            return;
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let path = std::env::var(SPEC_ENV).with_context(|| format!("{SPEC_ENV} not set"))?;
    let spec: InstanceSpec = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let runtime_dir = PathBuf::from("/var/run/dpdk").join(&spec.file_prefix);
    std::fs::create_dir_all(&runtime_dir)?;
    std::fs::write(runtime_dir.join("config"), b"fake")?;
    let _ = std::fs::remove_file(&spec.agent_socket);
    let listener = UnixListener::bind(&spec.agent_socket).context("binding the agent socket")?;
    eprintln!("fake instance {} pid {} up", spec.name, std::process::id());
    let st = Arc::new(State {
        spec,
        heartbeat: AtomicU64::new(0),
        started: Instant::now(),
        never_ready: args.never_ready,
        stopping: AtomicBool::new(false),
    });
    {
        let st = Arc::clone(&st);
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                let st = Arc::clone(&st);
                std::thread::spawn(move || serve(&st, s));
            }
        });
    }
    let mut hung = false;
    loop {
        if st.stopping.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
            let _ = std::fs::remove_dir_all(&runtime_dir);
            let _ = std::fs::remove_file(&st.spec.agent_socket);
            eprintln!("fake instance stopped");
            return Ok(());
        }
        if let Some(ms) = args.crash_after_ms {
            if st.started.elapsed() > Duration::from_millis(ms) {
                eprintln!("fake instance crashing as told");
                std::process::exit(101);
            }
        }
        if let Some(f) = &args.hang_if {
            if !hung && f.exists() {
                let _ = std::fs::remove_file(f);
                eprintln!("fake instance hanging as told");
                hung = true;
            }
        }
        if !hung {
            st.heartbeat.fetch_add(1, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
