//! Frames per second through ix-net on one core over the fake NIC.
//!
//! `cargo bench -p ix-net --bench stack` (add `-- --quick` for a shorter run, and
//! any other word to run only the scenarios whose table or name contain it, e.g.
//! `-- synthetic udp-tx`).
//!
//! A traffic generator drives one end of a `FakeLink` directly through the `Nic`
//! trait (prebuilt template frames, replies received and dropped); the interface
//! under test owns the other end and is polled run-to-completion. Each scenario
//! moves bursts of 64 frames; a run is timed with `std::time::Instant`, and the
//! median of several runs is reported.
//!
//! Two tables. "FakeLink" is stack + ix-fakenic: the link copies every frame into
//! the receiver's pool (standing in for DMA), takes a mutex per burst and moves
//! frames through rings; its `nic-baseline` line runs the same frames across with no
//! stack at all. "Synthetic NIC" isolates the stack: a minimal `Nic` that makes each
//! received frame from a template (one pool block and one copy, as DMA would) and
//! drops what is transmitted; its `nic-baseline` is that NIC alone, so the stack's
//! cost per frame is roughly the difference.

use ix_fakenic::{FakeLink, FakeNic};
use ix_net::{Config, Interface};
use ix_nic::heap::{HeapFrame, HeapPool, HeapRx};
use ix_nic::{Batch, BufPool, MonotonicClock, Nic, SharedBuf, TxFrame, BURST};
use smoltcp::wire::{ArpOperation, ArpPacket, ArpRepr, EthernetAddress, IpAddress, UdpPacket};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

const DUT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const GEN: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const DUT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const GEN_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const PAYLOAD: usize = 64;

/// The generator's end of the link.
struct Gen {
    nic: FakeNic,
    tx: Batch<HeapFrame>,
    rx: Batch<HeapRx>,
}

impl Gen {
    /// Sends one burst of `template` copies; returns how many the link took.
    fn send(&mut self, template: &[u8], n: usize) -> usize {
        for _ in 0..n {
            let Ok(mut f) = self.nic.pool().alloc_frame() else {
                break;
            };
            if let Some(buf) = f.append(template.len()) {
                buf.copy_from_slice(template);
            }
            if self.tx.try_push(f).is_err() {
                break;
            }
        }
        let took = self.nic.tx_burst(&mut self.tx);
        self.tx.clear();
        took
    }

    /// Receives and drops everything waiting; returns how many frames.
    fn drain(&mut self) -> usize {
        let mut n = 0;
        loop {
            let got = self.nic.rx_burst(&mut self.rx);
            if got == 0 {
                return n;
            }
            n += got;
            for f in self.rx.drain(..) {
                black_box(f);
            }
        }
    }
}

fn eth(dst: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&GEN_MAC);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn ipv4(proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut ip = vec![0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&GEN.octets());
    ip[16..20].copy_from_slice(&DUT.octets());
    let c = !smoltcp::wire::checksum::data(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(l4);
    eth(DUT_MAC, 0x0800, &ip)
}

fn echo_request() -> Vec<u8> {
    let mut m = vec![8u8, 0, 0, 0, 0, 1, 0, 1];
    m.extend((0..PAYLOAD).map(|i| i as u8));
    let c = !smoltcp::wire::checksum::data(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    ipv4(1, &m)
}

fn udp_datagram(dport: u16) -> Vec<u8> {
    let mut m = vec![0u8; 8 + PAYLOAD];
    let mut p = UdpPacket::new_unchecked(&mut m[..]);
    p.set_src_port(5000);
    p.set_dst_port(dport);
    p.set_len((8 + PAYLOAD) as u16);
    p.payload_mut().fill(0x5a);
    p.fill_checksum(&IpAddress::Ipv4(GEN), &IpAddress::Ipv4(DUT));
    ipv4(17, &m)
}

fn arp_request() -> Vec<u8> {
    let mut body = [0u8; 28];
    ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: EthernetAddress(GEN_MAC),
        source_protocol_addr: GEN,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: DUT,
    }
    .emit(&mut ArpPacket::new_unchecked(&mut body[..]));
    eth([0xff; 6], 0x0806, &body)
}

/// A generator and an interface under test on two ends of a link.
fn setup() -> (Gen, Interface<FakeNic, MonotonicClock>) {
    // A working set near what is in flight (a few bursts): HeapPool's free list is
    // FIFO, so a large pool would make every frame land in a cache-cold block.
    let (gen_nic, dut_nic) = FakeLink::pair(GEN_MAC, DUT_MAC, 512, 2048);
    let mut cfg = Config::new(DUT, 24);
    cfg.udp_queue_depth = 1024;
    let mut dut = Interface::new(dut_nic, MonotonicClock::new(), cfg).expect("config");
    dut.arp_insert_static(GEN, GEN_MAC);
    let mut gen = Gen {
        nic: gen_nic,
        tx: Batch::new(),
        rx: Batch::new(),
    };
    dut.poll(&mut ());
    gen.drain();
    (gen, dut)
}

/// One timed run of `bursts` bursts; returns (frames through the stack, elapsed).
type Scenario = fn(usize) -> (u64, Duration);

/// Echo requests in, echo replies out (made in place).
fn icmp_echo(bursts: usize) -> (u64, Duration) {
    let (mut gen, mut dut) = setup();
    let t = echo_request();
    let start = Instant::now();
    let mut replies = 0;
    for _ in 0..bursts {
        gen.send(&t, BURST);
        dut.poll(&mut ());
        replies += gen.drain();
    }
    let el = start.elapsed();
    assert_eq!(replies, bursts * BURST, "every echo answered");
    (replies as u64, el)
}

/// Datagrams in, queued zero-copy to a bound port, drained by the application.
fn udp_rx(bursts: usize) -> (u64, Duration) {
    let (mut gen, mut dut) = setup();
    dut.udp_bind(7).expect("bind");
    let t = udp_datagram(7);
    let start = Instant::now();
    let mut got = 0u64;
    for _ in 0..bursts {
        gen.send(&t, BURST);
        dut.poll(&mut ());
        while let Some(d) = dut.udp_recv(7) {
            got += black_box(d.payload.len()) as u64 / PAYLOAD as u64;
        }
    }
    let el = start.elapsed();
    assert_eq!(got, (bursts * BURST) as u64);
    (got, el)
}

/// Datagrams out, payload attached by reference.
fn udp_tx(bursts: usize) -> (u64, Duration) {
    let (mut gen, mut dut) = setup();
    let value = dut
        .nic()
        .pool()
        .shared_from(&[0x5a; PAYLOAD])
        .expect("pool");
    let to = SocketAddrV4::new(GEN, 9);
    let start = Instant::now();
    let mut sent = 0;
    for _ in 0..bursts {
        // One transmit context per batch of sends (one clock read), as an
        // application's batched calls would be.
        let mut ctx = dut.tx();
        for _ in 0..BURST {
            let _ = ctx.udp_send(7, to, &value, 0..value.len());
        }
        dut.poll(&mut ());
        sent += gen.drain();
    }
    let el = start.elapsed();
    assert_eq!(sent, bursts * BURST);
    (sent as u64, el)
}

/// ARP requests for our address in, replies out (made in place).
fn arp_reply(bursts: usize) -> (u64, Duration) {
    let (mut gen, mut dut) = setup();
    let t = arp_request();
    let start = Instant::now();
    let mut replies = 0;
    for _ in 0..bursts {
        gen.send(&t, BURST);
        dut.poll(&mut ());
        replies += gen.drain();
    }
    let el = start.elapsed();
    assert_eq!(replies, bursts * BURST);
    (replies as u64, el)
}

/// The same echo frames across the link and back with no stack: a NIC that returns
/// each received burst as is. The fake NIC's own cost per frame.
fn nic_baseline(bursts: usize) -> (u64, Duration) {
    let (mut gen, dut) = setup();
    let mut dut_nic = dut.into_nic();
    let t = echo_request();
    let mut rx: Batch<HeapRx> = Batch::new();
    let mut tx: Batch<HeapFrame> = Batch::new();
    let start = Instant::now();
    let mut back = 0;
    for _ in 0..bursts {
        gen.send(&t, BURST);
        dut_nic.rx_burst(&mut rx);
        for f in rx.drain(..) {
            tx.push(dut_nic.pool().rx_into_frame(f));
        }
        dut_nic.tx_burst(&mut tx);
        back += gen.drain();
    }
    let el = start.elapsed();
    assert_eq!(back, bursts * BURST);
    (back as u64, el)
}

/// A NIC with no wire: receives `left` copies of a template, drops what is sent.
struct SynthNic {
    pool: HeapPool,
    template: Vec<u8>,
    left: usize,
    sent: usize,
}

impl Nic for SynthNic {
    type Pool = HeapPool;

    fn pool(&self) -> &HeapPool {
        &self.pool
    }

    fn rx_burst(&mut self, out: &mut Batch<HeapRx>) -> usize {
        let mut n = 0;
        while self.left > 0 && !out.is_full() {
            let Ok(rx) = self.pool.rx_from(&self.template) else {
                break;
            };
            out.push(rx);
            self.left -= 1;
            n += 1;
        }
        n
    }

    fn tx_burst(&mut self, frames: &mut Batch<HeapFrame>) -> usize {
        let n = frames.len();
        self.sent += n;
        frames.clear();
        n
    }

    fn mac(&self) -> [u8; 6] {
        DUT_MAC
    }
}

fn synth(template: Vec<u8>) -> Interface<SynthNic, MonotonicClock> {
    let nic = SynthNic {
        pool: HeapPool::new(512, 2048),
        template,
        left: 0,
        sent: 0,
    };
    let mut cfg = Config::new(DUT, 24);
    cfg.udp_queue_depth = 1024;
    let mut dut = Interface::new(nic, MonotonicClock::new(), cfg).expect("config");
    dut.arp_insert_static(GEN, GEN_MAC);
    dut.udp_bind(7).expect("bind");
    dut.poll(&mut ());
    dut
}

/// Runs `bursts` bursts of the template through `dut`; `app` runs after each poll.
fn synth_run(
    template: Vec<u8>,
    bursts: usize,
    mut app: impl FnMut(&mut Interface<SynthNic, MonotonicClock>) -> usize,
) -> (u64, Duration) {
    let mut dut = synth(template);
    dut.nic_mut().left = bursts * BURST;
    dut.nic_mut().sent = 0;
    let start = Instant::now();
    let mut done = 0;
    for _ in 0..bursts {
        dut.poll(&mut ());
        done += app(&mut dut);
    }
    let el = start.elapsed();
    assert_eq!(done, bursts * BURST);
    (done as u64, el)
}

fn synth_echo(bursts: usize) -> (u64, Duration) {
    let mut last = 0;
    synth_run(echo_request(), bursts, |d| {
        let n = d.nic().sent - last;
        last = d.nic().sent;
        n
    })
}

fn synth_udp_rx(bursts: usize) -> (u64, Duration) {
    synth_run(udp_datagram(7), bursts, |d| {
        let mut n = 0;
        while let Some(dg) = d.udp_recv(7) {
            black_box(dg.payload.len());
            n += 1;
        }
        n
    })
}

fn synth_udp_tx(bursts: usize) -> (u64, Duration) {
    let mut dut = synth(Vec::new());
    dut.nic_mut().sent = 0; // the start-up announcement
    let value = dut
        .nic()
        .pool()
        .shared_from(&[0x5a; PAYLOAD])
        .expect("pool");
    let to = SocketAddrV4::new(GEN, 9);
    let start = Instant::now();
    for _ in 0..bursts {
        let mut ctx = dut.tx();
        for _ in 0..BURST {
            let _ = ctx.udp_send(7, to, &value, 0..value.len());
        }
        dut.poll(&mut ());
    }
    let el = start.elapsed();
    let sent = dut.nic().sent;
    assert_eq!(sent, bursts * BURST);
    (sent as u64, el)
}

fn synth_arp(bursts: usize) -> (u64, Duration) {
    let mut last = 0;
    synth_run(arp_request(), bursts, |d| {
        let n = d.nic().sent - last;
        last = d.nic().sent;
        n
    })
}

/// The synthetic NIC alone: each received frame turned into a transmitted one.
fn synth_baseline(bursts: usize) -> (u64, Duration) {
    let mut nic = synth(echo_request()).into_nic();
    nic.left = bursts * BURST;
    nic.sent = 0;
    let mut rx: Batch<HeapRx> = Batch::new();
    let mut tx: Batch<HeapFrame> = Batch::new();
    let start = Instant::now();
    for _ in 0..bursts {
        nic.rx_burst(&mut rx);
        for f in rx.drain(..) {
            tx.push(nic.pool().rx_into_frame(f));
        }
        nic.tx_burst(&mut tx);
    }
    let el = start.elapsed();
    assert_eq!(nic.sent, bursts * BURST);
    (nic.sent as u64, el)
}

/// Runs each scenario `runs` times and prints the median, range and ns per frame.
fn table(title: &str, runs: usize, bursts: usize, scenarios: &[(&str, Scenario)]) {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.to_lowercase())
        .collect();
    let wanted = |name: &str| {
        let key = format!("{title} {name}").to_lowercase();
        filters.iter().all(|f| key.contains(f.as_str()))
    };
    if !scenarios.iter().any(|&(n, _)| wanted(n)) {
        return;
    }
    println!("\n{title}");
    println!(
        "{:<14} {:>8} {:>18} {:>10}",
        "scenario", "Mpps", "range Mpps", "ns/frame"
    );
    for &(name, f) in scenarios.iter().filter(|&&(n, _)| wanted(n)) {
        f(bursts / 10); // warm caches and the pool
        let mut mpps: Vec<f64> = (0..runs)
            .map(|_| {
                let (frames, el) = f(bursts);
                frames as f64 / el.as_secs_f64() / 1e6
            })
            .collect();
        mpps.sort_by(f64::total_cmp);
        let median = mpps[mpps.len() / 2];
        println!(
            "{:<14} {:>8.2} {:>8.2}..{:<8.2} {:>10.1}",
            name,
            median,
            mpps[0],
            mpps[mpps.len() - 1],
            1e3 / median
        );
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (runs, bursts) = if quick { (3, 2_000) } else { (9, 16_000) };
    println!(
        "ix-net stack benchmark: one core, bursts of {BURST}, {PAYLOAD}-byte payloads, \
         {runs} runs of {} frames per scenario; median (min..max)",
        bursts * BURST
    );
    table(
        "FakeLink (stack + ix-fakenic link: DMA-like copy, ring moves, mutex per burst)",
        runs,
        bursts,
        &[
            ("icmp-echo", icmp_echo),
            ("udp-rx", udp_rx),
            ("udp-tx", udp_tx),
            ("arp-reply", arp_reply),
            ("nic-baseline", nic_baseline),
        ],
    );
    table(
        "Synthetic NIC (stack + one pool block and template copy per received frame)",
        runs,
        bursts,
        &[
            ("icmp-echo", synth_echo),
            ("udp-rx", synth_udp_rx),
            ("udp-tx", synth_udp_tx),
            ("arp-reply", synth_arp),
            ("nic-baseline", synth_baseline),
        ],
    );
}
