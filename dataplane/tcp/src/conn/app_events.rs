//! What a connection owes the application: whether events wait, the next one in
//! per-connection order, and a monitoring snapshot.

use crate::api::{ConnInfo, TcpEvent};
use crate::conn::tcb::{Knock, Tcb};
use crate::core::Core;
use ix_nic::BufPool;
use std::net::SocketAddrV4;

impl<P: BufPool> Tcb<P> {
    /// Whether events wait for the application.
    pub fn has_events(&self) -> bool {
        if !self.in_use {
            return false;
        }
        match self.knock {
            Knock::Embryonic => false,
            Knock::Pending => true,
            Knock::Delivered => self.dead.is_some(),
            Knock::Active | Knock::Accepted => {
                self.ev_connected
                    || !self.recvq.is_empty()
                    || self.ev_sent > 0
                    || self.ev_peer_closed
                    || self.dead.is_some()
            }
        }
    }

    /// The next event for the application, in per-connection order. A `Dead` or
    /// `ConnectFailed` returned means the caller must free the slot.
    pub fn next_event(&mut self, local_port: u16) -> Option<TcpEvent<P::Rx>> {
        let conn = self.id();
        let cookie = self.cookie;
        match self.knock {
            Knock::Embryonic => return None,
            Knock::Pending => {
                self.knock = Knock::Delivered;
                return Some(TcpEvent::Knock {
                    conn,
                    local_port,
                    remote: self.key.remote(),
                });
            }
            Knock::Delivered => {
                return self.dead.map(|reason| TcpEvent::Dead {
                    conn,
                    cookie,
                    reason,
                });
            }
            Knock::Active | Knock::Accepted => {}
        }
        if self.ev_connected {
            self.ev_connected = false;
            return Some(TcpEvent::Connected { conn, cookie });
        }
        if let Some(seg) = self.recvq.pop() {
            return Some(TcpEvent::Recv { conn, cookie, seg });
        }
        if self.ev_sent > 0 {
            let acked_bytes =
                usize::try_from(std::mem::take(&mut self.ev_sent)).unwrap_or(usize::MAX);
            return Some(TcpEvent::Sent {
                conn,
                cookie,
                acked_bytes,
            });
        }
        if self.ev_peer_closed {
            self.ev_peer_closed = false;
            return Some(TcpEvent::PeerClosed { conn, cookie });
        }
        let reason = self.dead?;
        Some(if self.connect_failed {
            TcpEvent::ConnectFailed { conn, reason }
        } else {
            TcpEvent::Dead {
                conn,
                cookie,
                reason,
            }
        })
    }

    /// A monitoring snapshot.
    pub fn info(&self, core: &Core) -> ConnInfo {
        ConnInfo {
            conn: self.id(),
            local: SocketAddrV4::new(core.local, self.key.local_port()),
            remote: self.key.remote(),
            state: self.state,
            cwnd: self.cc.cwnd(),
            ssthresh: self.cc.ssthresh(),
            srtt: self.rtt.srtt(),
            rto: self.rtt.rto(),
            bytes_in_flight: self.outstanding(),
            send_queued: self.sendq.len(),
            snd_wnd: self.snd_wnd,
            rcv_wnd: self.rcv_adv.since(self.rcv_nxt),
            rcv_unreleased: self.unreleased,
            mss: self.mss,
            sack: self.sack_ok,
            timestamps: self.ts.ok,
            retransmits: self.retransmits,
        }
    }
}
