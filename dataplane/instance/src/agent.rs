//! The instance's agent: what it knows about the instance ([`AgentState`]) and how
//! it answers each request of the protocol in [`crate::agent_proto`]. The socket
//! side is [`crate::agent_socket`]. The agent runs on its own threads, never on an
//! elastic thread; it reaches the elastic threads only through their handles
//! (heartbeat loads, control messages) and the capture ring. Bad input gets an
//! [`AgentResponse::Error`], never a panic.

use crate::agent_proto::{AgentRequest, AgentResponse, ConnInfo, ThreadStatus};
use crate::capture::CaptureRing;
use ix_runtime::{ElasticHandle, Snapshot};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Longest capture wait honoured.
pub const MAX_CAPTURE_WAIT: Duration = Duration::from_secs(60);

/// How long a thread may take to answer a stats or connections request.
const THREAD_ANSWER: Duration = Duration::from_secs(2);

/// What the agent knows about the instance; shared with the launcher.
#[derive(Debug)]
pub struct AgentState {
    cores: Vec<usize>,
    link_up: AtomicBool,
    stopping: AtomicBool,
    stop_request: Mutex<Option<Duration>>,
    threads: Mutex<Vec<ElasticHandle>>,
    ring: Arc<CaptureRing>,
}

/// Locks `m`, carrying on past a poisoned lock (its data is still consistent here:
/// every critical section is a plain read or replace).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A snapshot's `name value` lines as pairs.
pub fn snapshot_pairs(s: &Snapshot) -> Vec<(String, u64)> {
    s.to_string()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

impl AgentState {
    /// The state of an instance whose elastic threads run on `cores`, capturing
    /// into `ring`; nothing is up yet.
    pub fn new(cores: Vec<usize>, ring: Arc<CaptureRing>) -> Self {
        AgentState {
            cores,
            link_up: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            stop_request: Mutex::new(None),
            threads: Mutex::new(Vec::new()),
            ring,
        }
    }

    /// Records that the port's link came up.
    pub fn set_link_up(&self, up: bool) {
        self.link_up.store(up, Ordering::Relaxed);
    }

    /// Hands the running elastic threads to the agent.
    pub fn set_threads(&self, handles: Vec<ElasticHandle>) {
        *lock(&self.threads) = handles;
    }

    /// Takes the elastic threads back (to stop them); the instance is stopping.
    pub fn take_threads(&self) -> Vec<ElasticHandle> {
        self.stopping.store(true, Ordering::Relaxed);
        std::mem::take(&mut *lock(&self.threads))
    }

    /// Marks the instance as stopping (it is no longer ready).
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Asks the launcher to stop, letting connections close for `grace`.
    pub fn request_stop(&self, grace: Duration) {
        let mut r = lock(&self.stop_request);
        if r.is_none() {
            *r = Some(grace);
        }
    }

    /// The grace period of a requested stop, if one was requested.
    pub fn stop_requested(&self) -> Option<Duration> {
        *lock(&self.stop_request)
    }

    /// Whether every elastic thread has ended (none were started counts as no).
    pub fn all_threads_finished(&self) -> bool {
        let t = lock(&self.threads);
        !t.is_empty() && t.iter().all(ElasticHandle::is_finished)
    }

    /// Connections on every thread still closing with something to deliver: all but
    /// those whose FIN is acknowledged (FIN-WAIT-2: only the peer's side is open)
    /// or gone (`None` if a thread did not answer).
    pub fn unfinished_conns(threads: &[ElasticHandle]) -> Option<usize> {
        threads
            .iter()
            .map(|h| {
                h.request_conns(THREAD_ANSWER).map(|list| {
                    list.iter()
                        .filter(|c| {
                            !matches!(
                                c.state,
                                ix_tcp::State::FinWait2
                                    | ix_tcp::State::TimeWait
                                    | ix_tcp::State::Closed
                            )
                        })
                        .count()
                })
            })
            .sum()
    }

    fn status(&self) -> AgentResponse {
        let stopping = self.stopping.load(Ordering::Relaxed);
        let mut handles = lock(&self.threads);
        let threads: Vec<ThreadStatus> = handles
            .iter_mut()
            .enumerate()
            .map(|(i, h)| {
                let failed =
                    (h.is_finished() && !stopping) || h.latest_stats().is_some_and(|s| s.failed);
                ThreadStatus {
                    thread: i,
                    core: self.cores.get(i).copied().unwrap_or(0),
                    heartbeat: h.heartbeat(),
                    failed,
                }
            })
            .collect();
        let ready = !stopping
            && self.link_up.load(Ordering::Relaxed)
            && threads.len() == self.cores.len()
            && threads.iter().all(|t| t.heartbeat > 0 && !t.failed);
        AgentResponse::Status {
            ready,
            pid: std::process::id(),
            threads,
        }
    }

    fn stats(&self) -> AgentResponse {
        let mut handles = lock(&self.threads);
        let threads = handles
            .iter_mut()
            .enumerate()
            .map(|(i, h)| {
                let fresh = h.request_stats(THREAD_ANSWER);
                match fresh.as_ref().or(h.latest_stats()) {
                    Some(s) => snapshot_pairs(s),
                    None => vec![("thread".to_owned(), i as u64), ("failed".to_owned(), 1)],
                }
            })
            .collect();
        AgentResponse::Stats { threads }
    }

    fn conns(&self) -> AgentResponse {
        let handles = lock(&self.threads);
        let mut conns = Vec::new();
        for (i, h) in handles.iter().enumerate() {
            let Some(list) = h.request_conns(THREAD_ANSWER) else {
                return AgentResponse::Error {
                    message: format!("elastic thread {i} did not answer"),
                };
            };
            conns.extend(list.into_iter().map(|c| ConnInfo {
                thread: i,
                local: c.local.to_string(),
                remote: c.remote.to_string(),
                state: c.state.name().to_owned(),
            }));
        }
        AgentResponse::Conns { conns }
    }

    /// Answers one request line.
    pub fn answer(&self, line: &str, cancel: &AtomicBool) -> AgentResponse {
        let req: AgentRequest = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => {
                return AgentResponse::Error {
                    message: format!("bad request: {e}"),
                }
            }
        };
        match req {
            AgentRequest::Status => self.status(),
            AgentRequest::Stats => self.stats(),
            AgentRequest::Conns => self.conns(),
            AgentRequest::Capture { count, timeout_ms } => {
                let wait = Duration::from_millis(timeout_ms).min(MAX_CAPTURE_WAIT);
                AgentResponse::Capture {
                    frames: self.ring.capture(count, wait, cancel),
                }
            }
            AgentRequest::Stop { grace_ms } => {
                self.request_stop(Duration::from_millis(grace_ms));
                AgentResponse::Stopping
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> AgentState {
        AgentState::new(vec![1], Arc::new(CaptureRing::new(4)))
    }

    #[test]
    fn nonsense_gets_an_error_and_stop_is_recorded() {
        let s = state();
        let no = AtomicBool::new(false);
        for bad in [
            "",
            "{",
            "{\"op\":\"dance\"}",
            "[1,2]",
            "{\"op\":\"capture\"}",
        ] {
            assert!(
                matches!(s.answer(bad, &no), AgentResponse::Error { .. }),
                "{bad:?}"
            );
        }
        assert_eq!(s.stop_requested(), None);
        let r = s.answer(r#"{"op":"stop","grace_ms":250}"#, &no);
        assert_eq!(r, AgentResponse::Stopping);
        assert_eq!(s.stop_requested(), Some(Duration::from_millis(250)));
    }

    #[test]
    fn not_ready_without_link_and_threads() {
        let s = state();
        let no = AtomicBool::new(false);
        match s.answer(r#"{"op":"status"}"#, &no) {
            AgentResponse::Status {
                ready,
                threads,
                pid,
            } => {
                assert!(!ready);
                assert!(threads.is_empty());
                assert_eq!(pid, std::process::id());
            }
            other => panic!("{other:?}"),
        }
    }
}
