//! What the SUT's application does at a scripted time (`+0 app write 100`): the
//! socket calls a TCP script drives, written so that any target can perform them
//! with its own API (Linux sockets, ix-tcp's engine calls).
//!
//! The application holds one *current connection*: the last one it accepted or
//! opened. Calls that wait for something (`accept`, `read`, `error`) succeed as soon
//! as it is there, and fail if it is not within the target's tolerance.

use crate::lex::Token;
use crate::parse_frame::ColError;
use core::fmt;
use std::net::SocketAddrV4;

/// One application call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppAction {
    /// `accept`: take the next connection that completed its handshake on the
    /// listening port; it becomes the current connection.
    Accept,
    /// `connect IP:PORT [from PORT]`: open a connection (non-blocking: the call
    /// returns once the SYN is on its way); it becomes the current connection.
    /// Without `from` the target picks the local port (captured by the script).
    Connect {
        /// The peer's address and port.
        remote: SocketAddrV4,
        /// The local port to use, if the script fixes it.
        local_port: Option<u16>,
    },
    /// `write N`: send `N` bytes (0, 1, 2, ... as `len:N` makes them), all at once.
    Write(usize),
    /// `read N`: receive exactly `N` bytes (any content), waiting for them.
    Read(usize),
    /// `read eof`: the peer has closed (a FIN came after all data was read).
    ReadEof,
    /// `shutdown-write`: close our direction only (send FIN, keep receiving).
    ShutdownWrite,
    /// `close`: close the connection (FIN after queued data).
    Close,
    /// `abort`: close with a reset (SO_LINGER 0 on Linux; `abort` on ix).
    Abort,
    /// `error KIND`: the current connection has failed this way.
    Error(ConnError),
}

/// How a connection failed, as an application learns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnError {
    /// `reset`: the peer reset an open connection (ECONNRESET).
    Reset,
    /// `refused`: the peer answered our SYN with a reset (ECONNREFUSED).
    Refused,
    /// `timeout`: retransmissions, keepalives or the user timeout ran out (ETIMEDOUT).
    Timeout,
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnError::Reset => "reset",
            ConnError::Refused => "refused",
            ConnError::Timeout => "timeout",
        })
    }
}

/// Usage of every call, for errors.
const USAGE: &str = "want accept, connect IP:PORT [from PORT], write N, read N, read eof, \
                     shutdown-write, close, abort or error reset|refused|timeout";

/// Parses the words after `app` on a timed line.
pub(crate) fn parse_action(kw: &Token<'_>, args: &[Token<'_>]) -> Result<AppAction, ColError> {
    let (first, rest) = args
        .split_first()
        .ok_or_else(|| (kw.col, format!("`app` needs a call ({USAGE})")))?;
    let usage = |u: &str| (first.col, format!("usage: app {u}"));
    let count = |t: &Token<'_>| {
        t.text
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= 1 << 20)
            .ok_or_else(|| (t.col, format!("bad byte count `{}` (0 to 1048576)", t.text)))
    };
    Ok(match (first.text, rest) {
        ("accept", []) => AppAction::Accept,
        ("connect", [addr]) => AppAction::Connect {
            remote: sock_addr(addr)?,
            local_port: None,
        },
        ("connect", [addr, from, port]) if from.text == "from" => AppAction::Connect {
            remote: sock_addr(addr)?,
            local_port: Some(port_of(port)?),
        },
        ("connect", _) => return Err(usage("connect IP:PORT [from PORT]")),
        ("write", [n]) => AppAction::Write(count(n)?),
        ("write", _) => return Err(usage("write N")),
        ("read", [eof]) if eof.text == "eof" => AppAction::ReadEof,
        ("read", [n]) => AppAction::Read(count(n)?),
        ("read", _) => return Err(usage("read N | read eof")),
        ("shutdown-write", []) => AppAction::ShutdownWrite,
        ("close", []) => AppAction::Close,
        ("abort", []) => AppAction::Abort,
        ("error", [kind]) => AppAction::Error(match kind.text {
            "reset" => ConnError::Reset,
            "refused" => ConnError::Refused,
            "timeout" => ConnError::Timeout,
            other => {
                return Err((
                    kind.col,
                    format!("unknown error `{other}` (want reset, refused or timeout)"),
                ))
            }
        }),
        ("error", _) => return Err(usage("error reset|refused|timeout")),
        ("accept" | "shutdown-write" | "close" | "abort", [extra, ..]) => {
            return Err((extra.col, format!("`{}` takes no arguments", first.text)))
        }
        (other, _) => return Err((first.col, format!("unknown app call `{other}` ({USAGE})"))),
    })
}

/// `IP:PORT`.
fn sock_addr(tok: &Token<'_>) -> Result<SocketAddrV4, ColError> {
    tok.text.parse().map_err(|_| {
        (
            tok.col,
            format!("bad address `{}` (want IP:PORT)", tok.text),
        )
    })
}

/// A port number.
pub(crate) fn port_of(tok: &Token<'_>) -> Result<u16, ColError> {
    tok.text
        .parse::<u16>()
        .map_err(|_| (tok.col, format!("bad port `{}`", tok.text)))
}

impl fmt::Display for AppAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppAction::Accept => f.write_str("accept"),
            AppAction::Connect {
                remote,
                local_port: None,
            } => write!(f, "connect {remote}"),
            AppAction::Connect {
                remote,
                local_port: Some(p),
            } => write!(f, "connect {remote} from {p}"),
            AppAction::Write(n) => write!(f, "write {n}"),
            AppAction::Read(n) => write!(f, "read {n}"),
            AppAction::ReadEof => f.write_str("read eof"),
            AppAction::ShutdownWrite => f.write_str("shutdown-write"),
            AppAction::Close => f.write_str("close"),
            AppAction::Abort => f.write_str("abort"),
            AppAction::Error(e) => write!(f, "error {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokenize;

    fn action(line: &str) -> Result<AppAction, ColError> {
        let t = tokenize(line).unwrap();
        parse_action(&t[0], &t[1..])
    }

    #[test]
    fn every_call_parses_and_shows_as_written() {
        for text in [
            "accept",
            "connect 10.0.0.1:8080",
            "connect 10.0.0.1:8080 from 5000",
            "write 100",
            "read 7",
            "read eof",
            "shutdown-write",
            "close",
            "abort",
            "error reset",
            "error refused",
            "error timeout",
        ] {
            let a = action(&format!("app {text}")).unwrap();
            assert_eq!(a.to_string(), text);
        }
    }

    #[test]
    fn errors_point_at_the_word() {
        assert_eq!(action("app").unwrap_err().0, 1);
        let e = action("app connect 10.0.0.1").unwrap_err();
        assert_eq!(e.0, 13);
        assert!(e.1.contains("IP:PORT"));
        assert!(action("app write").unwrap_err().1.contains("usage"));
        assert!(action("app write -1").unwrap_err().1.contains("byte count"));
        assert!(action("app close now")
            .unwrap_err()
            .1
            .contains("no arguments"));
        assert!(action("app error gone")
            .unwrap_err()
            .1
            .contains("unknown error"));
        assert!(action("app fly")
            .unwrap_err()
            .1
            .contains("unknown app call"));
        assert!(action("app connect 10.0.0.1:80 to 5")
            .unwrap_err()
            .1
            .contains("usage"));
    }
}
