//! The test's side of a raw connection: the segments its peer sends, built by
//! name (`PEER.ack(seq, ack).data(b"x")`) rather than by eight positional
//! arguments, and the peer-started handshake most raw tests begin with.

use super::{Raw, B, SYN_ACK};
use ix_tcp::header::{Flags, Header};
use ix_tcp::options::TcpOptions;
use ix_tcp::seq::Seq;
use ix_tcp::{ConnId, State, TcpError};
use std::net::SocketAddrV4;
use std::time::Duration;

/// The peer's end of one connection: its port and the engine's port it talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub port: u16,
    pub engine_port: u16,
}

impl Peer {
    /// The peer at `port`, talking to the engine's `engine_port`.
    pub const fn new(port: u16, engine_port: u16) -> Peer {
        Peer { port, engine_port }
    }

    /// The same peer from port `port + k`: another connection to the same port.
    pub const fn offset(self, k: u16) -> Peer {
        Peer::new(self.port + k, self.engine_port)
    }

    /// A segment with `flags`, `seq` and `ack`: window 65535, no options, no data.
    pub fn seg(self, flags: Flags, seq: u32, ack: u32) -> Seg {
        Seg {
            peer: self,
            seq,
            ack,
            flags,
            window: 65535,
            opts: TcpOptions::default(),
            payload: Vec::new(),
        }
    }

    /// A SYN with sequence `seq` (acknowledgment field 0).
    pub fn syn(self, seq: u32) -> Seg {
        self.seg(Flags::SYN, seq, 0)
    }

    /// An ACK-only segment (add data with [`Seg::data`]).
    pub fn ack(self, seq: u32, ack: u32) -> Seg {
        self.seg(Flags::ACK, seq, ack)
    }

    /// A PSH-ACK segment.
    pub fn psh_ack(self, seq: u32, ack: u32) -> Seg {
        self.seg(Flags::PSH.with(Flags::ACK), seq, ack)
    }

    /// A FIN-ACK segment.
    pub fn fin_ack(self, seq: u32, ack: u32) -> Seg {
        self.seg(Flags::FIN.with(Flags::ACK), seq, ack)
    }

    /// A bare RST with sequence `seq` (acknowledgment field 0, window 0).
    pub fn rst(self, seq: u32) -> Seg {
        self.seg(Flags::RST, seq, 0).window(0)
    }
}

/// One segment from the peer, not yet injected (see [`Raw::inject`]).
#[derive(Debug, Clone)]
pub struct Seg {
    pub peer: Peer,
    pub seq: u32,
    pub ack: u32,
    pub flags: Flags,
    pub window: u16,
    pub opts: TcpOptions,
    pub payload: Vec<u8>,
}

impl Seg {
    /// The same segment advertising window field `w`.
    pub fn window(mut self, w: u16) -> Seg {
        self.window = w;
        self
    }

    /// The same segment carrying options `o`.
    pub fn opts(mut self, o: TcpOptions) -> Seg {
        self.opts = o;
        self
    }

    /// The same segment carrying SACK blocks `[left, right)`.
    pub fn sack(mut self, blocks: &[(u32, u32)]) -> Seg {
        for &(l, r) in blocks {
            self.opts.sack.push((Seq(l), Seq(r)));
        }
        self
    }

    /// The same segment carrying `payload`.
    pub fn data(mut self, payload: &[u8]) -> Seg {
        self.payload = payload.to_vec();
        self
    }

    /// Its TCP header (the header length is filled in when emitted).
    pub fn header(&self) -> Header {
        Header {
            src_port: self.peer.port,
            dst_port: self.peer.engine_port,
            seq: Seq(self.seq),
            ack: Seq(self.ack),
            flags: self.flags,
            window: self.window,
            header_len: 0,
            options: self.opts.clone(),
        }
    }
}

/// SYN options announcing MSS `mss`, SACK if `sack`, and window scale `wscale`.
pub fn syn_opts(mss: u16, sack: bool, wscale: Option<u8>) -> TcpOptions {
    TcpOptions {
        mss: Some(mss),
        sack_permitted: sack,
        wscale,
        ..TcpOptions::default()
    }
}

/// A handshake the peer starts (SYN, SYN-ACK, ACK) on a listening port: no window
/// scaling offered, windows of 65535.
#[derive(Debug, Clone, Copy)]
pub struct Handshake {
    pub peer: Peer,
    /// The peer's ISN: its first data byte is `isn + 1`.
    pub isn: u32,
    pub mss: u16,
    pub sack: bool,
    /// How long the SYN-ACK takes to be answered.
    pub rtt: Duration,
}

impl Handshake {
    /// From `peer` with ISN `isn`: MSS 1460, no SACK, no delay.
    pub const fn new(peer: Peer, isn: u32) -> Handshake {
        Handshake {
            peer,
            isn,
            mss: 1460,
            sack: false,
            rtt: Duration::ZERO,
        }
    }

    /// The same, announcing MSS `mss`.
    pub const fn mss(self, mss: u16) -> Handshake {
        Handshake { mss, ..self }
    }

    /// The same, offering SACK if `sack`.
    pub const fn sack(self, sack: bool) -> Handshake {
        Handshake { sack, ..self }
    }

    /// The same, answering the SYN-ACK `rtt` later.
    pub const fn rtt(self, rtt: Duration) -> Handshake {
        Handshake { rtt, ..self }
    }

    /// The same from another peer.
    pub const fn from(self, peer: Peer) -> Handshake {
        Handshake { peer, ..self }
    }
}

impl Raw {
    /// Runs handshake `h` against a port the engine listens on. Checks the one
    /// SYN-ACK answers the SYN (its ACK, SACK as offered, no window scaling since
    /// none was offered) and that the final ACK establishes the connection without
    /// an answer. Returns the engine's next sequence number (ISS + 1) and the id.
    pub fn handshake(&mut self, h: Handshake) -> (u32, ConnId) {
        let out = self.reply_to(h.peer.syn(h.isn).opts(syn_opts(h.mss, h.sack, None)));
        assert_eq!(out.len(), 1, "{out:?}");
        let sa = &out[0].hdr;
        assert_eq!(sa.flags, SYN_ACK);
        assert_eq!(sa.ack, Seq(h.isn.wrapping_add(1)));
        assert_eq!(sa.options.sack_permitted, h.sack);
        assert_eq!(sa.options.wscale, None, "not offered: not answered");
        let iss1 = sa.seq.0.wrapping_add(1);
        self.advance(h.rtt);
        let out = self.reply_to(h.peer.ack(h.isn.wrapping_add(1), iss1));
        assert!(out.is_empty(), "{out:?}");
        let c = *self.host.app.knocks.last().unwrap();
        assert_eq!(self.host.tcp.state(c), Ok(State::Established));
        (iss1, c)
    }

    /// Opens a connection from the engine's `local_port` to the peer's `port` at
    /// `B` (the SYN not yet polled out): its id and the peer as seen from there.
    pub fn connect_from(&mut self, local_port: u16, port: u16) -> (ConnId, Peer) {
        let remote = SocketAddrV4::new(B, port);
        let c = self.host.tcp.connect(remote, Some(local_port)).unwrap();
        (c, Peer::new(port, local_port))
    }

    /// Listens on the handshake's port unless the engine already does, then runs
    /// [`Raw::handshake`].
    pub fn open_passive(&mut self, h: Handshake) -> (u32, ConnId) {
        match self.host.tcp.listen(h.peer.engine_port) {
            Ok(()) | Err(TcpError::PortInUse) => {}
            Err(e) => panic!("listen on {}: {e}", h.peer.engine_port),
        }
        self.handshake(h)
    }
}
