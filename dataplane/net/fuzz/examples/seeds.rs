//! Writes seed corpora for both targets, so the fuzzer starts from inputs that reach
//! deep paths instead of having to assemble them by luck.
//!
//! - `seeds/parse_raw/NAME`: one well-formed frame of each kind
//!   (`ix_net_fuzz::samples::all`), addressed to the interface.
//! - `seeds/stack_frames/NAME`: scripts for multi-step scenarios (ARP refresh, a
//!   stalled wire filling the transmit backlog, ARP resolution releasing waiting
//!   packets, ARP eviction, a UDP round trip). An input is the bytes `arbitrary`
//!   decodes, so each piece is found by a seeded random search for bytes that decode
//!   to what the scenario needs, then the pieces are joined the way `Script`
//!   decodes them: the setup, then per action a 1 byte ("one more") and the action.
//!
//! Run from `dataplane/net/fuzz`: `cargo run --release --example seeds`.

use arbitrary::{Arbitrary, Unstructured};
use ix_net_fuzz::addrs::{IpChoice, MacChoice, PortChoice};
use ix_net_fuzz::grammar::{
    Action, ArpOp, ArpShape, ArpSpec, Body, Frag, FrameSpec, IcmpKind, Ipv4Spec, Millis, Payload,
    Script, Tail, Version, L4,
};
use ix_net_fuzz::policy::{Checksum, Length};
use ix_net_fuzz::setup::{Mtu, Setup, Sizes};
use ix_net_fuzz::{emit, samples};
use std::fs;
use std::path::Path;

/// Bytes tried per search candidate: long enough that no length is cut short.
const CANDIDATE: usize = 512;

/// A deterministic byte source (xorshift64).
struct Rng(u64);

impl Rng {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
    }
}

/// The bytes (exactly those consumed) of some `T` for which `want` holds.
fn find<T: for<'a> Arbitrary<'a>>(rng: &mut Rng, want: impl Fn(&T) -> bool) -> Vec<u8> {
    let mut buf = [0u8; CANDIDATE];
    for _ in 0..50_000_000 {
        rng.fill(&mut buf);
        let mut u = Unstructured::new(&buf);
        if let Ok(v) = T::arbitrary(&mut u) {
            if want(&v) {
                return buf[..CANDIDATE - u.len()].to_vec();
            }
        }
    }
    panic!("no {} found", std::any::type_name::<T>());
}

/// The 4 bytes that select, for an enum `T`, the variant `want` holds for.
fn variant<T: for<'a> Arbitrary<'a>>(rng: &mut Rng, want: impl Fn(&T) -> bool) -> Vec<u8> {
    find::<T>(rng, want)[..4].to_vec()
}

/// Checks `bytes` decode as a `T` satisfying `want`, and returns them.
fn checked<T: for<'a> Arbitrary<'a>>(bytes: Vec<u8>, want: impl Fn(&T) -> bool) -> Vec<u8> {
    let mut padded = bytes.clone();
    padded.resize(CANDIDATE, 0);
    let v = T::arbitrary(&mut Unstructured::new(&padded)).expect("assembled bytes decode");
    assert!(
        want(&v),
        "assembled {} is not as wanted",
        std::any::type_name::<T>()
    );
    bytes
}

/// The bytes of a frame from peer `peer` to us, built field by field (a search for
/// the whole frame at once would take too long): addresses, an IPv4 body whose
/// header and payload satisfy `ip`, no tail.
fn frame_to_us(rng: &mut Rng, peer: u8, ip: impl Fn(&Ipv4Spec) -> bool) -> Vec<u8> {
    let mut out = find::<MacChoice>(rng, |m| matches!(m, MacChoice::Ours));
    out.extend(find::<MacChoice>(
        rng,
        |m| matches!(m, MacChoice::Peer(p) if p % 3 == peer),
    ));
    out.extend(variant::<Body>(rng, |b| matches!(b, Body::Ipv4(_))));
    out.extend(find::<Ipv4Spec>(rng, ip));
    out.extend(find::<Tail>(rng, |t| matches!(t, Tail::None)));
    out
}

/// Whether `f` is a well-formed IPv4 frame from peer `peer` to us whose payload
/// satisfies `l4`.
fn to_us_from(f: &FrameSpec, peer: u8, l4: impl Fn(&L4) -> bool) -> bool {
    let Body::Ipv4(ip) = &f.body else {
        return false;
    };
    matches!(f.dst, MacChoice::Ours)
        && matches!(f.src, MacChoice::Peer(p) if p % 3 == peer)
        && ip_from(ip, peer, l4)
}

/// Whether `ip` is a well-formed IPv4 packet from peer `peer` to us whose payload
/// satisfies `l4`.
fn ip_from(ip: &Ipv4Spec, peer: u8, l4: impl Fn(&L4) -> bool) -> bool {
    matches!(ip.src, IpChoice::Peer(p) if p % 3 == peer)
        && matches!(ip.dst, IpChoice::Ours)
        && matches!(ip.version, Version(4))
        && ip.ihl == Length::Exact
        && ip.total_len == Length::Exact
        && matches!(ip.frag, Frag::Whole { .. })
        && ip.ttl > 0
        && ip.checksum == Checksum::Valid
        && l4(&ip.payload)
}

/// Whether `a` sends a short datagram to peer `peer`, from and to known ports.
fn send_to(a: &Action, peer: u8) -> bool {
    matches!(a, Action::SendUdp { from: PortChoice::Known(_), to: IpChoice::Peer(p),
        port: PortChoice::Known(_), payload: Payload::Literal(_), .. } if p % 3 == peer)
}

/// A script: `setup` bytes, then each action's bytes behind a 1, then a 0.
fn script(setup: Vec<u8>, actions: &[Vec<u8>]) -> Vec<u8> {
    let mut out = setup;
    for a in actions {
        out.push(1);
        out.extend_from_slice(a);
    }
    out.push(0);
    out
}

/// The scenarios, as scripts.
fn stack_frame_seeds(rng: &mut Rng) -> Vec<(&'static str, Vec<u8>)> {
    let setup = |rng: &mut Rng, sizes: Sizes| {
        find::<Setup>(rng, |s| {
            s.sizes == sizes && s.mtu == Mtu::Ethernet && s.port_unreachable
        })
    };
    let poll = find::<Action>(rng, |a| matches!(a, Action::Poll));
    let learn = |rng: &mut Rng, peer: u8| {
        find::<Action>(rng, |a| matches!(a, Action::Learn(p) if p % 3 == peer))
    };
    let echo = |l4: &L4| {
        matches!(l4, L4::Icmp(i) if matches!(i.kind, IcmpKind::EchoRequest)
            && i.checksum == Checksum::Valid)
    };
    let udp_to_known = |l4: &L4| {
        matches!(l4, L4::Udp(u) if matches!(u.dst_port, PortChoice::Known(0))
            && u.len == Length::Exact && u.checksum == Checksum::Valid)
    };
    let arp_reply_from_2 = |f: &FrameSpec| {
        matches!(&f.body, Body::Arp(a) if matches!(a.op, ArpOp::Reply)
            && matches!(a.shape, ArpShape::Normal)
            && matches!(a.sender_mac, MacChoice::Peer(p) if p % 3 == 2)
            && matches!(a.sender_ip, IpChoice::Peer(p) if p % 3 == 2)
            && matches!(a.target_ip, IpChoice::Ours))
            && matches!(f.dst, MacChoice::Ours)
            && matches!(f.src, MacChoice::Peer(p) if p % 3 == 2)
    };
    vec![
        ("arp_refresh", {
            let s = setup(rng, Sizes::Default);
            let advance = find::<Action>(
                rng,
                |a| matches!(a, Action::Advance(Millis(m)) if (55_500..59_500).contains(m)),
            );
            let send = find::<Action>(rng, |a| send_to(a, 1));
            script(
                s,
                &[learn(rng, 1), poll.clone(), advance, send, poll.clone()],
            )
        }),
        ("tx_backlog_full", {
            let s = setup(rng, Sizes::Tiny);
            let stall = find::<Action>(rng, |a| matches!(a, Action::Stall(true)));
            let mut storm = variant::<Action>(rng, |a| matches!(a, Action::Storm { .. }));
            storm.extend(frame_to_us(rng, 0, |ip| ip_from(ip, 0, echo)));
            storm.push(15); // rounds: 16
            let storm = checked::<Action>(
                storm,
                |a| matches!(a, Action::Storm { frame, rounds: 15 } if to_us_from(frame, 0, echo)),
            );
            let resume = find::<Action>(rng, |a| matches!(a, Action::Stall(false)));
            script(s, &[stall, storm, resume, poll.clone()])
        }),
        ("arp_resolution", {
            let s = setup(rng, Sizes::Default);
            let send = find::<Action>(rng, |a| send_to(a, 2));
            // Built field by field (a search for the whole action at once would
            // take too long): to us, from peer 2's MAC, a well-formed reply.
            let mut reply = variant::<Action>(rng, |a| matches!(a, Action::Inject(_)));
            reply.extend(find::<MacChoice>(rng, |m| matches!(m, MacChoice::Ours)));
            reply.extend(find::<MacChoice>(
                rng,
                |m| matches!(m, MacChoice::Peer(p) if p % 3 == 2),
            ));
            reply.extend(variant::<Body>(rng, |b| matches!(b, Body::Arp(_))));
            reply.extend(find::<ArpSpec>(rng, |a| {
                matches!(a.op, ArpOp::Reply)
                    && matches!(a.shape, ArpShape::Normal)
                    && matches!(a.sender_mac, MacChoice::Peer(p) if p % 3 == 2)
                    && matches!(a.sender_ip, IpChoice::Peer(p) if p % 3 == 2)
                    && matches!(a.target_ip, IpChoice::Ours)
            }));
            reply.extend(find::<Tail>(rng, |t| matches!(t, Tail::None)));
            let reply = checked::<Action>(
                reply,
                |a| matches!(a, Action::Inject(f) if arp_reply_from_2(f)),
            );
            script(s, &[send, poll.clone(), reply, poll.clone()])
        }),
        ("arp_eviction", {
            let s = setup(rng, Sizes::Tiny);
            let sends: Vec<_> = (0..3)
                .map(|p| find::<Action>(rng, |a| send_to(a, p)))
                .collect();
            let mut actions = vec![learn(rng, 0), learn(rng, 1), learn(rng, 2), poll.clone()];
            actions.extend(sends);
            actions.push(poll.clone());
            script(s, &actions)
        }),
        ("udp_round_trip", {
            let s = setup(rng, Sizes::Default);
            let bind = find::<Action>(rng, |a| matches!(a, Action::Bind(PortChoice::Known(0))));
            let mut dgram = variant::<Action>(rng, |a| matches!(a, Action::Inject(_)));
            dgram.extend(frame_to_us(rng, 0, |ip| ip_from(ip, 0, udp_to_known)));
            let dgram = checked::<Action>(
                dgram,
                |a| matches!(a, Action::Inject(f) if to_us_from(f, 0, udp_to_known)),
            );
            let drain = find::<Action>(rng, |a| matches!(a, Action::Drain));
            script(s, &[bind, dgram, poll.clone(), drain])
        }),
    ]
}

fn main() -> std::io::Result<()> {
    let raw = Path::new("seeds/parse_raw");
    fs::create_dir_all(raw)?;
    for (name, spec) in samples::all() {
        fs::write(raw.join(name), emit::frame(&spec))?;
    }
    let scripted = Path::new("seeds/stack_frames");
    fs::create_dir_all(scripted)?;
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for (name, bytes) in stack_frame_seeds(&mut rng) {
        let decoded = Script::arbitrary_take_rest(Unstructured::new(&bytes))
            .unwrap_or_else(|e| panic!("seed {name} does not decode: {e}"));
        println!(
            "{name}: {} bytes, {} actions",
            bytes.len(),
            decoded.actions.len()
        );
        fs::write(scripted.join(name), bytes)?;
    }
    Ok(())
}
