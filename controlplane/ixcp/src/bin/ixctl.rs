//! ixctl: the control plane's command-line client. Exit codes: 0 success,
//! 1 the operation failed, 2 bad usage or an invalid config, 3 ixcp is not
//! running, 4 no such instance.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use ix_config::{Environment, SearchPath};
use ixcp::proto::{call, ErrorKind, Request, Response};
use ixcp::rundir::{RunDir, DEFAULT_RUN_DIR};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "control ix dataplane instances through ixcp")]
struct Cli {
    /// ixcp's run directory.
    #[arg(long, global = true, env = "IX_RUN_DIR", default_value = DEFAULT_RUN_DIR)]
    run_dir: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start ixcp if needed, then every instance of CONFIG; print how to reach them.
    Start { config: PathBuf },
    /// Validate config files without starting anything.
    Check {
        #[arg(required = true)]
        configs: Vec<PathBuf>,
    },
    /// Every instance's state, restarts and last restart reason.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Per-thread counters, live.
    Stats {
        instance: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Open connections and their TCP state.
    Conns {
        instance: String,
        #[arg(long)]
        json: bool,
    },
    /// Capture frames an instance sees into a pcapng file.
    Capture {
        instance: String,
        #[arg(short = 'w')]
        file: PathBuf,
        #[arg(long, default_value_t = 100)]
        count: usize,
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
    },
    /// Stop one instance, or every instance and ixcp.
    Stop { instance: Option<String> },
}

/// A failure with its exit code.
struct Fail(u8, String);

fn fail(code: u8, msg: impl Into<String>) -> Fail {
    Fail(code, msg.into())
}

impl From<anyhow::Error> for Fail {
    fn from(e: anyhow::Error) -> Fail {
        Fail(1, format!("{e:#}"))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let run = RunDir::new(&cli.run_dir);
    match dispatch(&run, cli.cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) => {
            eprintln!("ixctl: {msg}");
            ExitCode::from(code)
        }
    }
}

fn request(run: &RunDir, req: &Request, timeout: Duration) -> Result<Response, Fail> {
    if !run.socket().exists() {
        return Err(fail(
            3,
            format!("ixcp is not running (no {})", run.socket().display()),
        ));
    }
    let resp = call(&run.socket(), req, timeout)
        .map_err(|e| fail(3, format!("ixcp is not answering: {e}")))?;
    match resp {
        Response::Error { error, message } => Err(fail(
            match error {
                ErrorKind::InvalidConfig => 2,
                ErrorKind::NoSuchInstance => 4,
                ErrorKind::Failed => 1,
            },
            message,
        )),
        r => Ok(r),
    }
}

fn print_json(v: &impl serde::Serialize) -> Result<(), Fail> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| fail(1, e.to_string()))?
    );
    Ok(())
}

const QUICK: Duration = Duration::from_secs(10);
/// How long a freshly started ixcp may take to answer.
const DAEMON_START: Duration = Duration::from_secs(30);

fn dispatch(run: &RunDir, cmd: Cmd) -> Result<(), Fail> {
    match cmd {
        Cmd::Check { configs } => {
            let env = Environment::of_host();
            let mut bad = 0;
            for c in &configs {
                match ix_config::load(c, &env) {
                    Ok(l) => println!(
                        "{}: ok ({} instance(s))",
                        c.display(),
                        l.config.instances.len()
                    ),
                    Err(e) => {
                        eprintln!("{e}");
                        bad += 1;
                    }
                }
            }
            if bad > 0 {
                return Err(fail(
                    2,
                    format!("{bad} of {} config(s) refused", configs.len()),
                ));
            }
        }
        Cmd::Start { config } => start(run, &config)?,
        Cmd::Status { json } => {
            let Response::Status { instances } = request(run, &Request::Status, QUICK)? else {
                return Err(fail(1, "unexpected answer"));
            };
            if json {
                return print_json(&instances);
            }
            println!(
                "{:<16} {:<10} {:>8} {:<8} {:>8} {:>10}  last reason",
                "instance", "state", "pid", "cores", "restarts", "restart_ms"
            );
            for s in instances {
                let cores: Vec<String> = s.summary.cores.iter().map(|c| c.to_string()).collect();
                println!(
                    "{:<16} {:<10} {:>8} {:<8} {:>8} {:>10}  {}",
                    s.summary.name,
                    s.state,
                    s.pid.map_or("-".into(), |p| p.to_string()),
                    cores.join(","),
                    s.restarts,
                    s.last_restart_ms.map_or("-".into(), |m| m.to_string()),
                    s.last_reason.unwrap_or_else(|| "-".into())
                );
            }
        }
        Cmd::Stats { instance, json } => {
            let Response::Stats { instances } = request(run, &Request::Stats { instance }, QUICK)?
            else {
                return Err(fail(1, "unexpected answer"));
            };
            if json {
                return print_json(&instances);
            }
            for i in instances {
                for (t, counters) in i.threads.iter().enumerate() {
                    println!("{} thread {t}:", i.name);
                    for (k, v) in counters {
                        println!("  {k:<28} {v}");
                    }
                }
            }
        }
        Cmd::Conns { instance, json } => {
            let Response::Conns { conns } = request(run, &Request::Conns { instance }, QUICK)?
            else {
                return Err(fail(1, "unexpected answer"));
            };
            if json {
                return print_json(&conns);
            }
            println!("{:<6} {:<22} {:<22} state", "thread", "local", "remote");
            for c in conns {
                println!(
                    "{:<6} {:<22} {:<22} {}",
                    c.thread, c.local, c.remote, c.state
                );
            }
        }
        Cmd::Capture {
            instance,
            file,
            count,
            timeout_ms,
        } => {
            let req = Request::Capture {
                instance,
                count,
                timeout_ms,
            };
            let Response::Capture { frames } =
                request(run, &req, Duration::from_millis(timeout_ms) + QUICK)?
            else {
                return Err(fail(1, "unexpected answer"));
            };
            let mut f = std::fs::File::create(&file)
                .map_err(|e| fail(1, format!("{}: {e}", file.display())))?;
            let bad = ixcp::pcapng::write(&mut f, &frames)
                .map_err(|e| fail(1, format!("{}: {e}", file.display())))?;
            println!(
                "{}: {} frame(s) written{}",
                file.display(),
                frames.len() - bad,
                if bad > 0 {
                    format!(", {bad} malformed skipped")
                } else {
                    String::new()
                }
            );
        }
        Cmd::Stop { instance } => {
            if !run.socket().exists() {
                println!("ixcp is not running; nothing to stop");
                return Ok(());
            }
            let all = instance.is_none();
            let pid = std::fs::read_to_string(run.pid_file()).ok();
            let Response::Stopped { instances, .. } =
                request(run, &Request::Stop { instance }, Duration::from_secs(120))?
            else {
                return Err(fail(1, "unexpected answer"));
            };
            for i in &instances {
                println!("stopped {i}");
            }
            if all {
                wait_daemon_gone(run, pid.as_deref())?;
                println!("ixcp stopped");
            }
        }
    }
    Ok(())
}

fn wait_daemon_gone(run: &RunDir, pid: Option<&str>) -> Result<(), Fail> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let proc_dir = pid.map(|p| Path::new("/proc").join(p.trim()));
    while run.socket().exists() || proc_dir.as_ref().is_some_and(|p| p.exists()) {
        if Instant::now() > deadline {
            return Err(fail(1, "ixcp did not exit within 15 s"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Starts ixcp (from ixctl's directory, or `$IXCP`) unless one answers.
fn ensure_daemon(run: &RunDir) -> Result<(), Fail> {
    if run.socket().exists() && call::<_, Response>(&run.socket(), &Request::Ping, QUICK).is_ok() {
        return Ok(());
    }
    let exe = std::env::var_os("IXCP")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|e| e.parent().map(|d| d.join("ixcp")))
                .unwrap_or_else(|| PathBuf::from("ixcp"))
        });
    let mut child = Command::new(&exe)
        .arg("--run-dir")
        .arg(run.root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    // A new ixcp may first clean up after a dead one (up to about 7 s: see
    // ixcp::journal), then binds its socket.
    let deadline = Instant::now() + DAEMON_START;
    loop {
        if run.socket().exists()
            && call::<_, Response>(&run.socket(), &Request::Ping, QUICK).is_ok()
        {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(fail(
                1,
                format!(
                    "ixcp exited at start ({status}); see {}",
                    run.log().display()
                ),
            ));
        }
        if Instant::now() > deadline {
            return Err(fail(
                1,
                format!(
                    "ixcp did not answer within {} s; see {}",
                    DAEMON_START.as_secs(),
                    run.log().display()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

use std::os::unix::process::CommandExt;

fn start(run: &RunDir, config: &Path) -> Result<(), Fail> {
    let config =
        std::path::absolute(config).map_err(|e| fail(2, format!("{}: {e}", config.display())))?;
    // Refuse a bad config before anything starts.
    ix_config::load(&config, &Environment::of_host()).map_err(|e| fail(2, e.to_string()))?;
    ensure_daemon(run)?;
    let req = Request::Start {
        config,
        search: SearchPath::from_process().dirs,
    };
    let Response::Started { instances } = request(run, &req, Duration::from_secs(600))? else {
        return Err(fail(1, "unexpected answer"));
    };
    println!(
        "{:<16} {:<6} {:<14} {:<14} {:<16} {:<16} ports",
        "instance", "cores", "nic", "namespace", "host", "address"
    );
    for s in &instances {
        let cores: Vec<String> = s.cores.iter().map(|c| c.to_string()).collect();
        let ports: Vec<String> = s.ports.iter().map(|p| p.to_string()).collect();
        println!(
            "{:<16} {:<6} {:<14} {:<14} {:<16} {:<16} {}",
            s.name,
            cores.join(","),
            s.nic,
            if s.netns.is_empty() { "-" } else { &s.netns },
            s.host_addr.as_deref().unwrap_or("-"),
            s.addr,
            ports.join(",")
        );
    }
    for s in &instances {
        println!("reach {}: {}", s.name, s.reach);
    }
    Ok(())
}
