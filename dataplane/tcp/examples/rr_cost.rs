//! A fixed, deterministic request/response workload for instruction counting.
//!
//! Two engines (client and server) over a `FakeLink`, both driven from this one
//! thread on a `VirtualClock`, with fixed secrets: the same binary does exactly the
//! same work on every run, so an instruction count under `valgrind --tool=callgrind`
//! is reproducible to the instruction. One connection; the client sends a 64-byte
//! request, the server answers each with a 64-byte response, one request
//! outstanding; `--warmup` round trips first (tables, queues and caches warm), then
//! `--measure` round trips inside [`measured`], the only function `ci/cost-check.sh`
//! collects instructions in (`--toggle-collect`). The figure covers both stacks, both
//! interfaces and the link's copy of each frame into the receiver's pool.
//!
//! `cargo run --release -p ix-tcp --example rr_cost -- [--warmup N] [--measure N]
//! [--timestamps]` runs it natively and prints what it did; `ci/cost-check.sh` is
//! the real user (timestamps off, the default). `--timestamps` turns on
//! `TcpConfig::timestamps` at both ends, to price them by hand with the same
//! valgrind command.

use ix_fakenic::{FakeLink, FakeNic};
use ix_net::{Config, Interface};
use ix_nic::heap::{HeapPool, HeapShared};
use ix_nic::{Nic, VirtualClock};
use ix_tcp::{ConnId, Counter, TcpConfig, TcpEngine, TcpEvent};
use std::error::Error;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];
const PORT: u16 = 80;
/// Request and response size.
const MSG: usize = 64;
/// Virtual time per poll round (both ends polled once): the timer wheel turns as
/// it would under load, deterministically.
const TICK: Duration = Duration::from_micros(5);
/// Poll rounds allowed per round trip before the run is declared stuck.
const MAX_ROUNDS_PER_RT: u64 = 16;

type Iface = Interface<FakeNic, VirtualClock>;
type Engine = TcpEngine<HeapPool>;

/// Both ends of the workload.
struct Rr {
    clock: VirtualClock,
    client: Iface,
    server: Iface,
    tc: Engine,
    ts: Engine,
    conn: ConnId,
    req: HeapShared,
    resp: HeapShared,
}

/// Engine configuration: defaults, but a fixed secret (ISNs and the flow-table
/// seed are then the same on every run), and timestamps as asked.
fn config(secret: u8, timestamps: bool) -> TcpConfig {
    TcpConfig {
        secret: Some([secret; 16]),
        max_conns: 16,
        timestamps,
        ..TcpConfig::default()
    }
}

/// Two interfaces on one link, two engines, one connection established.
fn setup(timestamps: bool) -> Result<Rr, Box<dyn Error>> {
    let (na, nb) = FakeLink::pair(MAC_A, MAC_B, 1024, 2048);
    let clock = VirtualClock::new();
    let mut client = Interface::new(na, clock.clone(), Config::new(A, 24))?;
    let mut server = Interface::new(nb, clock.clone(), Config::new(B, 24))?;
    client.arp_insert_static(B, MAC_B);
    server.arp_insert_static(A, MAC_A);
    let mut tc = Engine::new(config(1, timestamps))?;
    let mut ts = Engine::new(config(2, timestamps))?;
    ts.listen(PORT)?;
    let conn = tc.connect(SocketAddrV4::new(B, PORT), None)?;
    let req = client.nic().pool().shared_from(&[b'q'; MSG])?;
    let resp = server.nic().pool().shared_from(&[b'r'; MSG])?;
    let (mut connected, mut accepted) = (false, false);
    for _ in 0..100 {
        client.poll(&mut tc);
        while let Some(ev) = tc.poll_event() {
            connected |= matches!(ev, TcpEvent::Connected { .. });
        }
        server.poll(&mut ts);
        while let Some(ev) = ts.poll_event() {
            if let TcpEvent::Knock { conn, .. } = ev {
                ts.accept(conn, 0)?;
                accepted = true;
            }
        }
        clock.advance(TICK);
        if connected && accepted {
            return Ok(Rr {
                clock,
                client,
                server,
                tc,
                ts,
                conn,
                req,
                resp,
            });
        }
    }
    Err("handshake did not complete".into())
}

impl Rr {
    /// Completes `n` round trips: request out, response back, next request.
    fn run(&mut self, n: u64) -> Result<(), Box<dyn Error>> {
        if n == 0 {
            return Ok(());
        }
        self.request()?;
        let mut done = 0;
        let mut rounds = 0;
        while done < n {
            rounds += 1;
            if rounds > n * MAX_ROUNDS_PER_RT {
                return Err(format!("stuck after {done} of {n} round trips").into());
            }
            self.client.poll(&mut self.tc);
            while let Some(ev) = self.tc.poll_event() {
                if let TcpEvent::Recv { seg, .. } = ev {
                    if seg.len() != MSG {
                        return Err(format!("{}-byte response", seg.len()).into());
                    }
                    drop(seg);
                    done += 1;
                    if done < n {
                        self.request()?;
                    }
                }
            }
            self.server.poll(&mut self.ts);
            while let Some(ev) = self.ts.poll_event() {
                if let TcpEvent::Recv { conn, seg, .. } = ev {
                    if seg.len() != MSG {
                        return Err(format!("{}-byte request", seg.len()).into());
                    }
                    drop(seg);
                    if self.ts.send(conn, &self.resp, 0..MSG)? != MSG {
                        return Err("server send buffer full".into());
                    }
                }
            }
            self.clock.advance(TICK);
        }
        Ok(())
    }

    /// Queues one request.
    fn request(&mut self) -> Result<(), Box<dyn Error>> {
        if self.tc.send(self.conn, &self.req, 0..MSG)? != MSG {
            return Err("client send buffer full".into());
        }
        Ok(())
    }
}

/// The measured round trips: `ci/cost-check.sh` counts instructions only while
/// this function runs (so it must stay a real function: never inlined).
#[inline(never)]
fn measured(rr: &mut Rr, n: u64) -> Result<(), Box<dyn Error>> {
    rr.run(n)
}

/// The value after `flag` in the arguments, or `default`.
fn arg(flag: &str, default: u64) -> Result<u64, Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == flag) {
        Some(i) => Ok(args
            .get(i + 1)
            .ok_or(format!("{flag} needs a value"))?
            .parse()?),
        None => Ok(default),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let warmup = arg("--warmup", 2_000)?;
    let n = arg("--measure", 20_000)?;
    let timestamps = std::env::args().any(|a| a == "--timestamps");
    let mut rr = setup(timestamps)?;
    if rr.tc.conn_info(rr.conn)?.timestamps != timestamps {
        return Err("timestamps not negotiated as asked".into());
    }
    rr.run(warmup)?;
    measured(&mut rr, n)?;
    let (c, s) = (rr.tc.stats(), rr.ts.stats());
    let ts = if timestamps { "on" } else { "off" };
    let retransmits = c.get(Counter::Retransmits) + s.get(Counter::Retransmits);
    if retransmits != 0 {
        return Err(format!("{retransmits} retransmissions: not the workload measured").into());
    }
    println!(
        "rr_cost: {warmup} warm-up + {n} measured {MSG}-byte round trips (timestamps {ts}); \
         segments out: client {}, server {}; timestamp RTT samples: {}",
        c.get(Counter::SegsOut),
        s.get(Counter::SegsOut),
        c.get(Counter::TsRttSamples) + s.get(Counter::TsRttSamples)
    );
    Ok(())
}
