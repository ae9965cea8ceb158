//! The agent protocol: a master drives agents (other ix-mutilate processes, `-A`) over
//! TCP so that several machines add load while the master measures latency on its own
//! connections. One JSON object per line, in this order (one session per run):
//!
//! 1. master → agent `{"msg":"config", ...}`: servers, protocol, workload, -c, -d, -i,
//!    -t, -w, seed ([`AgentConfig`]).
//! 2. agent → master `{"msg":"weight","connections":N,"lambda_mul":M}`: N = its
//!    threads × connections × servers (with `-R`: connections × max(threads,
//!    servers)), M its `--lambda_mul`.
//! 3. master → agent `{"msg":"lambda","qps":Q,"lambda_denom":D}`: D = Σ N × M over
//!    every participant sharing Q; each connection then sends Q / D × M per second.
//! 4. agent → master `{"msg":"ready"}` once all its connections are open.
//! 5. master → agent `{"msg":"go"}` once every agent is ready; all start at once.
//! 6. agent → master `{"msg":"stats","counts":{...},"seconds":S}` after the run.
//!
//! Either side may send `{"msg":"error","message":...}` instead and close.

use crate::error::{LoadgenError, Result};
use crate::stats::Counts;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// What a master tells an agent about the run (distributions in mutilate syntax).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentConfig {
    /// Servers as resolved `ip:port`.
    pub servers: Vec<String>,
    /// Binary protocol.
    pub binary: bool,
    /// `-K`.
    pub keysize: String,
    /// `-V`.
    pub valuesize: String,
    /// Records per server.
    pub records: u64,
    /// `-u`.
    pub update: f64,
    /// `-c`: connections per server per thread.
    pub connections: usize,
    /// `-d`.
    pub depth: usize,
    /// `-i`.
    pub iadist: String,
    /// `-t` seconds.
    pub time_s: f64,
    /// `-w` seconds.
    pub warmup_s: f64,
    /// Seed; each agent mixes in the address its master reached it at, so agents
    /// differ (see `agent_mode::agent_seed`).
    pub seed: u64,
    /// `-R` (absent from older masters: off, as are the three below).
    #[serde(default)]
    pub roundrobin: bool,
    /// `-S`.
    #[serde(default)]
    pub skip: bool,
    /// `--moderate`.
    #[serde(default)]
    pub moderate: bool,
    /// `--no_nodelay`.
    #[serde(default)]
    pub no_nodelay: bool,
}

/// One message of the agent protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum Message {
    /// Master → agent: the run.
    Config(AgentConfig),
    /// Agent → master: how many connections it will open, and its rate multiplier.
    Weight {
        /// Connections it opens: threads × connections × servers (`-R`: see `assign`).
        connections: u64,
        /// `--lambda_mul`.
        lambda_mul: u64,
    },
    /// Master → agent: the rate shared among weighted connections.
    Lambda {
        /// Requests per second shared (0: as fast as possible).
        qps: f64,
        /// Sum of connections × lambda_mul of everyone sharing it.
        lambda_denom: f64,
    },
    /// Agent → master: connected, waiting.
    Ready,
    /// Master → agent: start now.
    Go,
    /// Agent → master: what it did.
    Stats {
        /// Its counts.
        counts: Counts,
        /// Its measured seconds.
        seconds: f64,
    },
    /// Either way: something failed; the session ends.
    Error {
        /// What failed.
        message: String,
    },
}

/// A message channel over one TCP connection.
pub struct Channel {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    peer: String,
    local: Option<std::net::SocketAddr>,
}

impl Channel {
    /// Wraps `stream`; `timeout` bounds every read (None: wait forever).
    pub fn new(stream: TcpStream, timeout: Option<Duration>) -> Result<Self> {
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".into());
        let io = |e| LoadgenError::io(format!("agent connection {peer}"), e);
        stream.set_read_timeout(timeout).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let writer = stream.try_clone().map_err(io)?;
        let local = stream.local_addr().ok();
        Ok(Channel {
            reader: BufReader::new(stream),
            writer,
            peer,
            local,
        })
    }

    /// The other side's address.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// This side's address of the connection (an agent's: the address its master
    /// reached it at), if the socket could tell.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.local
    }

    /// Sends one message.
    pub fn send(&mut self, m: &Message) -> Result<()> {
        let mut line = serde_json::to_string(m).map_err(|e| LoadgenError::Agent(e.to_string()))?;
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| LoadgenError::io(format!("send to {}", self.peer), e))
    }

    /// Receives one message; an `Error` message becomes an error.
    pub fn recv(&mut self) -> Result<Message> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|e| LoadgenError::io(format!("receive from {}", self.peer), e))?;
        if n == 0 {
            return Err(LoadgenError::Agent(format!(
                "{} closed the connection",
                self.peer
            )));
        }
        match serde_json::from_str(line.trim_end()) {
            Ok(Message::Error { message }) => {
                Err(LoadgenError::Agent(format!("{}: {message}", self.peer)))
            }
            Ok(m) => Ok(m),
            Err(e) => Err(LoadgenError::Agent(format!(
                "{} sent '{}': {e}",
                self.peer,
                line.trim_end()
            ))),
        }
    }

    /// Receives a message and names what was expected if it is something else.
    pub fn recv_kind(&mut self, what: &str) -> Result<Message> {
        let m = self.recv()?;
        let ok = matches!(
            (what, &m),
            ("config", Message::Config(_))
                | ("weight", Message::Weight { .. })
                | ("lambda", Message::Lambda { .. })
                | ("ready", Message::Ready)
                | ("go", Message::Go)
                | ("stats", Message::Stats { .. })
        );
        if ok {
            Ok(m)
        } else {
            Err(LoadgenError::Agent(format!(
                "{}: expected {what}, got {m:?}",
                self.peer
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_json_line_each() {
        let m = Message::Weight {
            connections: 4,
            lambda_mul: 2,
        };
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(text, r#"{"msg":"weight","connections":4,"lambda_mul":2}"#);
        let back: Message = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        let go: Message = serde_json::from_str(r#"{"msg":"go"}"#).unwrap();
        assert_eq!(go, Message::Go);
    }

    #[test]
    fn channel_round_trip_and_errors() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut c = Channel::new(s, Some(Duration::from_secs(10))).unwrap();
            let m = c.recv_kind("ready").unwrap();
            c.send(&m).unwrap();
            c.send(&Message::Error {
                message: "boom".into(),
            })
            .unwrap();
        });
        let mut c = Channel::new(
            TcpStream::connect(addr).unwrap(),
            Some(Duration::from_secs(10)),
        )
        .unwrap();
        c.send(&Message::Ready).unwrap();
        assert_eq!(c.recv().unwrap(), Message::Ready);
        let err = c.recv_kind("stats").unwrap_err().to_string();
        assert!(err.contains("boom"), "{err}");
        t.join().unwrap();
        assert!(c.recv().is_err(), "closed");
    }
}
