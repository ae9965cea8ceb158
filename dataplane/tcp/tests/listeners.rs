//! Packet-level tests of passive opens under pressure and of the connection
//! table: SYN cookies when the SYN queue is full, a full accept backlog, unlisten,
//! and ids of reused slots. The test plays the peer.

mod support;

use ix_tcp::header::Flags;
use ix_tcp::seq::Seq;
use ix_tcp::{Counter, State, TcpConfig, TcpError};
use std::net::SocketAddrV4;
use support::*;

/// With the SYN queue full the engine answers with a stateless cookie SYN-ACK (no
/// SACK, no window scaling); a forged cookie gets a RST, the real ACK (with data)
/// creates the connection and delivers the data.
#[test]
fn syn_queue_overflow_answers_with_cookies() {
    let mut r = Raw::with(|c| c.syn_backlog = 1);
    r.host.tcp.listen(PORT).unwrap();
    let out = r.reply_to(PEER.syn(PEER_ISN).opts(syn_opts(1460, true, Some(7))));
    assert!(
        out[0].hdr.options.sack_permitted,
        "a queued SYN negotiates SACK"
    );
    assert_eq!(out[0].hdr.options.wscale, Some(3));
    // Queue full: a stateless cookie SYN-ACK (no SACK, no window scaling).
    let second = PEER.offset(1);
    let out = r.reply_to(second.syn(5000).opts(syn_opts(1460, true, Some(7))));
    let sa = &out[0].hdr;
    assert_eq!(sa.flags, SYN_ACK);
    assert!(!sa.options.sack_permitted && sa.options.wscale.is_none());
    assert_eq!(r.host.tcp.conn_count(), 1, "no state kept");
    assert_eq!(r.count(Counter::SynCookiesSent), 1);
    // A forged cookie: RST.
    let forged = r.reply_to(PEER.offset(2).ack(5001, sa.seq.0 + 1));
    assert_eq!(forged[0].hdr.flags, Flags::RST);
    // The real ACK (with data): the connection exists, data delivered.
    let out = r.reply_to(second.ack(5001, sa.seq.0 + 1).data(b"hi"));
    assert_eq!(r.count(Counter::SynCookiesOk), 1);
    let c = *r.host.app.knocks.last().unwrap();
    assert_eq!(r.host.app.log[&c].data, b"hi");
    assert!(out.is_empty() || out[0].hdr.ack == Seq(5003));
    let info = r.host.tcp.conn_info(c).unwrap();
    assert_eq!((info.mss, info.sack), (1460, false));
}

/// With the accept backlog full (and no cookies) a handshake's final ACK is
/// dropped; once the application accepts, the next ACK completes it, and a
/// rejected connection is reset.
#[test]
fn accept_backlog_full_drops_the_final_ack() {
    let mut r = Raw::new(TcpConfig {
        accept_backlog: 1,
        syncookies: false,
        ..cfg()
    });
    r.host.app.auto_accept = false;
    r.host.tcp.listen(PORT).unwrap();
    let mut isss = Vec::new();
    for k in 0..2u16 {
        isss.push(r.reply_to(PEER.offset(k).syn(PEER_ISN))[0].hdr.seq.0 + 1);
    }
    for k in 0..2u16 {
        r.reply_to(PEER.offset(k).ack(NXT, isss[k as usize]));
    }
    assert_eq!(r.host.app.knocks.len(), 1);
    assert_eq!(r.count(Counter::AcceptBacklogFull), 1);
    // Accept the first: the second completes on its next ACK.
    let first = r.host.app.knocks[0];
    r.host.tcp.accept(first, 7).unwrap();
    r.reply_to(PEER.offset(1).ack(NXT, isss[1]));
    assert_eq!(r.host.app.knocks.len(), 2);
    // Reject it: RST.
    let second = r.host.app.knocks[1];
    r.host.tcp.reject(second).unwrap();
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, Flags::RST);
    assert_eq!(r.host.tcp.conn_count(), 1);
}

/// Unlisten resets the connections not yet accepted, refuses a second unlisten,
/// and afterwards a SYN to the port is refused.
#[test]
fn unlisten_resets_connections_not_yet_accepted() {
    let mut r = Raw::new(cfg());
    r.host.app.auto_accept = false;
    r.host.tcp.listen(PORT).unwrap();
    let iss1 = r.reply_to(PEER.syn(PEER_ISN))[0].hdr.seq.0 + 1;
    r.reply_to(PEER.ack(NXT, iss1));
    assert_eq!(r.host.app.knocks.len(), 1);
    assert_eq!(r.host.tcp.conns().count(), 1);
    let info = r.host.tcp.conns().next().unwrap();
    assert_eq!(
        (info.state, info.remote, info.local.port()),
        (State::Established, SocketAddrV4::new(B, SPORT), PORT)
    );
    r.host.tcp.unlisten(PORT).unwrap();
    assert_eq!(r.host.tcp.unlisten(PORT), Err(TcpError::NotListening));
    let out = r.poll();
    assert_eq!(out[0].hdr.flags, Flags::RST);
    assert_eq!(r.host.tcp.conn_count(), 0);
    // Now nobody listens: a SYN is refused.
    let out = r.reply_to(PEER.offset(1).syn(PEER_ISN));
    assert_eq!(out[0].hdr.flags, RST_ACK);
}

/// A slot reused by a new connection gets a new id: the old id is refused
/// everywhere, and with the table full an active open is refused too.
#[test]
fn stale_ids_never_reach_the_next_occupant() {
    let mut r = Raw::with(|c| c.max_conns = 1);
    let (_, c1) = r.open_passive(OPEN);
    r.host.tcp.abort(c1).unwrap();
    assert_eq!(r.poll()[0].hdr.flags, Flags::RST);
    let (_, c2) = r.open_passive(OPEN.from(PEER.offset(1)));
    assert_eq!(c1.index(), c2.index(), "slot reused");
    assert_ne!(c1, c2);
    assert_eq!(r.host.tcp.state(c1), Err(TcpError::NoSuchConnection));
    assert_eq!(r.host.tcp.close(c1), Err(TcpError::NoSuchConnection));
    assert_eq!(r.host.tcp.state(c2), Ok(State::Established));
    // The table is full: a new active open is refused.
    assert_eq!(
        r.host.tcp.connect(SocketAddrV4::new(B, 1), None),
        Err(TcpError::TooManyConnections)
    );
}
