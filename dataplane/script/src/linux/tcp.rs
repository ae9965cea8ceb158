//! The SUT's TCP application on Linux: real sockets inside the test namespace,
//! non-blocking, serviced from the target's polling loop (no threads).
//!
//! Every socket has TCP_NODELAY, so a write leaves at once as a script expects, plus
//! the socket options the script's `tcp-config` implies (user timeout, keepalive).

use super::netns::Netns;
use super::sysctl::whole_seconds;
use crate::app::{AppAction, ConnError};
use crate::script::App;
use crate::target::{AppStatus, TargetError};
use crate::tcp_config::TcpSettings;
use nix::sys::socket::{
    bind, connect, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
    SockaddrIn,
};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// The socket options every application socket gets.
#[derive(Debug, Clone, Copy, Default)]
struct SockOpts {
    /// TCP_USER_TIMEOUT in milliseconds.
    user_timeout_ms: Option<u32>,
    /// Keepalive idle, interval (seconds) and probe count.
    keepalive: Option<(u32, u32, u32)>,
}

impl SockOpts {
    /// The options `tcp` asks for, in the units Linux takes.
    fn new(tcp: &TcpSettings) -> Result<SockOpts, TargetError> {
        let user_timeout_ms = match tcp.user_timeout {
            Some(d) => Some(
                u32::try_from(d.as_millis())
                    .map_err(|_| TargetError::Setup(format!("user-timeout {d:?} is too long")))?,
            ),
            None => None,
        };
        let keepalive = match tcp.keepalive {
            Some(k) => Some((
                whole_seconds(k.idle, "keepalive idle")?,
                whole_seconds(k.interval, "keepalive interval")?,
                k.probes,
            )),
            None => None,
        };
        Ok(SockOpts {
            user_timeout_ms,
            keepalive,
        })
    }

    /// Sets the options on `fd`.
    fn apply<F: AsFd>(&self, fd: &F) -> nix::Result<()> {
        setsockopt(fd, sockopt::TcpNoDelay, &true)?;
        if let Some(ms) = self.user_timeout_ms {
            setsockopt(fd, sockopt::TcpUserTimeout, &ms)?;
        }
        if let Some((idle, interval, probes)) = self.keepalive {
            setsockopt(fd, sockopt::KeepAlive, &true)?;
            setsockopt(fd, sockopt::TcpKeepIdle, &idle)?;
            setsockopt(fd, sockopt::TcpKeepInterval, &interval)?;
            setsockopt(fd, sockopt::TcpKeepCount, &probes)?;
        }
        Ok(())
    }
}

/// A connection an echo application serves.
struct EchoConn {
    stream: TcpStream,
    /// Received bytes not yet written back.
    owed: Vec<u8>,
    /// The peer closed; our side is shut once `owed` is empty.
    eof: bool,
    /// Our side is shut (or the connection failed): nothing more to do.
    done: bool,
}

/// The connection the script's timed calls act on.
struct Conn {
    stream: Option<TcpStream>,
    /// Bytes read from the socket and not yet consumed by `app read`.
    unread: Vec<u8>,
    /// The peer's FIN was read.
    eof: bool,
}

/// Every TCP socket of the SUT's application.
pub struct TcpApp {
    opts: SockOpts,
    /// Listeners whose connections wait for `app accept`.
    listeners: Vec<TcpListener>,
    /// Listeners whose connections are echoed, and those connections.
    echo_listeners: Vec<TcpListener>,
    echoes: Vec<EchoConn>,
    current: Option<Conn>,
    /// Connections that were current before: kept open (a later accept or connect
    /// must not close them), but no longer driven.
    earlier: Vec<Conn>,
}

/// An I/O error as a set-up failure.
fn setup(what: &str) -> impl Fn(nix::Error) -> TargetError + '_ {
    move |e| TargetError::Setup(format!("{what}: {e}"))
}

impl TcpApp {
    /// Starts the TCP applications among `apps` inside `ns`.
    pub fn start(ns: &Netns, apps: &[App], tcp: &TcpSettings) -> Result<TcpApp, TargetError> {
        let opts = SockOpts::new(tcp)?;
        let mut app = TcpApp {
            opts,
            listeners: Vec::new(),
            echo_listeners: Vec::new(),
            echoes: Vec::new(),
            current: None,
            earlier: Vec::new(),
        };
        for a in apps {
            match *a {
                App::TcpListen { port, backlog } => {
                    app.listeners.push(listener(ns, port, backlog, opts)?);
                }
                App::TcpEcho { port } => {
                    app.echo_listeners.push(listener(
                        ns,
                        port,
                        crate::script::DEFAULT_BACKLOG,
                        opts,
                    )?);
                }
                App::UdpEcho { .. } => {}
            }
        }
        Ok(app)
    }

    /// Echo work that is ready, without blocking.
    pub fn service(&mut self) -> Result<(), TargetError> {
        for l in &self.echo_listeners {
            loop {
                match l.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(true).map_err(io("echo accept"))?;
                        self.echoes.push(EchoConn {
                            stream,
                            owed: Vec::new(),
                            eof: false,
                            done: false,
                        });
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(io("echo accept")(e)),
                }
            }
        }
        for c in &mut self.echoes {
            c.service();
        }
        Ok(())
    }

    /// Performs one timed call; `ns` is where new sockets are made.
    pub fn call(&mut self, ns: &Netns, action: &AppAction) -> Result<AppStatus, TargetError> {
        Ok(match *action {
            AppAction::Accept => self.accept()?,
            AppAction::Connect { remote, local_port } => {
                let stream = connect_from(ns, remote, local_port, self.opts)?;
                self.make_current(stream);
                AppStatus::Done
            }
            AppAction::Write(n) => with_stream(&mut self.current, |s| {
                let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
                match s.write(&data) {
                    Ok(k) if k == n => AppStatus::Done,
                    Ok(k) => {
                        AppStatus::Failed(format!("only {k} of {n} bytes fit the send buffer"))
                    }
                    Err(e) => AppStatus::Failed(format!("write: {e}")),
                }
            }),
            AppAction::Read(n) => match &mut self.current {
                None => no_conn(),
                Some(c) => c.read(n),
            },
            AppAction::ReadEof => match &mut self.current {
                None => no_conn(),
                Some(c) => c.read_eof(),
            },
            AppAction::ShutdownWrite => {
                with_stream(&mut self.current, |s| match s.shutdown(Shutdown::Write) {
                    Ok(()) => AppStatus::Done,
                    Err(e) => AppStatus::Failed(format!("shutdown: {e}")),
                })
            }
            AppAction::Close => match self.current.as_mut().and_then(|c| c.stream.take()) {
                None => no_conn(),
                Some(s) => {
                    drop(s);
                    AppStatus::Done
                }
            },
            AppAction::Abort => match self.current.as_mut().and_then(|c| c.stream.take()) {
                None => no_conn(),
                Some(s) => {
                    // SO_LINGER with a zero timeout: close(2) sends RST, not FIN.
                    let zero = nix::libc::linger {
                        l_onoff: 1,
                        l_linger: 0,
                    };
                    match setsockopt(&s, sockopt::Linger, &zero) {
                        Ok(()) => AppStatus::Done,
                        Err(e) => AppStatus::Failed(format!("SO_LINGER: {e}")),
                    }
                }
            },
            AppAction::Error(want) => with_stream(&mut self.current, |s| check_error(s, want)),
        })
    }

    /// Makes `stream` the current connection, keeping the previous one open.
    fn make_current(&mut self, stream: TcpStream) {
        let new = Conn {
            stream: Some(stream),
            unread: Vec::new(),
            eof: false,
        };
        if let Some(old) = self.current.replace(new) {
            self.earlier.push(old);
        }
    }

    /// Takes the next connection waiting on a `tcp-listen` port.
    fn accept(&mut self) -> Result<AppStatus, TargetError> {
        if self.listeners.is_empty() {
            return Ok(AppStatus::Failed(
                "no `app tcp-listen` port to accept on".to_string(),
            ));
        }
        for l in &self.listeners {
            match l.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(true).map_err(io("accept"))?;
                    self.opts.apply(&stream).map_err(setup("socket options"))?;
                    self.make_current(stream);
                    return Ok(AppStatus::Done);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Ok(AppStatus::Failed(format!("accept: {e}"))),
            }
        }
        Ok(AppStatus::NotYet(
            "no connection was ready to accept".to_string(),
        ))
    }
}

impl Conn {
    /// Reads what is there into `unread`; `Err` with a message on a socket error.
    fn fill(&mut self) -> Result<(), String> {
        let Some(s) = &mut self.stream else {
            return Err("the connection was closed by the app".to_string());
        };
        let mut buf = [0u8; 4096];
        while !self.eof {
            match s.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(k) => self.unread.extend_from_slice(&buf[..k]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        Ok(())
    }

    /// `read N`.
    fn read(&mut self, n: usize) -> AppStatus {
        if let Err(e) = self.fill() {
            return AppStatus::Failed(e);
        }
        if self.unread.len() >= n {
            self.unread.drain(..n);
            AppStatus::Done
        } else if self.eof {
            AppStatus::Failed(format!(
                "the peer closed after {} of {n} bytes",
                self.unread.len()
            ))
        } else {
            AppStatus::NotYet(format!("only {} of {n} bytes arrived", self.unread.len()))
        }
    }

    /// `read eof`.
    fn read_eof(&mut self) -> AppStatus {
        if let Err(e) = self.fill() {
            return AppStatus::Failed(e);
        }
        match (self.unread.len(), self.eof) {
            (0, true) => AppStatus::Done,
            (0, false) => AppStatus::NotYet("the peer did not close".to_string()),
            (k, _) => AppStatus::Failed(format!("{k} unread bytes before the end")),
        }
    }
}

impl EchoConn {
    /// Reads what is there, writes back what fits, closes after the peer did.
    fn service(&mut self) {
        let mut buf = [0u8; 4096];
        while !self.done && !self.eof {
            match self.stream.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(k) => self.owed.extend_from_slice(&buf[..k]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // A reset connection has nothing more to echo; the script sees why.
                Err(_) => self.done = true,
            }
        }
        while !self.done && !self.owed.is_empty() {
            match self.stream.write(&self.owed) {
                Ok(k) => {
                    self.owed.drain(..k);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => self.done = true,
            }
        }
        if self.eof && self.owed.is_empty() && !self.done {
            let _ = self.stream.shutdown(Shutdown::Write);
            self.done = true;
        }
    }
}

/// The failure of a call that needs a connection when there is none.
fn no_conn() -> AppStatus {
    AppStatus::Failed("no current connection (accept or connect first)".to_string())
}

/// Runs `f` on the current connection's socket, if it is open.
fn with_stream(conn: &mut Option<Conn>, f: impl FnOnce(&mut TcpStream) -> AppStatus) -> AppStatus {
    match conn.as_mut().and_then(|c| c.stream.as_mut()) {
        Some(s) => f(s),
        None => no_conn(),
    }
}

/// `error KIND`: the socket's pending error is the one expected.
fn check_error(s: &TcpStream, want: ConnError) -> AppStatus {
    let errno = match want {
        ConnError::Reset => nix::libc::ECONNRESET,
        ConnError::Refused => nix::libc::ECONNREFUSED,
        ConnError::Timeout => nix::libc::ETIMEDOUT,
    };
    match s.take_error() {
        Ok(None) => AppStatus::NotYet(format!("no error on the socket (want {want})")),
        Ok(Some(e)) if e.raw_os_error() == Some(errno) => AppStatus::Done,
        Ok(Some(e)) => AppStatus::Failed(format!("the socket failed with `{e}`, not {want}")),
        Err(e) => AppStatus::Failed(format!("SO_ERROR: {e}")),
    }
}

/// An I/O error as a target failure.
fn io(what: &'static str) -> impl Fn(std::io::Error) -> TargetError {
    move |e| TargetError::Io(format!("tcp app {what}: {e}"))
}

/// A non-blocking TCP socket created inside `ns`, options set.
fn new_socket(ns: &Netns, opts: SockOpts) -> Result<OwnedFd, TargetError> {
    ns.enter(|| {
        let fd = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        setsockopt(&fd, sockopt::ReuseAddr, &true)?;
        opts.apply(&fd)?;
        Ok(fd)
    })
}

/// A listener on `port` (all addresses) with `backlog`.
fn listener(
    ns: &Netns,
    port: u16,
    backlog: u32,
    opts: SockOpts,
) -> Result<TcpListener, TargetError> {
    let fd = new_socket(ns, opts)?;
    let addr = SockaddrIn::from(SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, port));
    bind(fd.as_raw_fd(), &addr).map_err(setup("tcp-listen bind"))?;
    let backlog = i32::try_from(backlog)
        .ok()
        .and_then(|b| Backlog::new(b).ok())
        .ok_or_else(|| TargetError::Setup(format!("backlog {backlog} out of range")))?;
    listen(&fd, backlog).map_err(setup("tcp-listen listen"))?;
    Ok(TcpListener::from(fd))
}

/// Starts a connection to `remote`, from `local_port` if given; returns at once.
fn connect_from(
    ns: &Netns,
    remote: SocketAddrV4,
    local_port: Option<u16>,
    opts: SockOpts,
) -> Result<TcpStream, TargetError> {
    let fd = new_socket(ns, opts)?;
    if let Some(port) = local_port {
        let addr = SockaddrIn::from(SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, port));
        bind(fd.as_raw_fd(), &addr).map_err(setup("connect bind"))?;
    }
    match connect(fd.as_raw_fd(), &SockaddrIn::from(remote)) {
        Ok(()) | Err(nix::Error::EINPROGRESS) => Ok(TcpStream::from(fd)),
        Err(e) => Err(TargetError::Io(format!("connect {remote}: {e}"))),
    }
}
