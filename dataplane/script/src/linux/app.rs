//! SUT-side applications on Linux: real sockets inside the test namespace.

use super::netns::Netns;
use crate::script::App;
use crate::target::TargetError;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, UdpSocket};

/// A running application, serviced from the target's polling loop (no threads).
pub enum LinuxApp {
    /// A UDP socket that sends every datagram back to its sender.
    UdpEcho {
        /// The bound socket, non-blocking.
        sock: UdpSocket,
        /// Room for the largest datagram.
        buf: Vec<u8>,
    },
}

impl LinuxApp {
    /// Starts `app` inside `ns` if it is a UDP one (TCP ones are [`super::TcpApp`]'s).
    pub fn start(ns: &Netns, app: &App) -> Result<Option<LinuxApp>, TargetError> {
        match *app {
            App::TcpListen { .. } | App::TcpEcho { .. } => Ok(None),
            App::UdpEcho { port } => ns
                .enter(|| {
                    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port))?;
                    sock.set_nonblocking(true)?;
                    Ok(sock)
                })
                .map(|sock| {
                    Some(LinuxApp::UdpEcho {
                        sock,
                        buf: vec![0; 65536],
                    })
                }),
        }
    }

    /// Does whatever work is ready, without blocking.
    pub fn service(&mut self) -> Result<(), TargetError> {
        match self {
            LinuxApp::UdpEcho { sock, buf } => loop {
                match sock.recv_from(buf) {
                    Ok((n, from)) => {
                        sock.send_to(&buf[..n], from).map_err(|e| {
                            TargetError::Io(format!("udp-echo send to {from}: {e}"))
                        })?;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                    Err(e) => return Err(TargetError::Io(format!("udp-echo receive: {e}"))),
                }
            },
        }
    }
}
