//! Two elastic threads over a fake link on a virtual clock: a server running a
//! libix application and a request/response client.
#![allow(dead_code)]

use ix_fakenic::{FakeLink, FakeNic};
use ix_nic::heap::{HeapPool, HeapShared};
use ix_nic::{BufPool, MutBuf, RxSeg, VirtualClock};
use ix_runtime::{ElasticThread, Parts, RuntimeConfig};
use ix_tcp::TcpConfig;
use libix::ev::{App, ConnCx, Cx};
use libix::{Calls, ConnId, Event, EventBatch, Handler};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const PORT: u16 = 80;
pub const REQ: usize = 64;
pub const RESP: usize = 1400;

/// Answers every request of `REQ` bytes with one preallocated `RESP`-byte buffer, by
/// reference; panics if a request starts with `b'!'`.
#[derive(Default)]
pub struct Server {
    pub resp: Option<HeapShared>,
    pub dead: u64,
}

pub struct ServerConn {
    got: usize,
}

impl App<HeapPool> for Server {
    type Conn = ServerConn;

    fn start(&mut self, cx: &mut Cx<'_, '_, HeapPool, ServerConn>) {
        cx.listen(PORT).unwrap();
        self.resp = Some(cx.pool().shared_from(&[0x22; RESP]).unwrap());
    }

    fn knock(&mut self, _: u16, _: SocketAddrV4) -> Option<ServerConn> {
        Some(ServerConn { got: 0 })
    }

    fn recv(
        &mut self,
        c: &mut ConnCx<'_, '_, HeapPool>,
        st: &mut ServerConn,
        seg: RxSeg<ix_nic::heap::HeapRx>,
    ) {
        if seg.first() == Some(&b'!') {
            panic!("poisoned request");
        }
        st.got += seg.len();
        while st.got >= REQ {
            st.got -= REQ;
            let resp = self.resp.as_ref().unwrap();
            c.send(resp, 0..RESP).unwrap();
        }
    }

    fn dead(&mut self, _: ServerConn, _: libix::CloseReason) {
        self.dead += 1;
    }
}

/// Opens `conns` connections and keeps one request outstanding on each.
pub struct Client {
    pub conns: usize,
    pub req: Option<HeapShared>,
    pub poison: Option<HeapShared>,
    pub got: Vec<usize>,
    pub rounds: u64,
    pub connected: Vec<ConnId>,
    pub dead: Vec<(ConnId, libix::CloseReason)>,
    pub failed_calls: u64,
}

impl Client {
    pub fn new(conns: usize) -> Self {
        Client {
            conns,
            req: None,
            poison: None,
            got: vec![0; 1024],
            rounds: 0,
            connected: Vec::with_capacity(conns),
            dead: Vec::with_capacity(conns),
            failed_calls: 0,
        }
    }
}

impl Handler<HeapPool> for Client {
    fn start(&mut self, calls: &mut Calls<'_, HeapPool>) {
        let mut m = calls.pool().alloc_mut().unwrap();
        m.extend_from_slice(&[0x11; REQ]);
        self.req = Some(m.freeze());
        let mut p = calls.pool().alloc_mut().unwrap();
        p.extend_from_slice(&[b'!'; REQ]);
        self.poison = Some(p.freeze());
        for i in 0..self.conns {
            calls
                .connect(SocketAddrV4::new(SERVER, PORT), i as u64)
                .unwrap();
        }
    }

    fn events(&mut self, batch: &mut EventBatch<HeapPool>, calls: &mut Calls<'_, HeapPool>) {
        self.failed_calls += batch
            .completions()
            .iter()
            .filter(|c| c.error().is_some())
            .count() as u64;
        for ev in batch.drain() {
            match ev {
                Event::Connected { conn, .. } => {
                    self.connected.push(conn);
                    calls
                        .send(conn, self.req.as_ref().unwrap(), 0..REQ)
                        .unwrap();
                }
                Event::Recv { conn, seg, .. } => {
                    let g = &mut self.got[conn.index()];
                    *g += seg.len();
                    if *g >= RESP {
                        *g -= RESP;
                        self.rounds += 1;
                        calls
                            .send(conn, self.req.as_ref().unwrap(), 0..REQ)
                            .unwrap();
                    }
                }
                Event::Dead { conn, reason, .. } => self.dead.push((conn, reason)),
                _ => {}
            }
        }
    }
}

pub type Thread<H> = ElasticThread<FakeNic, VirtualClock, H>;

pub struct Pair {
    pub server: Thread<libix::ev::Ev<HeapPool, Server>>,
    pub client: Thread<Client>,
    pub clock: VirtualClock,
}

pub fn tcp_cfg() -> TcpConfig {
    TcpConfig {
        secret: Some([7; 16]),
        max_conns: 64,
        time_wait_max: 64,
        ..TcpConfig::default()
    }
}

pub fn pair(conns: usize, rt: RuntimeConfig) -> Pair {
    pair_with(conns, rt.clone(), rt)
}

pub fn pair_with(conns: usize, rt: RuntimeConfig, client_rt: RuntimeConfig) -> Pair {
    let (a, b) = FakeLink::pair([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], 1024, 2048);
    let clock = VirtualClock::new();
    let server = libix::ev::Ev::new(
        Server::default(),
        libix::ev::EvConfig {
            max_conns: 64,
            ..Default::default()
        },
    );
    let mut server = ElasticThread::new(
        Parts::new(
            a,
            clock.clone(),
            ix_net::Config::new(SERVER, 24),
            tcp_cfg(),
            server,
        ),
        rt.clone(),
    )
    .unwrap();
    let mut client = ElasticThread::new(
        Parts::new(
            b,
            clock.clone(),
            ix_net::Config::new(CLIENT, 24),
            tcp_cfg(),
            Client::new(conns),
        ),
        client_rt,
    )
    .unwrap();
    // Skip ARP: the first exchange would otherwise wait for resolution.
    server
        .transport_mut()
        .iface_mut()
        .arp_insert_static(CLIENT, [2, 0, 0, 0, 0, 2]);
    client
        .transport_mut()
        .iface_mut()
        .arp_insert_static(SERVER, [2, 0, 0, 0, 0, 1]);
    Pair {
        server,
        client,
        clock,
    }
}

impl Pair {
    pub fn run(&mut self, iterations: usize) {
        for _ in 0..iterations {
            self.server.iterate();
            self.client.iterate();
            self.clock.advance(Duration::from_micros(100));
        }
    }
}
