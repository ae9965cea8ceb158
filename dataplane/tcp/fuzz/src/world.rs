//! The harness: one `TcpEngine` under an `ix_net::Interface` over a `FakeNic`, on a
//! `VirtualClock`, with connections opened first and then driven by [`Action`]s,
//! every invariant checked after every step.
//!
//! Invariants (a failure panics, which libFuzzer reports as a crash):
//! - nothing panics inside the engine or the interface;
//! - every transmitted frame passes [`check::frame`], and its TCP segment fits its
//!   flow ([`crate::segments`]): SYN options as configured and negotiated, SACK
//!   blocks above the ACK, no segment above the MSS, data bytes exactly the
//!   application's bytes for those sequence numbers, FIN exactly at the end of what
//!   the application queued, and only after it closed;
//! - events follow [`crate::app`]'s rules, received bytes are the peer's bytes;
//! - application calls answer as the connection's state says ([`crate::calls`]);
//! - the engine's tables and counters agree with each other and with the
//!   application's books ([`crate::invariants`]);
//! - at the end, with every connection aborted and time run far ahead, no
//!   connection, TIME_WAIT entry or queued frame is left, and every pool buffer is
//!   back but the application's own payload buffers (none after dropping them).

use crate::addrs::{peer_index, peer_mac, LISTEN_PORT, OUR_IP, OUR_MAC, PEER_IPS, PREFIX_LEN};
use crate::addrs::{PEER_LISTEN_PORT, PEER_PORT_BASE, RESOLVED_PEERS};
use crate::app::{buffer_byte, App, Phase, BUFFERS};
use crate::check::{self, Sent};
use crate::grammar::{
    AckChoice, Action, FlagChoice, OffsetChoice, Options, PayloadLen, SegSpec, SeqChoice, Target,
    TsChoice, TsEcr, TsVal, WindowChoice, MAX_ACTIONS,
};
use crate::peer::{Flows, Tuple};
use crate::setup::{Setup, BLOCK_SIZE};
use crate::wire::{frame_from, Checksum};
use ix_fakenic::FakeNic;
use ix_net::{Config, Interface};
use ix_nic::heap::{HeapPool, HeapRx, HeapShared};
use ix_nic::{Clock, RxSeg, VirtualClock};
use ix_tcp::seq::Seq;
use ix_tcp::{TcpConfig, TcpEngine, TcpEvent};
use std::collections::VecDeque;
use std::net::SocketAddrV4;
use std::time::Duration;

/// What the harness saw on the wire, to compare with the engine's counters.
#[derive(Debug, Default, Clone, Copy)]
pub struct Seen {
    /// TCP segments.
    pub segs: u64,
    /// RSTs.
    pub rsts: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// SYN-ACKs without TSopt that answered only SYNs offering it, with
    /// timestamps on: SYN cookies (which carry the MSS alone), and nothing else.
    pub cookie_like: u64,
}

/// An engine under test and everything needed to check it.
pub struct World {
    pub(crate) iface: Interface<FakeNic, VirtualClock>,
    pub(crate) tcp: TcpEngine<HeapPool>,
    pub(crate) clock: VirtualClock,
    pub(crate) pool: HeapPool,
    pub(crate) cfg: TcpConfig,
    pub(crate) setup: Setup,
    pub(crate) flows: Flows,
    pub(crate) app: App,
    /// The application's payload buffers ([`BUFFERS`]).
    pub(crate) payload: Vec<HeapShared>,
    /// Received segments the application keeps (IX flow control: the window stays
    /// closed by their bytes until they are dropped).
    pub(crate) held: VecDeque<RxSeg<HeapRx>>,
    pub(crate) hold: bool,
    pub(crate) muted: bool,
    /// Knocks are accepted at once (during set-up).
    pub(crate) auto_accept: bool,
    /// Ports listened on, as the harness expects them.
    pub(crate) listening: Vec<u16>,
    pub(crate) seen: Seen,
}

impl World {
    /// Plays `actions` (at most [`MAX_ACTIONS`]) against an engine made and
    /// connected as `setup` says, then tears everything down and checks nothing
    /// leaked.
    pub fn run(setup: &Setup, actions: &[Action]) {
        let mut w = World::new(setup);
        for a in actions.iter().take(MAX_ACTIONS) {
            w.step(a);
        }
        w.finish();
    }

    /// A fresh engine made as `setup` says, listening on [`LISTEN_PORT`], with the
    /// set-up's connections established and accepted.
    pub fn new(setup: &Setup) -> World {
        let pool = HeapPool::new(setup.pool_blocks(), BLOCK_SIZE);
        let nic = match setup.ring_depth() {
            Some(d) => FakeNic::with_ring_depth(OUR_MAC, pool.clone(), d),
            None => FakeNic::new(OUR_MAC, pool.clone()),
        };
        let clock = VirtualClock::new();
        let icfg = Config {
            tx_backlog: setup.tx_backlog(),
            ..Config::new(OUR_IP, PREFIX_LEN)
        };
        let mut iface = Interface::new(nic, clock.clone(), icfg).expect("valid interface");
        for (i, &ip) in PEER_IPS.iter().enumerate().take(RESOLVED_PEERS) {
            assert!(iface.arp_insert_static(ip, peer_mac(i)));
        }
        let cfg = setup.config();
        let mut tcp = TcpEngine::new(cfg.clone()).expect("valid engine configuration");
        tcp.listen(LISTEN_PORT).expect("listen");
        let payload = (0..BUFFERS.len())
            .map(|k| {
                let bytes: Vec<u8> = (0..BUFFERS[k]).map(|i| buffer_byte(k, i)).collect();
                pool.shared_from(&bytes).expect("a block for the payload")
            })
            .collect();
        let mut w = World {
            iface,
            tcp,
            clock,
            pool,
            cfg,
            setup: *setup,
            flows: Flows::default(),
            app: App::default(),
            payload,
            held: VecDeque::new(),
            hold: false,
            muted: false,
            auto_accept: true,
            listening: vec![LISTEN_PORT],
            seen: Seen::default(),
        };
        w.poll();
        w.open_connections();
        w.auto_accept = false;
        w.check();
        w
    }

    /// Establishes the set-up's connections, one at a time (so neither the SYN
    /// queue nor the accept backlog fills): passive ones from peers to
    /// [`LISTEN_PORT`], then active ones to the peers' [`PEER_LISTEN_PORT`].
    fn open_connections(&mut self) {
        let passive = self.setup.passive_count();
        for k in 0..passive {
            let tuple = Tuple {
                peer: k % RESOLVED_PEERS,
                remote_port: PEER_PORT_BASE + k as u16,
                local_port: LISTEN_PORT,
            };
            let f = self.flows.index(tuple);
            self.flows.get_mut(tuple).peer_nxt = Seq(self.setup.isn(k));
            self.inject(&self.handshake_seg(f, FlagChoice::Syn));
            self.poll();
            self.inject(&self.handshake_seg(f, FlagChoice::Ack));
            self.poll();
        }
        for j in 0..self.setup.active_count() {
            let peer = j % RESOLVED_PEERS;
            let remote = SocketAddrV4::new(PEER_IPS[peer], PEER_LISTEN_PORT + j as u16);
            let id = self.tcp.connect(remote, None).expect("connect at set-up");
            let tuple = self.connected(id, remote);
            let isn = self.setup.isn(passive + j);
            self.flows.get_mut(tuple).peer_nxt = Seq(isn);
            let i = self.app.conns.len() - 1;
            self.app.conns[i].rx_next = Some(Seq(isn).add(1));
            self.app.conns[i].rx_exact = true;
            self.poll();
            let f = self.flows.index(tuple);
            self.inject(&self.handshake_seg(f, FlagChoice::SynAck));
            self.poll();
        }
        for c in &self.app.conns {
            let ok = c.phase == Phase::Open && (!c.active || c.connected);
            assert!(ok, "set-up connection {} did not open: {c:?}", c.id);
        }
    }

    /// Records an active open the application just made; its tuple.
    pub(crate) fn connected(&mut self, id: ix_tcp::ConnId, remote: SocketAddrV4) -> Tuple {
        let info = self.tcp.conn_info(id).expect("a new connection is visible");
        assert_eq!(info.remote, remote, "{id}'s remote address");
        let peer = peer_index(*remote.ip()).expect("connected to a peer");
        let tuple = Tuple {
            peer,
            remote_port: remote.port(),
            local_port: info.local.port(),
        };
        let i = self.app.add(id, tuple, true, None);
        let f = self.flows.get_mut(tuple);
        f.app_connected = true;
        f.conn = Some(i);
        tuple
    }

    /// Performs one action, then (but for [`Action::Queue`]) polls, collects and
    /// checks what was transmitted, drains events, and checks every invariant.
    pub fn step(&mut self, action: &Action) {
        crate::trace_line!("@{:?} {action:?}", self.clock.now());
        match action {
            Action::Seg(s) => self.inject(s),
            Action::Queue(s) => {
                self.inject(s);
                return;
            }
            Action::Burst { seg, count } => {
                for _ in 0..*count {
                    self.inject(seg);
                }
            }
            Action::Advance(t) => self.clock.advance(t.0),
            Action::Poll => {}
            Action::Send { conn, len } => self.send(*conn, len.bytes()),
            Action::SendAll(len) => {
                for i in 0..self.app.conns.len() {
                    self.send_on(i, len.bytes());
                }
            }
            Action::Close(c) => self.close(*c),
            Action::Abort(c) => self.abort(*c),
            Action::Accept(c) => self.accept(*c),
            Action::Reject(c) => self.reject(*c),
            Action::Connect { peer, port } => {
                let ip = PEER_IPS[usize::from(*peer) % PEER_IPS.len()];
                self.connect(SocketAddrV4::new(ip, port.resolve()));
            }
            Action::Listen(p) => self.listen(p.resolve()),
            Action::Unlisten(p) => self.unlisten(p.resolve()),
            Action::Hold(on) => self.hold = *on,
            Action::Release(n) => {
                let n = usize::from(*n).min(self.held.len());
                self.held.drain(..n);
            }
            Action::Mute(on) => self.muted = *on,
        }
        self.poll();
        self.check();
    }

    /// Puts the segment `spec` describes on the NIC's receive ring (a full ring or
    /// pool drops it, as a real link would).
    pub fn inject(&mut self, spec: &SegSpec) {
        // Frames the engine handed to the interface that the wire has not shown
        // yet, each at most an MSS of data and a FIN.
        let frames = self.iface.tx_queued() + self.iface.arp_pending();
        let unseen = u32::try_from(frames)
            .unwrap_or(u32::MAX)
            .saturating_mul(u32::from(self.cfg.mss) + 1);
        let (peer, seg) = self.flows.resolve(spec, &self.setup.peer, unseen);
        crate::trace_line!(
            "  in  {}:{} -> {} seq {} ack {} flags {:#04x} win {} opts {:?} len {}",
            PEER_IPS[peer],
            seg.sport,
            seg.dport,
            seg.seq,
            seg.ack,
            seg.flags,
            seg.window,
            seg.options,
            seg.payload.len()
        );
        let frame = frame_from(peer, &seg.bytes(PEER_IPS[peer]));
        let _ = self.iface.nic_mut().inject(&frame);
    }

    /// Polls the interface and engine once, checks every transmitted frame, and
    /// (unless muted) drains every event.
    pub fn poll(&mut self) {
        self.iface.poll(&mut self.tcp);
        self.collect();
        if !self.muted {
            self.drain();
        }
    }

    /// Takes every transmitted frame off the NIC and checks it.
    fn collect(&mut self) {
        let mtu = self.iface.config().mtu;
        while let Some(f) = self.iface.nic_mut().pop_sent() {
            match check::frame(&f, mtu) {
                Ok(Sent::Tcp(out)) => self.on_segment(&out),
                Ok(Sent::ArpRequest) => {}
                Err(e) => panic!("transmitted frame: {e}\n{f:02x?}"),
            }
        }
    }

    /// Takes every event, checks it and records it.
    fn drain(&mut self) {
        while let Some(ev) = self.tcp.poll_event() {
            crate::trace_line!("  event {}", describe(&ev));
            if let TcpEvent::Knock {
                conn,
                local_port,
                remote,
            } = ev
            {
                self.knock(conn, local_port, remote);
                continue;
            }
            self.app.event(&ev);
            if let TcpEvent::Recv { seg, .. } = ev {
                if self.hold {
                    self.held.push_back(seg);
                }
            }
        }
    }

    /// A new passive connection.
    fn knock(&mut self, id: ix_tcp::ConnId, local_port: u16, remote: SocketAddrV4) {
        assert!(
            self.listening.contains(&local_port),
            "Knock on {local_port}, not listening"
        );
        let peer = peer_index(*remote.ip()).unwrap_or_else(|| panic!("Knock from {remote}"));
        let tuple = Tuple {
            peer,
            remote_port: remote.port(),
            local_port,
        };
        let flow = self.flows.get(tuple);
        let rx_next = flow.and_then(|f| f.synack_ack);
        let iss = flow.and_then(|f| f.eng_iss);
        let i = self.app.add(id, tuple, false, rx_next);
        self.app.conns[i].iss = iss;
        self.flows.get_mut(tuple).conn = Some(i);
        if self.auto_accept {
            self.tcp.accept(id, i as u64).expect("accept at set-up");
            self.app.conns[i].phase = Phase::Open;
        }
    }

    /// Tears everything down: drains, stops listening, aborts every connection,
    /// drops held segments, runs time far ahead; then checks nothing is left and
    /// every buffer came back.
    pub fn finish(mut self) {
        self.muted = false;
        self.hold = false;
        self.poll();
        for p in self.listening.clone() {
            self.unlisten(p);
        }
        for i in 0..self.app.conns.len() {
            if self.app.conns[i].phase != Phase::Gone {
                let id = self.app.conns[i].id;
                assert_eq!(self.tcp.abort(id), Ok(()), "abort {id} at the end");
                self.app.conns[i].phase = Phase::Gone;
            }
        }
        self.held.clear();
        // TIME_WAIT (2 MSL), ARP give-up (3 s) and every timer are far shorter.
        for _ in 0..4 {
            self.clock.advance(Duration::from_secs(30));
            self.settle();
        }
        self.check();
        assert_eq!(self.tcp.conn_count(), 0, "connections left");
        assert_eq!(self.tcp.time_wait_count(), 0, "TIME_WAIT entries left");
        assert_eq!(self.iface.tx_queued(), 0, "frames never left");
        assert_eq!(self.iface.arp_pending(), 0, "frames wait for ARP forever");
        for b in &self.payload {
            assert_eq!(b.ref_count(), 1, "the payload is still referenced");
        }
        let own = self.payload.len() as u64;
        assert_eq!(self.pool.stats().in_use(), own, "buffers leaked");
        let pool = self.pool.clone();
        drop(self);
        assert_eq!(pool.stats().in_use(), 0, "buffers leaked by drop");
    }

    /// Polls until nothing is left to receive or transmit (bounded).
    fn settle(&mut self) {
        for _ in 0..64 {
            self.poll();
            if self.iface.nic().rx_pending() == 0 && self.iface.tx_queued() == 0 {
                return;
            }
        }
    }
}

/// An event, briefly (a `Recv` by its length, not its bytes).
fn describe(ev: &TcpEvent<HeapRx>) -> String {
    match ev {
        TcpEvent::Recv { conn, seg, .. } => format!("Recv {conn} {} bytes", seg.len()),
        other => format!("{other:?}"),
    }
}

impl World {
    /// A set-up handshake segment on flow `f`: in sequence, acknowledging
    /// everything, with TSopt (the clock a tick on, echoing the engine) if the
    /// set-up has timestamps on.
    fn handshake_seg(&self, f: usize, flags: FlagChoice) -> SegSpec {
        let ts = if self.setup.features.timestamps {
            TsChoice::Put {
                val: TsVal::Tick(1),
                ecr: TsEcr::Echo,
            }
        } else {
            TsChoice::Absent
        };
        SegSpec {
            target: Target::Flow(f as u8),
            flags,
            seq: SeqChoice::Next,
            ack: AckChoice::All,
            window: WindowChoice::Full,
            options: Options::default(),
            payload: PayloadLen::Empty,
            offset: OffsetChoice::Exact,
            checksum: Checksum::Valid,
            ts,
        }
    }
}
