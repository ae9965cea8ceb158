//! The agent's Unix stream socket (mode 0600): an accept loop and one thread per
//! connection (at most [`MAX_CLIENTS`]), one JSON request per line, one JSON
//! response line each, answered by [`AgentState::answer`]. Dropping the [`Agent`]
//! stops its threads and removes the socket file.

use crate::agent::AgentState;
use crate::agent_proto::AgentResponse;
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Connections served at once; more are told so and closed.
pub const MAX_CLIENTS: usize = 16;

/// Longest request line accepted.
pub const MAX_LINE: usize = 64 * 1024;

/// How often blocked agent threads look at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// The agent's listening side; dropping it stops its threads and removes the socket.
#[derive(Debug)]
pub struct Agent {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

/// Removes a socket file nobody listens on; refuses anything else.
fn remove_stale(path: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        bail!("{} exists and is not a socket", path.display());
    }
    if UnixStream::connect(path).is_ok() {
        bail!("a live process listens on {}", path.display());
    }
    std::fs::remove_file(path).with_context(|| format!("removing stale {}", path.display()))
}

impl Agent {
    /// Listens on `path` (mode 0600; a stale socket file is replaced) and serves
    /// `state` until dropped.
    pub fn start(path: &Path, state: Arc<AgentState>) -> Result<Agent> {
        if path.as_os_str().is_empty() {
            bail!("the spec names no agent socket");
        }
        remove_stale(path)?;
        let listener =
            UnixListener::bind(path).with_context(|| format!("listening on {}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("chmod 0600 {}", path.display()))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("ix-agent".to_owned())
                .spawn(move || accept_loop(&listener, &state, &stop))?
        };
        Ok(Agent {
            path: path.to_owned(),
            stop,
            accept: Some(accept),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(j) = self.accept.take() {
            let _ = j.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn accept_loop(listener: &UnixListener, state: &Arc<AgentState>, stop: &Arc<AtomicBool>) {
    let active = Arc::new(AtomicUsize::new(0));
    let mut clients: Vec<JoinHandle<()>> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                clients.retain(|c| !c.is_finished());
                if active.load(Ordering::Relaxed) >= MAX_CLIENTS {
                    let _ = reply(
                        &mut stream,
                        &AgentResponse::Error {
                            message: format!("too many agent connections (max {MAX_CLIENTS})"),
                        },
                    );
                    continue;
                }
                active.fetch_add(1, Ordering::Relaxed);
                let (state, stop, active) =
                    (Arc::clone(state), Arc::clone(stop), Arc::clone(&active));
                let spawned = std::thread::Builder::new()
                    .name("ix-agent-conn".to_owned())
                    .spawn(move || {
                        if let Err(e) = serve(stream, &state, &stop) {
                            tracing::debug!("agent connection ended: {e}");
                        }
                        active.fetch_sub(1, Ordering::Relaxed);
                    });
                match spawned {
                    Ok(j) => clients.push(j),
                    Err(e) => tracing::warn!("agent: cannot start a connection thread: {e}"),
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) => {
                tracing::warn!("agent: accept failed: {e}");
                std::thread::sleep(POLL);
            }
        }
    }
    for c in clients {
        let _ = c.join();
    }
}

fn reply(stream: &mut UnixStream, resp: &AgentResponse) -> std::io::Result<()> {
    let mut line = serde_json::to_string(resp).map_err(std::io::Error::other)?;
    line.push('\n');
    stream.write_all(line.as_bytes())
}

/// Serves one connection: a request per line, a response per request.
fn serve(stream: UnixStream, state: &AgentState, stop: &AtomicBool) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(POLL))?;
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    let mut buf = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) if buf.ends_with(b"\n") => {
                let resp = match std::str::from_utf8(&buf) {
                    Ok(line) if line.trim().is_empty() => None,
                    Ok(line) => Some(state.answer(line.trim(), stop)),
                    Err(_) => Some(AgentResponse::Error {
                        message: "a request must be UTF-8 JSON".to_owned(),
                    }),
                };
                buf.clear();
                if let Some(r) = resp {
                    reply(&mut out, &r)?;
                }
            }
            // End of stream without a newline: answer what came, then stop.
            Ok(_) => {
                let resp = match std::str::from_utf8(&buf) {
                    Ok(line) => state.answer(line.trim(), stop),
                    Err(_) => AgentResponse::Error {
                        message: "a request must be UTF-8 JSON".to_owned(),
                    },
                };
                return reply(&mut out, &resp);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if buf.len() > MAX_LINE {
            return reply(
                &mut out,
                &AgentResponse::Error {
                    message: format!("request longer than {MAX_LINE} bytes"),
                },
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureRing;

    fn state() -> AgentState {
        AgentState::new(vec![1], Arc::new(CaptureRing::new(4)))
    }

    #[test]
    fn socket_serves_lines_and_is_private_and_removed() {
        let path = std::env::temp_dir().join(format!("ix-agent-test-{}.sock", std::process::id()));
        let agent = Agent::start(&path, Arc::new(state())).expect("start");
        let mode = std::fs::metadata(&path)
            .expect("socket")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut c = UnixStream::connect(&path).expect("connect");
        c.write_all(b"{\"op\":\"status\"}\nnot json\n")
            .expect("write");
        let mut lines = BufReader::new(c.try_clone().expect("clone")).lines();
        let first: AgentResponse =
            serde_json::from_str(&lines.next().expect("line").expect("read")).expect("json");
        assert!(matches!(first, AgentResponse::Status { ready: false, .. }));
        let second: AgentResponse =
            serde_json::from_str(&lines.next().expect("line").expect("read")).expect("json");
        assert!(matches!(second, AgentResponse::Error { .. }));
        drop(c);
        drop(agent);
        assert!(!path.exists(), "the socket file is removed");
    }
}
