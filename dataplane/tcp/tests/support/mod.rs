//! Test harness: two hosts (interface + TCP engine + a scripted application) over a
//! fake link, on a virtual clock; and a raw peer for packet-level tests.
#![allow(dead_code)]

use ix_fakenic::{FakeLink, FakeNic};
use ix_fault::{FaultPlan, FaultyNic};
use ix_net::{Config, Interface};
use ix_nic::heap::{HeapPool, HeapRx, HeapShared};
use ix_nic::{BufPool, Clock, Nic, RxSeg, VirtualClock};
use ix_tcp::header::{Flags, Header};
use ix_tcp::options::TcpOptions;
use ix_tcp::seq::Seq;
use ix_tcp::{CloseReason, ConnId, TcpConfig, TcpEngine, TcpEvent};
use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

pub const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
pub const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];

/// A deterministic configuration for tests.
pub fn cfg() -> TcpConfig {
    TcpConfig {
        secret: Some([9; 16]),
        max_conns: 64,
        time_wait_max: 64,
        ..TcpConfig::default()
    }
}

/// What the application saw on one connection.
#[derive(Debug, Default, Clone)]
pub struct ConnLog {
    pub data: Vec<u8>,
    pub recv_events: usize,
    pub connected: bool,
    pub peer_closed: bool,
    pub dead: Option<CloseReason>,
    pub connect_failed: Option<CloseReason>,
    pub acked: usize,
    pub order: Vec<&'static str>,
}

/// A scripted application.
#[derive(Debug, Default)]
pub struct App {
    pub auto_accept: bool,
    pub reject: bool,
    /// Keep received segments instead of dropping them (window stays closed).
    pub hold: bool,
    pub held: Vec<RxSeg<HeapRx>>,
    pub knocks: Vec<ConnId>,
    pub log: BTreeMap<ConnId, ConnLog>,
    /// Payload waiting to be accepted by `send`, per connection.
    pub outbox: BTreeMap<ConnId, VecDeque<(HeapShared, usize, usize)>>,
    /// Close after the outbox drains.
    pub close_when_sent: BTreeMap<ConnId, bool>,
    /// Close when the peer closes.
    pub close_on_peer_close: bool,
}

pub struct Host<N: Nic<Pool = HeapPool>> {
    pub iface: Interface<N, VirtualClock>,
    pub tcp: TcpEngine<HeapPool>,
    pub app: App,
}

impl<N: Nic<Pool = HeapPool>> Host<N> {
    pub fn new(nic: N, clock: VirtualClock, addr: Ipv4Addr, cfg: TcpConfig) -> Self {
        let iface = Interface::new(nic, clock, Config::new(addr, 24)).unwrap();
        Host {
            iface,
            tcp: TcpEngine::new(cfg).unwrap(),
            app: App {
                auto_accept: true,
                ..App::default()
            },
        }
    }

    pub fn pool(&self) -> HeapPool {
        self.iface.nic().pool().clone()
    }

    /// One run-to-completion round: poll the interface (and engine), then the app.
    pub fn poll(&mut self) {
        self.iface.poll(&mut self.tcp);
        self.handle_events();
        self.pump();
    }

    pub fn log(&mut self, c: ConnId) -> &mut ConnLog {
        self.app.log.entry(c).or_default()
    }

    pub fn handle_events(&mut self) {
        while let Some(ev) = self.tcp.poll_event() {
            match ev {
                TcpEvent::Knock { conn, .. } => {
                    self.app.knocks.push(conn);
                    if self.app.reject {
                        self.tcp.reject(conn).unwrap();
                    } else if self.app.auto_accept {
                        self.tcp.accept(conn, conn.index() as u64 + 1000).unwrap();
                        self.log(conn).order.push("knock");
                    }
                }
                TcpEvent::Connected { conn, .. } => {
                    let l = self.log(conn);
                    l.connected = true;
                    l.order.push("connected");
                }
                TcpEvent::ConnectFailed { conn, reason } => {
                    let l = self.log(conn);
                    l.connect_failed = Some(reason);
                    l.order.push("connect_failed");
                }
                TcpEvent::Recv { conn, seg, .. } => {
                    let l = self.app.log.entry(conn).or_default();
                    l.data.extend_from_slice(&seg);
                    l.recv_events += 1;
                    if l.order.last() != Some(&"recv") {
                        l.order.push("recv");
                    }
                    if self.app.hold {
                        self.app.held.push(seg);
                    }
                }
                TcpEvent::Sent {
                    conn, acked_bytes, ..
                } => {
                    self.log(conn).acked += acked_bytes;
                }
                TcpEvent::PeerClosed { conn, .. } => {
                    let l = self.log(conn);
                    l.peer_closed = true;
                    l.order.push("peer_closed");
                    if self.app.close_on_peer_close {
                        let _ = self.tcp.close(conn);
                    }
                }
                TcpEvent::Dead { conn, reason, .. } => {
                    let l = self.log(conn);
                    l.dead = Some(reason);
                    l.order.push("dead");
                }
            }
        }
    }

    /// Queues `bytes` to send on `conn` (copied into pool buffers: the test's own
    /// buffers, like an application's).
    pub fn queue(&mut self, conn: ConnId, bytes: &[u8]) {
        let pool = self.pool();
        let chunk = pool.buf_capacity();
        let q = self.app.outbox.entry(conn).or_default();
        for c in bytes.chunks(chunk) {
            let b = pool.shared_from(c).unwrap();
            q.push_back((b, 0, c.len()));
        }
        self.pump();
    }

    /// Offers queued payload to the engine as far as it takes it.
    pub fn pump(&mut self) {
        let conns: Vec<ConnId> = self.app.outbox.keys().copied().collect();
        for c in conns {
            let q = self.app.outbox.get_mut(&c).unwrap();
            while let Some((b, off, end)) = q.front_mut() {
                match self.tcp.send(c, b, *off..*end) {
                    Ok(n) => {
                        *off += n;
                        if *off == *end {
                            q.pop_front();
                        } else {
                            break;
                        }
                    }
                    Err(_) => {
                        q.clear();
                        break;
                    }
                }
            }
            if q.is_empty() {
                self.app.outbox.remove(&c);
            }
        }
        let closing: Vec<ConnId> = self.app.close_when_sent.keys().copied().collect();
        for c in closing {
            // A close in SYN_SENT would drop the connection (RFC 9293): wait.
            if !self.app.outbox.contains_key(&c) && self.tcp.state(c) != Ok(ix_tcp::State::SynSent)
            {
                self.app.close_when_sent.remove(&c);
                let _ = self.tcp.close(c);
            }
        }
    }
}

/// Two hosts on one link and one clock.
pub struct Net<N: Nic<Pool = HeapPool>> {
    pub clock: VirtualClock,
    pub a: Host<N>,
    pub b: Host<N>,
}

impl<N: Nic<Pool = HeapPool>> Net<N> {
    pub fn step(&mut self) {
        self.a.poll();
        self.b.poll();
    }

    pub fn now_ms(&self) -> u64 {
        self.clock.now().as_millis()
    }

    /// Steps, advancing the clock by `dt` between steps, until `cond` holds or
    /// `limit` of virtual time passed; returns whether `cond` held.
    pub fn run_until(
        &mut self,
        limit: Duration,
        dt: Duration,
        mut cond: impl FnMut(&mut Self) -> bool,
    ) -> bool {
        let end = self.clock.now() + limit;
        loop {
            self.step();
            if cond(self) {
                return true;
            }
            if self.clock.now() >= end {
                return false;
            }
            self.clock.advance(dt);
        }
    }

    /// Steps for `d` of virtual time in increments of `dt`.
    pub fn run_for(&mut self, d: Duration, dt: Duration) {
        self.run_until(d, dt, |_| false);
    }

    /// Connects A to B's `port`; returns (A's id, B's id) once both are open.
    pub fn open(&mut self, port: u16) -> (ConnId, ConnId) {
        let _ = self.b.tcp.listen(port);
        let ca = self
            .a
            .tcp
            .connect(SocketAddrV4::new(B, port), None)
            .unwrap();
        let ok = self.run_until(Duration::from_secs(5), Duration::from_micros(100), |n| {
            n.a.app.log.get(&ca).is_some_and(|l| l.connected) && !n.b.app.knocks.is_empty()
        });
        assert!(ok, "handshake did not complete");
        let cb = *self.b.app.knocks.last().unwrap();
        (ca, cb)
    }
}

pub fn pair_with(cfg_a: TcpConfig, cfg_b: TcpConfig) -> Net<FakeNic> {
    let clock = VirtualClock::new();
    let (na, nb) = FakeLink::pair(MAC_A, MAC_B, 16384, 2048);
    let mut a = Host::new(na, clock.clone(), A, cfg_a);
    let mut b = Host::new(nb, clock.clone(), B, cfg_b);
    a.iface.arp_insert_static(B, MAC_B);
    b.iface.arp_insert_static(A, MAC_A);
    Net { clock, a, b }
}

pub fn pair() -> Net<FakeNic> {
    pair_with(cfg(), cfg())
}

pub type Faulty = FaultyNic<FakeNic, VirtualClock>;

pub fn faulty_pair(
    plan_a: FaultPlan,
    plan_b: FaultPlan,
    cfg_a: TcpConfig,
    cfg_b: TcpConfig,
) -> Net<Faulty> {
    let clock = VirtualClock::new();
    let (na, nb) = FakeLink::pair(MAC_A, MAC_B, 16384, 2048);
    let na = FaultyNic::new(na, clock.clone(), &plan_a).unwrap();
    let nb = FaultyNic::new(nb, clock.clone(), &plan_b).unwrap();
    let mut a = Host::new(na, clock.clone(), A, cfg_a);
    let mut b = Host::new(nb, clock.clone(), B, cfg_b);
    a.iface.arp_insert_static(B, MAC_B);
    b.iface.arp_insert_static(A, MAC_A);
    Net { clock, a, b }
}

/// Pseudo-random bytes.
pub fn pattern(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

// ----- A raw peer: the test writes and reads segments itself -----

/// One engine on a standalone NIC; the test plays the peer at `B`.
pub struct Raw {
    pub clock: VirtualClock,
    pub host: Host<FakeNic>,
}

/// A segment the engine sent.
#[derive(Debug, Clone)]
pub struct Out {
    pub hdr: Header,
    pub payload: Vec<u8>,
}

impl Raw {
    pub fn new(cfg: TcpConfig) -> Raw {
        let clock = VirtualClock::new();
        let pool = HeapPool::new(4096, 2048);
        let nic = FakeNic::new(MAC_A, pool);
        let mut host = Host::new(nic, clock.clone(), A, cfg);
        host.iface.arp_insert_static(B, MAC_B);
        let mut r = Raw { clock, host };
        r.host.poll();
        r.sent(); // the gratuitous ARP
        r
    }

    /// Injects a segment from B:`sport` to A:`dport`.
    #[allow(clippy::too_many_arguments)]
    pub fn inject(
        &mut self,
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: Flags,
        window: u16,
        opts: TcpOptions,
        payload: &[u8],
    ) {
        let hdr = Header {
            src_port: sport,
            dst_port: dport,
            seq: Seq(seq),
            ack: Seq(ack),
            flags,
            window,
            header_len: 0,
            options: opts,
        };
        let frame = tcp_frame(B, A, &hdr, payload, MAC_B, MAC_A);
        self.host.iface.nic_mut().inject(&frame).unwrap();
    }

    /// Polls the host once and returns every TCP segment it sent.
    pub fn poll(&mut self) -> Vec<Out> {
        self.host.poll();
        self.sent()
    }

    pub fn sent(&mut self) -> Vec<Out> {
        let mut v = Vec::new();
        while let Some(f) = self.host.iface.nic_mut().pop_sent() {
            if f.len() < 34 || f[12..14] != [0x08, 0x00] || f[23] != 6 {
                continue;
            }
            let ihl = usize::from(f[14] & 0x0f) * 4;
            let l4 = &f[14 + ihl..];
            let hdr = Header::parse(l4).unwrap();
            // Verify the checksum the engine computed.
            let p = smoltcp::wire::TcpPacket::new_checked(l4).unwrap();
            assert!(p.verify_checksum(
                &smoltcp::wire::IpAddress::Ipv4(A),
                &smoltcp::wire::IpAddress::Ipv4(B)
            ));
            v.push(Out {
                payload: l4[hdr.header_len..].to_vec(),
                hdr,
            });
        }
        v
    }

    pub fn advance(&mut self, d: Duration) {
        self.clock.advance(d);
    }
}

/// An Ethernet + IPv4 + TCP frame (checksums filled).
pub fn tcp_frame(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    hdr: &Header,
    payload: &[u8],
    smac: [u8; 6],
    dmac: [u8; 6],
) -> Vec<u8> {
    let mut l4 = vec![0u8; hdr.emitted_len()];
    hdr.emit(&mut l4);
    l4.extend_from_slice(payload);
    {
        let mut p = smoltcp::wire::TcpPacket::new_unchecked(&mut l4[..]);
        p.fill_checksum(
            &smoltcp::wire::IpAddress::Ipv4(src),
            &smoltcp::wire::IpAddress::Ipv4(dst),
        );
    }
    let mut f = Vec::new();
    f.extend_from_slice(&dmac);
    f.extend_from_slice(&smac);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + l4.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = !smoltcp::wire::checksum::data(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&l4);
    f
}

pub fn ack() -> Flags {
    Flags::ACK
}

pub fn syn() -> Flags {
    Flags::SYN
}
