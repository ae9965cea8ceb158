//! What must hold between steps: the engine's tables within their bounds and
//! consistent, each connection's snapshot sane, the application's books agreeing
//! with the engine's, and the engine's counters covering what was seen on the wire.

use crate::addrs::PEER_IPS;
use crate::app::{AppConn, Phase};
use crate::world::World;
use ix_tcp::{Counter, State, TcpError};
use std::net::SocketAddrV4;

impl World {
    /// Checks every invariant.
    pub fn check(&self) {
        self.check_tables();
        self.check_books();
        self.check_counters();
    }

    /// Bounds and snapshot sanity.
    fn check_tables(&self) {
        let (t, cfg) = (&self.tcp, &self.cfg);
        assert!(
            t.conn_count() <= cfg.max_conns,
            "{} connections",
            t.conn_count()
        );
        assert_eq!(t.conns().count(), t.conn_count(), "listed vs counted");
        assert!(
            t.time_wait_count() <= cfg.time_wait_max,
            "TIME_WAIT overfull"
        );
        for i in t.conns() {
            if i.state == State::Closed {
                continue; // dead, its event not yet taken: nothing left to check
            }
            assert!((64..=cfg.mss).contains(&i.mss), "MSS {}: {i:?}", i.mss);
            assert!(i.send_queued <= cfg.send_buf, "send buffer overfull: {i:?}");
            assert!(i.bytes_in_flight <= i.send_queued + 2, "in flight: {i:?}");
            assert!(
                i.rcv_unreleased <= cfg.recv_buf,
                "receive buffer overrun: {i:?}"
            );
            assert!(i.cwnd > 0, "zero cwnd: {i:?}");
        }
    }

    /// The application's view of each connection against the engine's.
    fn check_books(&self) {
        for c in &self.app.conns {
            let state = self.tcp.state(c.id);
            match c.phase {
                Phase::Gone => {
                    assert_eq!(state, Err(TcpError::NoSuchConnection), "{} is gone", c.id)
                }
                _ if self.muted => {}
                Phase::Knocked => assert!(state.is_ok(), "{} knocked, yet {state:?}", c.id),
                Phase::Open => {
                    let info = self
                        .tcp
                        .conn_info(c.id)
                        .unwrap_or_else(|e| panic!("{} open, yet {e:?}", c.id));
                    let remote = SocketAddrV4::new(PEER_IPS[c.tuple.peer], c.tuple.remote_port);
                    assert_eq!(
                        (info.remote, info.local.port()),
                        (remote, c.tuple.local_port),
                        "{}'s 4-tuple",
                        c.id
                    );
                    assert_eq!(
                        u64::from(info.send_queued) + c.acked,
                        c.queued,
                        "{}: queued = unacknowledged + reported acknowledged",
                        c.id
                    );
                    self.check_acks(c);
                    if c.closed {
                        assert!(
                            !matches!(
                                info.state,
                                State::SynSent | State::Established | State::CloseWait
                            ),
                            "{} closed, yet {}",
                            c.id,
                            info.state
                        );
                    }
                }
            }
        }
    }

    /// Both directions' acknowledgments against what really happened: the engine
    /// never acknowledges bytes it has not handed to the application (received
    /// bytes it dropped must stay unacknowledged, or they are lost), and never
    /// reports as acknowledged more than the peer acknowledged.
    fn check_acks(&self, c: &AppConn) {
        let Some(flow) = self.flows.get(c.tuple) else {
            return;
        };
        let i = self.app.conns.iter().position(|x| x.id == c.id);
        if flow.conn != i {
            return; // another incarnation holds the tuple's flow
        }
        if let (true, Some(next), Some(ack)) = (c.rx_exact, c.rx_next, flow.eng_ack) {
            let limit = next.add(u32::from(c.peer_closed));
            assert!(
                ack.le(limit),
                "{}: the engine acknowledged {ack}, delivered up to {limit}",
                c.id
            );
        }
        if let (Some(iss), Some(una)) = (flow.eng_iss, flow.peer_una) {
            let peer_acked = una.diff(iss.add(1)).max(0) as u64;
            assert!(
                c.acked <= peer_acked,
                "{}: {} bytes reported acknowledged, the peer acknowledged {peer_acked}",
                c.id,
                c.acked
            );
        }
    }

    /// Counters cover what the wire carried.
    fn check_counters(&self) {
        let s = self.tcp.stats();
        let seen = self.seen;
        assert!(s.get(Counter::SegsOut) >= seen.segs, "segs_out below seen");
        assert!(s.get(Counter::RstsOut) >= seen.rsts, "rsts_out below seen");
        assert!(
            s.get(Counter::BytesOut) >= seen.bytes,
            "bytes_out below seen"
        );
    }
}
