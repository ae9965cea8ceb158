//! The application's side: the connections it knows, what it queued and received on
//! each, and the rules its events must follow.
//!
//! Per connection, events come as `api.rs` promises: `Knock` or `Connected` first,
//! `Recv`s in sequence order (each byte the peer's byte for its sequence number),
//! `Sent` never acknowledging more than was queued, `PeerClosed` once and after the
//! last `Recv`, `Dead` or `ConnectFailed` last; nothing for a connection the
//! application aborted or rejected, or whose knock it has not accepted (but `Dead`).

use crate::peer::{peer_byte, Tuple};
use ix_nic::heap::HeapRx;
use ix_tcp::seq::Seq;
use ix_tcp::{ConnId, TcpEvent};

/// The application's payload buffers, by length. Every connection's stream is
/// these buffers' bytes in turn, over and over: stream byte `i` is
/// [`stream_byte`]`(i)`, so every byte the engine transmits can be checked. The
/// lengths are distinct primes and the contents differ, so bytes sent from the
/// wrong buffer, or the wrong place in one, show (a send queue holds a piece per
/// buffer: a mix-up of pieces sends another buffer's bytes).
pub const BUFFERS: [usize; 3] = [1499, 1301, 1103];

/// Bytes in one round of all [`BUFFERS`].
pub const CYCLE: usize = BUFFERS[0] + BUFFERS[1] + BUFFERS[2];

/// Byte `i` of payload buffer `k`.
pub fn buffer_byte(k: usize, i: usize) -> u8 {
    let x = ((k as u64) << 32 | i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (x >> 56) as u8
}

/// Where stream offset `off` lies: (buffer, offset in it).
pub fn locate(off: u64) -> (usize, usize) {
    let mut r = (off % CYCLE as u64) as usize;
    for (k, &len) in BUFFERS.iter().enumerate() {
        if r < len {
            return (k, r);
        }
        r -= len;
    }
    unreachable!("the offset is reduced modulo the cycle")
}

/// Byte `off` of every connection's stream.
pub fn stream_byte(off: u64) -> u8 {
    let (k, i) = locate(off);
    buffer_byte(k, i)
}

/// Where a connection stands with the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Knocked; neither accepted nor rejected yet.
    Knocked,
    /// Open (accepted, or an active open).
    Open,
    /// Gone: dead, aborted, rejected or dropped. Its id must be refused.
    Gone,
}

/// One connection the application knows.
#[derive(Debug, Clone)]
pub struct AppConn {
    /// Its id.
    pub id: ConnId,
    /// Its 4-tuple.
    pub tuple: Tuple,
    /// Opened by the application (else accepted from a listener).
    pub active: bool,
    /// Where it stands.
    pub phase: Phase,
    /// `Connected` was reported.
    pub connected: bool,
    /// The application closed its sending side.
    pub closed: bool,
    /// `PeerClosed` was reported.
    pub peer_closed: bool,
    /// Bytes the engine accepted from `send`.
    pub queued: u64,
    /// Bytes `Sent` events acknowledged.
    pub acked: u64,
    /// The sequence number of the next byte to be received (else the first `Recv`
    /// fixes its low byte, all [`peer_byte`] depends on).
    pub rx_next: Option<Seq>,
    /// Whether `rx_next` was known exactly from the start (then it is exact).
    pub rx_exact: bool,
    /// The engine's initial sequence number for it, once seen on the wire.
    pub iss: Option<Seq>,
}

/// The application's connections, in order of appearance.
#[derive(Debug, Default)]
pub struct App {
    /// Every connection ever known (gone ones stay: their ids are replayed).
    pub conns: Vec<AppConn>,
}

impl App {
    /// The index of the connection with `id` that is not gone.
    pub fn live(&self, id: ConnId) -> Option<usize> {
        self.conns
            .iter()
            .position(|c| c.id == id && c.phase != Phase::Gone)
    }

    /// Adds a connection; its index.
    pub fn add(&mut self, id: ConnId, tuple: Tuple, active: bool, rx_next: Option<Seq>) -> usize {
        assert!(
            self.live(id).is_none(),
            "engine issued {id}, which is still live"
        );
        self.conns.push(AppConn {
            id,
            tuple,
            active,
            phase: if active { Phase::Open } else { Phase::Knocked },
            connected: false,
            closed: false,
            peer_closed: false,
            queued: 0,
            acked: 0,
            rx_next,
            rx_exact: rx_next.is_some(),
            iss: None,
        });
        self.conns.len() - 1
    }

    /// Checks an event other than `Knock` against the connection's history and
    /// records it. `Recv` payloads are checked byte by byte.
    pub fn event(&mut self, ev: &TcpEvent<HeapRx>) {
        let id = ev.conn();
        let i = self
            .live(id)
            .unwrap_or_else(|| panic!("event for {id}, which is gone or unknown: {ev:?}"));
        let c = &mut self.conns[i];
        if c.phase == Phase::Knocked {
            assert!(
                matches!(ev, TcpEvent::Dead { .. }),
                "{id} not yet accepted, yet {ev:?}"
            );
        }
        assert!(
            !c.active
                || c.connected
                || matches!(
                    ev,
                    TcpEvent::Connected { .. } | TcpEvent::ConnectFailed { .. }
                ),
            "{id}: {ev:?} before Connected"
        );
        match ev {
            TcpEvent::Knock { .. } => panic!("Knock for {id}, known already"),
            TcpEvent::Connected { .. } => {
                assert!(c.active && !c.connected, "{id}: Connected again or passive");
                c.connected = true;
            }
            TcpEvent::ConnectFailed { .. } => {
                assert!(
                    c.active && !c.connected,
                    "{id}: ConnectFailed after Connected"
                );
                c.phase = Phase::Gone;
            }
            TcpEvent::Recv { seg, .. } => {
                assert!(!c.peer_closed, "{id}: Recv after PeerClosed");
                assert!(!seg.is_empty(), "{id}: empty Recv");
                let start = *c.rx_next.get_or_insert(Seq(u32::from(seg[0])));
                for (k, &b) in seg.iter().enumerate() {
                    let want = peer_byte(start.add(k as u32));
                    assert_eq!(b, want, "{id}: received byte {k} of {}", seg.len());
                }
                c.rx_next = Some(start.add(seg.len() as u32));
            }
            TcpEvent::Sent { acked_bytes, .. } => {
                assert!(*acked_bytes > 0, "{id}: Sent 0 bytes");
                c.acked += *acked_bytes as u64;
                assert!(
                    c.acked <= c.queued,
                    "{id}: {} bytes acknowledged of {} queued",
                    c.acked,
                    c.queued
                );
            }
            TcpEvent::PeerClosed { .. } => {
                assert!(!c.peer_closed, "{id}: PeerClosed twice");
                c.peer_closed = true;
            }
            TcpEvent::Dead { .. } => c.phase = Phase::Gone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_has_no_period_shorter_than_its_cycle() {
        let v: Vec<u8> = (0..CYCLE as u64).map(stream_byte).collect();
        assert_eq!(stream_byte(CYCLE as u64 + 5), v[5]);
        assert_eq!(locate(1499), (1, 0));
        for p in 1..CYCLE {
            assert!((0..64).any(|i| v[i] != v[(i + p) % CYCLE]), "period {p}");
        }
    }
}
