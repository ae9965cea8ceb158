//! What ixcp does for each request: start a config (validate, allocate the host
//! side, launch, wait until ready), stop instances, and answer queries by asking
//! the instances' agents.

use crate::agent_client::ask;
use crate::plan::plan;
use crate::proto::{ErrorKind, InstanceStats, Request, Response};
use crate::supervisor::{Managed, Phase, Supervisor};
use ix_config::{Environment, SearchPath};
use ix_instance::agent_proto::{AgentRequest, AgentResponse};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long an instance gets to stop after the agent's Stop before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
    Response::Error {
        error: kind,
        message: message.into(),
    }
}

/// The last `n` lines of an instance's log, for error messages.
fn log_tail(sup: &Supervisor, name: &str, n: usize) -> String {
    let path = sup.run.instance_dir(name).join("log");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(n)..].join("\n    ");
    format!("{} (last lines of {}):\n    {tail}", name, path.display())
}

/// Serves one request. `Stop { instance: None }` also tells the caller (by
/// [`Response::Stopped::daemon_exiting`]) to shut ixcp down.
pub fn handle(sup: &Supervisor, req: Request) -> Response {
    match req {
        Request::Ping => Response::Pong {
            pid: std::process::id(),
        },
        Request::Start { config, search } => start(sup, &config, search),
        Request::Status => {
            let now = Instant::now();
            let t = sup.lock();
            Response::Status {
                instances: t.instances.values().map(|m| m.status(now)).collect(),
            }
        }
        Request::Stats { instance } => stats(sup, instance),
        Request::Conns { instance } => {
            match query(sup, &instance, &AgentRequest::Conns, Duration::from_secs(5)) {
                Ok(AgentResponse::Conns { conns }) => Response::Conns { conns },
                Ok(other) => error(ErrorKind::Failed, format!("unexpected answer {other:?}")),
                Err(e) => e,
            }
        }
        Request::Capture {
            instance,
            count,
            timeout_ms,
        } => {
            let wait = Duration::from_millis(timeout_ms) + Duration::from_secs(5);
            match query(
                sup,
                &instance,
                &AgentRequest::Capture { count, timeout_ms },
                wait,
            ) {
                Ok(AgentResponse::Capture { frames }) => Response::Capture { frames },
                Ok(other) => error(ErrorKind::Failed, format!("unexpected answer {other:?}")),
                Err(e) => e,
            }
        }
        Request::Stop {
            instance: Some(name),
        } => {
            if !sup.lock().instances.contains_key(&name) {
                return error(
                    ErrorKind::NoSuchInstance,
                    format!("no instance named {name:?}"),
                );
            }
            stop(sup, std::slice::from_ref(&name));
            Response::Stopped {
                instances: vec![name],
                daemon_exiting: false,
            }
        }
        Request::Stop { instance: None } => {
            let names = stop_all(sup);
            Response::Stopped {
                instances: names,
                daemon_exiting: true,
            }
        }
    }
}

/// Asks one running instance's agent; errors become responses.
fn query(
    sup: &Supervisor,
    name: &str,
    req: &AgentRequest,
    timeout: Duration,
) -> Result<AgentResponse, Response> {
    let socket = {
        let t = sup.lock();
        let m = t.instances.get(name).ok_or_else(|| {
            error(
                ErrorKind::NoSuchInstance,
                format!("no instance named {name:?}"),
            )
        })?;
        if !matches!(m.phase, Phase::Running(_)) {
            return Err(error(
                ErrorKind::Failed,
                format!("instance {name:?} is not running"),
            ));
        }
        m.plan.spec.agent_socket.clone()
    };
    ask(&socket, req, timeout)
        .map_err(|e| error(ErrorKind::Failed, format!("instance {name:?}: {e}")))
}

fn stats(sup: &Supervisor, instance: Option<String>) -> Response {
    let names: Vec<String> = match instance {
        Some(n) => vec![n],
        None => sup
            .lock()
            .instances
            .iter()
            .filter(|(_, m)| matches!(m.phase, Phase::Running(_)))
            .map(|(n, _)| n.clone())
            .collect(),
    };
    let mut out = Vec::new();
    for name in names {
        match query(sup, &name, &AgentRequest::Stats, Duration::from_secs(5)) {
            Ok(AgentResponse::Stats { threads }) => out.push(InstanceStats { name, threads }),
            Ok(other) => return error(ErrorKind::Failed, format!("unexpected answer {other:?}")),
            Err(e) => return e,
        }
    }
    Response::Stats { instances: out }
}

fn start(sup: &Supervisor, config: &Path, search: Vec<PathBuf>) -> Response {
    let mut env = Environment::of_host();
    let mut dirs = search;
    dirs.extend(SearchPath::from_process().dirs);
    env.search = SearchPath { dirs };
    let names: Vec<String>;
    {
        let mut t = sup.lock();
        for m in t.instances.values() {
            env.running_names.push(m.plan.spec.name.clone());
            env.running_cores.extend(&m.plan.spec.cores);
            env.running_addrs
                .push((m.plan.spec.addr, m.plan.ports.clone()));
        }
        let loaded = match ix_config::load(config, &env) {
            Ok(l) => l,
            Err(e) => return error(ErrorKind::InvalidConfig, e.to_string()),
        };
        let plan = match plan(&loaded, &sup.run) {
            Ok(p) => p,
            Err(e) => return error(ErrorKind::InvalidConfig, e.to_string()),
        };
        names = plan.instances.iter().map(|p| p.spec.name.clone()).collect();
        if let Err(e) = t.host.acquire(&plan.host, &names) {
            return error(ErrorKind::Failed, format!("setting up the host side: {e}"));
        }
        for p in plan.instances {
            t.instances.insert(p.spec.name.clone(), Managed::new(p));
        }
    }
    tracing::info!(config = %config.display(), instances = ?names, "starting");
    if let Err(message) = launch_and_wait(sup, &names) {
        stop(sup, &names);
        return error(ErrorKind::Failed, message);
    }
    let mut t = sup.lock();
    let mut summaries = Vec::new();
    for n in &names {
        if let Some(m) = t.instances.get_mut(n) {
            m.first_start = false;
            summaries.push(m.plan.summary.clone());
        }
    }
    Response::Started {
        instances: summaries,
    }
}

/// Launches `names` in order (waiting for each vhost socket before the next) and
/// waits until all are ready; the error names the instance and its log's tail.
fn launch_and_wait(sup: &Supervisor, names: &[String]) -> Result<(), String> {
    for name in names {
        let (socket, timeout) = {
            let mut t = sup.lock();
            let m = t.instances.get_mut(name).ok_or("instance vanished")?;
            m.launch(&sup.run);
            (m.plan.creates_socket.clone(), m.plan.rules.ready_timeout)
        };
        if let Some(sock) = socket {
            let deadline = Instant::now() + timeout;
            while !sock.exists() {
                if Instant::now() > deadline {
                    return Err(format!("{name}: socket {} not created", sock.display()));
                }
                let t = sup.lock();
                let failed = t
                    .instances
                    .get(name)
                    .is_some_and(|m| m.phase == Phase::Failed);
                drop(t);
                if failed {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    let mut t = sup.lock();
    loop {
        let mut all_ready = true;
        for n in names {
            let m = t.instances.get(n).ok_or("instance vanished")?;
            match m.phase {
                Phase::Running(_) => {}
                Phase::Failed | Phase::Exited => {
                    let why = m.last_reason.clone().unwrap_or_default();
                    drop(t);
                    return Err(format!(
                        "instance {n} failed to start: {why}\n  {}",
                        log_tail(sup, n, 15)
                    ));
                }
                _ => all_ready = false,
            }
        }
        if all_ready {
            return Ok(());
        }
        t = sup.wait_change(t, Duration::from_millis(100));
    }
}

/// Stops `names` gracefully (agent Stop, then kill after a grace period), removes
/// their leftovers and files, and releases the host side they used.
pub fn stop(sup: &Supervisor, names: &[String]) {
    let mut stopping = Vec::new();
    {
        let mut t = sup.lock();
        for n in names {
            if let Some(m) = t.instances.get_mut(n) {
                m.phase = Phase::Stopping;
                stopping.push((
                    n.clone(),
                    m.child.take(),
                    m.plan.spec.agent_socket.clone(),
                    m.plan.spec.file_prefix.clone(),
                ));
            }
        }
    }
    for (_, child, socket, _) in &stopping {
        if child.is_some() {
            let grace_ms = STOP_GRACE.as_millis() as u64 - 500;
            let _ = ask(
                socket,
                &AgentRequest::Stop { grace_ms },
                Duration::from_millis(500),
            );
        }
    }
    let deadline = Instant::now() + STOP_GRACE;
    for (name, child, socket, prefix) in &mut stopping {
        if let Some(c) = child {
            let mut done = false;
            while Instant::now() < deadline {
                if matches!(c.try_wait(), Ok(Some(_))) {
                    done = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            if !done {
                tracing::warn!(instance = %name, "did not stop within {} ms; killing", STOP_GRACE.as_millis());
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        crate::cleanup::remove_leftovers(prefix, socket);
        let _ = std::fs::remove_dir_all(sup.run.instance_dir(name));
        tracing::info!(instance = %name, "stopped");
    }
    let mut t = sup.lock();
    for n in names {
        t.instances.remove(n);
        t.host.release(n);
    }
}

/// Stops every instance and removes every host-side resource; returns the names.
pub fn stop_all(sup: &Supervisor) -> Vec<String> {
    let names: Vec<String> = sup.lock().instances.keys().cloned().collect();
    stop(sup, &names);
    sup.lock().host.release_all();
    let _ = std::fs::remove_dir(sup.run.root().join("instances"));
    names
}
