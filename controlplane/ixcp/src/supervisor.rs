//! The instance table and its watch loop: every tick, each instance's process is
//! checked (exited?) and its agent asked for Status (ready? every elastic thread's
//! heartbeat moving? any thread failed?). A dead or hung instance is killed, its
//! leftovers removed, and it is relaunched after a back-off, by its policy.

use crate::agent_client;
use crate::cleanup::remove_leftovers;
use crate::hostside::HostSide;
use crate::journal::{Journal, LaunchedInstance};
use crate::plan::InstancePlan;
use crate::proto::InstanceStatus;
use crate::rundir::RunDir;
use ix_config::RestartPolicy;
use ix_instance::spec::{SPEC_ENV, SUPERVISOR_ENV};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often the watch loop runs (IX's 10 ms timeout needs ticks well below it;
/// the default heartbeat timeout here is 1000 ms).
pub const TICK: Duration = Duration::from_millis(20);
/// How long one agent Status may take.
const AGENT_TIMEOUT: Duration = Duration::from_millis(200);
/// Ready this long and the back-off starts from the beginning again.
const STABLE_AFTER: Duration = Duration::from_secs(10);

/// Where an instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Planned, not launched yet.
    Pending,
    /// Launched, not ready yet.
    Starting(Instant),
    /// Ready since.
    Running(Instant),
    /// Waiting to be relaunched.
    Backoff(Instant),
    /// Gave up (policy, restart limit, or a failed first start).
    Failed,
    /// Exited cleanly and is not restarted.
    Exited,
    /// Being stopped by a request.
    Stopping,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Pending | Phase::Starting(_) => "starting",
            Phase::Running(_) => "running",
            Phase::Backoff(_) => "restarting",
            Phase::Failed => "failed",
            Phase::Exited => "exited",
            Phase::Stopping => "stopping",
        }
    }
}

/// One instance under supervision.
#[derive(Debug)]
pub struct Managed {
    /// Its plan.
    pub plan: InstancePlan,
    /// Its process.
    pub child: Option<Child>,
    /// Its phase.
    pub phase: Phase,
    /// Restarts so far.
    pub restarts: u32,
    consecutive: u32,
    /// Why it was last restarted or failed.
    pub last_reason: Option<String>,
    failure_at: Option<Instant>,
    last_restart_ms: Option<u64>,
    heartbeats: Vec<u64>,
    moved_at: Vec<Instant>,
    /// Launched by a `start` that is still waiting: a failure is reported to it,
    /// not restarted.
    pub first_start: bool,
}

impl Managed {
    /// A pending instance for `plan`.
    pub fn new(plan: InstancePlan) -> Managed {
        Managed {
            plan,
            child: None,
            phase: Phase::Pending,
            restarts: 0,
            consecutive: 0,
            last_reason: None,
            failure_at: None,
            last_restart_ms: None,
            heartbeats: Vec::new(),
            moved_at: Vec::new(),
            first_start: true,
        }
    }

    /// Writes the spec and starts the process (stdout and stderr to its log).
    pub fn launch(&mut self, run: &RunDir) {
        if let Err(e) = self.try_launch(run) {
            tracing::error!(instance = %self.plan.spec.name, "launch failed: {e}");
            self.fail(run, format!("launch failed: {e}"), None);
        }
    }

    fn try_launch(&mut self, run: &RunDir) -> std::io::Result<()> {
        let dir = run.instance_dir(&self.plan.spec.name);
        std::fs::create_dir_all(&dir)?;
        remove_leftovers(&self.plan.spec.file_prefix, &self.plan.spec.agent_socket);
        let spec_file = dir.join("spec.json");
        let json = serde_json::to_string_pretty(&self.plan.spec).map_err(std::io::Error::other)?;
        std::fs::write(&spec_file, json)?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("log"))?;
        let child = Command::new(&self.plan.app)
            .args(&self.plan.args)
            .env(SPEC_ENV, &spec_file)
            .env(SUPERVISOR_ENV, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        tracing::info!(instance = %self.plan.spec.name, pid = child.id(), app = %self.plan.app.display(), "launched");
        self.child = Some(child);
        self.phase = Phase::Starting(Instant::now());
        self.heartbeats.clear();
        self.moved_at.clear();
        Ok(())
    }

    /// Kills the process (if any), removes its leftovers, and decides what comes
    /// next by policy. `exit` is how it ended, if it ended by itself.
    pub fn fail(&mut self, run: &RunDir, reason: String, exit: Option<ExitStatus>) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let removed = remove_leftovers(&self.plan.spec.file_prefix, &self.plan.spec.agent_socket);
        let name = &self.plan.spec.name;
        tracing::warn!(instance = %name, removed = removed.len(), "{reason}");
        self.last_reason = Some(reason.clone());
        let clean = exit.is_some_and(|s| s.success());
        let rules = self.plan.rules;
        let _ = run;
        self.phase = if self.first_start {
            Phase::Failed
        } else if rules.policy == RestartPolicy::Never
            || (clean && rules.policy == RestartPolicy::OnFailure)
        {
            if clean {
                Phase::Exited
            } else {
                Phase::Failed
            }
        } else if self.restarts >= rules.max_restarts {
            self.last_reason = Some(format!(
                "gave up after {} restarts; last: {reason}",
                self.restarts
            ));
            Phase::Failed
        } else {
            self.restarts += 1;
            self.consecutive += 1;
            let delay = rules.delay(self.consecutive);
            tracing::info!(instance = %name, restart = self.restarts, delay_ms = delay.as_millis() as u64, "restarting");
            self.failure_at.get_or_insert_with(Instant::now);
            Phase::Backoff(Instant::now() + delay)
        };
    }

    /// Applies one Status answer (or its absence) at `now`.
    fn observe(&mut self, run: &RunDir, answer: Option<agent_client::Liveness>, now: Instant) {
        let rules = self.plan.rules;
        if let Some(l) = &answer {
            if let Some(t) = l.threads.iter().find(|t| t.failed) {
                return self.fail(
                    run,
                    format!("elastic thread {} (core {}) failed", t.thread, t.core),
                    None,
                );
            }
            if l.threads.len() != self.heartbeats.len() {
                self.heartbeats = l.threads.iter().map(|t| t.heartbeat).collect();
                self.moved_at = vec![now; l.threads.len()];
            }
            for (i, t) in l.threads.iter().enumerate() {
                if t.heartbeat != self.heartbeats[i] {
                    self.heartbeats[i] = t.heartbeat;
                    self.moved_at[i] = now;
                }
            }
        }
        match self.phase {
            Phase::Starting(since) => {
                if answer.as_ref().is_some_and(|l| l.ready) {
                    self.phase = Phase::Running(now);
                    self.moved_at = vec![now; self.heartbeats.len()];
                    if let Some(t) = self.failure_at.take() {
                        let ms = now.duration_since(t).as_millis() as u64;
                        self.last_restart_ms = Some(ms);
                        tracing::info!(instance = %self.plan.spec.name, restart_ms = ms, "ready again");
                    } else {
                        tracing::info!(instance = %self.plan.spec.name, "ready");
                    }
                } else if now.duration_since(since) > rules.ready_timeout {
                    self.fail(
                        run,
                        format!(
                            "not ready {} ms after launch",
                            rules.ready_timeout.as_millis()
                        ),
                        None,
                    );
                }
            }
            Phase::Running(ready_at) => {
                if now.duration_since(ready_at) > STABLE_AFTER {
                    self.consecutive = 0;
                }
                let last_seen = if answer.is_none() && self.moved_at.is_empty() {
                    Some((usize::MAX, ready_at))
                } else {
                    self.moved_at
                        .iter()
                        .copied()
                        .enumerate()
                        .min_by_key(|(_, t)| *t)
                };
                if let Some((i, t)) = last_seen {
                    let stalled = now.duration_since(t);
                    if stalled > rules.heartbeat_timeout {
                        let what = if i == usize::MAX {
                            "the agent".to_owned()
                        } else {
                            format!("elastic thread {i}")
                        };
                        self.fail(
                            run,
                            format!(
                                "hung: {what} made no progress for {} ms (timeout {} ms)",
                                stalled.as_millis(),
                                rules.heartbeat_timeout.as_millis()
                            ),
                            None,
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// The status line for this instance.
    pub fn status(&self, now: Instant) -> InstanceStatus {
        InstanceStatus {
            summary: self.plan.summary.clone(),
            state: self.phase.name().to_owned(),
            pid: self.child.as_ref().map(Child::id),
            restarts: self.restarts,
            last_reason: self.last_reason.clone(),
            last_restart_ms: self.last_restart_ms,
            uptime_ms: match self.phase {
                Phase::Running(t) => Some(now.duration_since(t).as_millis() as u64),
                _ => None,
            },
            heartbeats: self.heartbeats.clone(),
        }
    }
}

/// The table ixcp supervises.
#[derive(Debug, Default)]
pub struct Table {
    /// Instances by name.
    pub instances: BTreeMap<String, Managed>,
    /// Host-side resources.
    pub host: HostSide,
    /// ixcp is exiting and removing its files: the watch loop writes no state.
    pub exiting: bool,
    /// The journal as last written (it is rewritten only when it changes).
    journal_written: Option<Journal>,
}

impl Table {
    /// What a successor would have to clean up if this ixcp died now.
    pub fn journal(&self) -> Journal {
        Journal {
            ixcp_pid: std::process::id(),
            instances: self
                .instances
                .values()
                .map(|m| LaunchedInstance {
                    name: m.plan.spec.name.clone(),
                    pid: m.child.as_ref().map(Child::id),
                    file_prefix: m.plan.spec.file_prefix.clone(),
                    agent_socket: m.plan.spec.agent_socket.clone(),
                })
                .collect(),
            created: self.host.created(),
        }
    }
}

/// The shared table, its change signal and the run directory.
#[derive(Debug)]
pub struct Supervisor {
    /// The run directory.
    pub run: RunDir,
    table: Mutex<Table>,
    /// Signalled after every tick that changed something.
    pub changed: Condvar,
}

impl Supervisor {
    /// An empty supervisor for `run`.
    pub fn new(run: RunDir) -> Supervisor {
        Supervisor {
            run,
            table: Mutex::new(Table::default()),
            changed: Condvar::new(),
        }
    }

    /// Locks the table (a poisoned lock is taken over: the table stays usable).
    pub fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One pass of the watch loop.
    pub fn tick(&self) {
        let now = Instant::now();
        let mut probes = Vec::new();
        {
            let mut t = self.lock();
            for m in t.instances.values_mut() {
                if matches!(m.phase, Phase::Starting(_) | Phase::Running(_)) {
                    let exited = m.child.as_mut().map(|c| c.try_wait());
                    match exited {
                        Some(Ok(Some(status))) => {
                            m.fail(&self.run, format!("process exited: {status}"), Some(status))
                        }
                        Some(Err(e)) => {
                            m.fail(&self.run, format!("cannot watch the process: {e}"), None)
                        }
                        None => m.fail(&self.run, "no process".into(), None),
                        Some(Ok(None)) => probes
                            .push((m.plan.spec.name.clone(), m.plan.spec.agent_socket.clone())),
                    }
                } else if let Phase::Backoff(until) = m.phase {
                    if now >= until {
                        m.launch(&self.run);
                    }
                }
            }
        }
        let answers: Vec<_> = probes
            .into_iter()
            .map(|(name, sock)| (name, agent_client::status(&sock, AGENT_TIMEOUT).ok()))
            .collect();
        let now = Instant::now();
        let mut t = self.lock();
        for (name, answer) in answers {
            if let Some(m) = t.instances.get_mut(&name) {
                if matches!(m.phase, Phase::Starting(_) | Phase::Running(_)) {
                    m.observe(&self.run, answer, now);
                }
            }
        }
        let statuses: Vec<_> = t.instances.values().map(|m| m.status(now)).collect();
        // Written under the lock, so that none lands after ixcp removed it.
        if !t.exiting {
            if let Ok(json) = serde_json::to_string_pretty(&statuses) {
                let _ = std::fs::write(self.run.state(), json);
            }
            let journal = t.journal();
            if t.journal_written.as_ref() != Some(&journal) && journal.write(&self.run).is_ok() {
                t.journal_written = Some(journal);
            }
        }
        drop(t);
        self.changed.notify_all();
    }

    /// Waits for the next tick (or `timeout`), returning the table locked.
    pub fn wait_change<'a>(
        &'a self,
        guard: MutexGuard<'a, Table>,
        timeout: Duration,
    ) -> MutexGuard<'a, Table> {
        self.changed
            .wait_timeout(guard, timeout)
            .map(|(g, _)| g)
            .unwrap_or_else(|p| p.into_inner().0)
    }
}
