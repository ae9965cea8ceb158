//! The application's calls, each checked against what the connection's phase and
//! state say it must answer.
//!
//! While events are muted a connection may have died inside the engine with its
//! `Dead` event still queued; its id is then already refused
//! (`NoSuchConnection`), which is accepted only in that case.

use crate::app::{locate, Phase, BUFFERS};
use crate::world::World;
use ix_tcp::{State, TcpError};
use std::net::SocketAddrV4;

/// States in which `send` is allowed (before the application's own close).
fn can_send(s: State) -> bool {
    matches!(
        s,
        State::SynSent | State::SynReceived | State::Established | State::CloseWait
    )
}

impl World {
    /// The application connection `k` names (modulo their number), if any.
    fn pick(&self, k: u8) -> Option<usize> {
        let n = self.app.conns.len();
        (n > 0).then(|| usize::from(k) % n)
    }

    /// Knocking connections first: `k` names one of them if there are any.
    fn pick_knocked(&self, k: u8) -> Option<usize> {
        let knocked: Vec<usize> = (0..self.app.conns.len())
            .filter(|&i| self.app.conns[i].phase == Phase::Knocked)
            .collect();
        if knocked.is_empty() {
            self.pick(k)
        } else {
            Some(knocked[usize::from(k) % knocked.len()])
        }
    }

    /// Checks `r` is the refusal connection `i` must get, unless it is open: for a
    /// call only open connections may make. True if it is open (and `r` is to be
    /// checked against its state).
    fn refused_unless_open<T: std::fmt::Debug>(&self, i: usize, r: &Result<T, TcpError>) -> bool {
        let c = &self.app.conns[i];
        match c.phase {
            Phase::Gone => {
                assert!(
                    is_err(r, TcpError::NoSuchConnection),
                    "{}: gone, yet {r:?}",
                    c.id
                );
                false
            }
            Phase::Knocked => {
                let ok = is_err(r, TcpError::InvalidState)
                    || (self.muted && is_err(r, TcpError::NoSuchConnection));
                assert!(ok, "{}: not accepted, yet {r:?}", c.id);
                false
            }
            Phase::Open => {
                if is_err(r, TcpError::NoSuchConnection) {
                    assert!(self.muted, "{}: open, yet refused as unknown", c.id);
                    return false;
                }
                true
            }
        }
    }

    /// [`World::send_on`] the connection `k` names.
    pub(crate) fn send(&mut self, k: u8, want: usize) {
        if let Some(i) = self.pick(k) {
            self.send_on(i, want);
        }
    }

    /// `send`s of the next `want` bytes of the application's stream on connection
    /// `i`, one call per stretch of a buffer, until one is not taken whole.
    pub(crate) fn send_on(&mut self, i: usize, mut want: usize) {
        loop {
            let c = &self.app.conns[i];
            let id = c.id;
            let (buf, start) = locate(c.queued);
            let n = want.min(BUFFERS[buf] - start);
            let state = self.tcp.state(id);
            let room = self.tcp.send_room(id);
            let r = self.tcp.send(id, &self.payload[buf], start..start + n);
            if !self.refused_unless_open(i, &r) {
                return;
            }
            let c = &mut self.app.conns[i];
            let allowed = !c.closed && state.is_ok_and(can_send);
            let m = match r {
                Ok(m) => m,
                Err(e) => {
                    assert!(
                        !allowed && e == TcpError::InvalidState,
                        "{id}: send refused with {e:?} in {state:?}"
                    );
                    return;
                }
            };
            assert!(
                allowed,
                "{id}: send accepted in {state:?}, closed {}",
                c.closed
            );
            let room = room.unwrap_or(0);
            assert!(
                m <= n && m <= room,
                "{id}: {m} of {n} bytes taken, room {room}"
            );
            c.queued += m as u64;
            want -= m;
            if m < n || want == 0 {
                return;
            }
        }
    }

    /// `close` of connection `k`.
    pub(crate) fn close(&mut self, k: u8) {
        let Some(i) = self.pick(k) else { return };
        let id = self.app.conns[i].id;
        let state = self.tcp.state(id);
        let r = self.tcp.close(id);
        if !self.refused_unless_open(i, &r) {
            return;
        }
        let c = &mut self.app.conns[i];
        let allowed = !c.closed
            && state.is_ok_and(|s| {
                matches!(
                    s,
                    State::SynSent | State::SynReceived | State::Established | State::CloseWait
                )
            });
        match r {
            Ok(()) => {
                assert!(
                    allowed,
                    "{id}: close accepted in {state:?}, closed {}",
                    c.closed
                );
                c.closed = true;
                if state == Ok(State::SynSent) {
                    // Dropped at once, no event.
                    c.phase = Phase::Gone;
                }
            }
            Err(e) => assert!(
                !allowed && e == TcpError::InvalidState,
                "{id}: close refused with {e:?} in {state:?}"
            ),
        }
    }

    /// `abort` of connection `k`.
    pub(crate) fn abort(&mut self, k: u8) {
        let Some(i) = self.pick(k) else { return };
        let c = &mut self.app.conns[i];
        let r = self.tcp.abort(c.id);
        match (c.phase, r) {
            (Phase::Gone, Err(TcpError::NoSuchConnection)) => {}
            (Phase::Knocked | Phase::Open, Ok(())) => c.phase = Phase::Gone,
            (Phase::Knocked | Phase::Open, Err(TcpError::NoSuchConnection)) if self.muted => {}
            (p, r) => panic!("{}: abort in {p:?} answered {r:?}", c.id),
        }
    }

    /// `accept` of a knocking connection (or of another, which must be refused).
    pub(crate) fn accept(&mut self, k: u8) {
        let Some(i) = self.pick_knocked(k) else {
            return;
        };
        let c = &mut self.app.conns[i];
        let r = self.tcp.accept(c.id, i as u64);
        match (c.phase, r) {
            (Phase::Knocked, Ok(())) => c.phase = Phase::Open,
            (Phase::Open, Err(TcpError::InvalidState)) => {}
            (Phase::Gone, Err(TcpError::NoSuchConnection)) => {}
            (Phase::Knocked | Phase::Open, Err(TcpError::NoSuchConnection)) if self.muted => {}
            (p, r) => panic!("{}: accept in {p:?} answered {r:?}", c.id),
        }
    }

    /// `reject` of a knocking connection (or of another, which must be refused).
    pub(crate) fn reject(&mut self, k: u8) {
        let Some(i) = self.pick_knocked(k) else {
            return;
        };
        let c = &mut self.app.conns[i];
        let r = self.tcp.reject(c.id);
        match (c.phase, r) {
            (Phase::Knocked, Ok(())) => c.phase = Phase::Gone,
            (Phase::Open, Err(TcpError::InvalidState)) => {}
            (Phase::Gone, Err(TcpError::NoSuchConnection)) => {}
            (Phase::Knocked | Phase::Open, Err(TcpError::NoSuchConnection)) if self.muted => {}
            (p, r) => panic!("{}: reject in {p:?} answered {r:?}", c.id),
        }
    }

    /// `connect` to `remote` from an ephemeral port.
    pub(crate) fn connect(&mut self, remote: SocketAddrV4) {
        let full = self.tcp.conn_count() >= self.cfg.max_conns;
        match self.tcp.connect(remote, None) {
            Ok(id) => {
                assert!(remote.port() != 0 && !full, "connect to {remote} accepted");
                self.connected(id, remote);
            }
            Err(TcpError::InvalidAddress) => assert_eq!(remote.port(), 0),
            Err(TcpError::TooManyConnections) => assert!(full, "table full with room"),
            Err(e) => panic!("connect to {remote}: {e:?}"),
        }
    }

    /// `listen` on `port`.
    pub(crate) fn listen(&mut self, port: u16) {
        let r = self.tcp.listen(port);
        let expect = if port == 0 {
            Err(TcpError::InvalidAddress)
        } else if self.listening.contains(&port) {
            Err(TcpError::PortInUse)
        } else if self.listening.len() >= self.cfg.max_listeners {
            Err(TcpError::TooManyListeners)
        } else {
            Ok(())
        };
        assert_eq!(r, expect, "listen({port})");
        if r.is_ok() {
            self.listening.push(port);
        }
    }

    /// `unlisten` on `port`: connections from it not yet accepted vanish, no event
    /// (but one that died already, its `Dead` not yet taken while events are muted,
    /// still reports it).
    pub(crate) fn unlisten(&mut self, port: u16) {
        let vanishing: Vec<usize> = (0..self.app.conns.len())
            .filter(|&i| {
                let c = &self.app.conns[i];
                c.phase == Phase::Knocked
                    && c.tuple.local_port == port
                    && self.tcp.state(c.id).is_ok()
            })
            .collect();
        let r = self.tcp.unlisten(port);
        if !self.listening.contains(&port) {
            assert_eq!(r, Err(TcpError::NotListening), "unlisten({port})");
            return;
        }
        assert_eq!(r, Ok(()), "unlisten({port})");
        self.listening.retain(|&p| p != port);
        for i in vanishing {
            self.app.conns[i].phase = Phase::Gone;
        }
    }
}

/// Whether `r` is the error `e`.
fn is_err<T>(r: &Result<T, TcpError>, e: TcpError) -> bool {
    matches!(r, Err(x) if *x == e)
}
