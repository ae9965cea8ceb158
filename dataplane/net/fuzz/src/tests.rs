//! Checks of the generator and the checker themselves, without libFuzzer: frames the
//! grammar calls well-formed must parse, with right checksums, in smoltcp; frames the
//! checker accepts must be the ones it should.

use crate::addrs::{IpChoice, MacChoice, PortChoice, OUR_IP, PEER_IPS};
use crate::grammar::{
    Action, ArpOp, ArpShape, ArpSpec, Body, Bytes, FrameSpec, IcmpKind, IcmpSpec, Payload, Quote,
    Script, Tail, UdpSpec, L4,
};
use crate::policy::{Checksum, Length};
use crate::samples::{eth, ip};
use crate::setup::Setup;
use crate::world::World;
use crate::{check, emit, samples};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpPacket, ArpRepr, EthernetFrame, Icmpv4Packet, Icmpv4Repr, IpAddress, Ipv4Packet, Ipv4Repr,
    UdpPacket, UdpRepr,
};

fn udp_spec(len: Length, checksum: Checksum) -> UdpSpec {
    UdpSpec {
        src_port: PortChoice::Random(1234),
        dst_port: PortChoice::Known(0),
        len,
        checksum,
        payload: Payload::Literal(Bytes(b"hello, odd".to_vec())),
    }
}

#[test]
fn well_formed_udp_parses_with_valid_checksums() {
    let mut spec = ip(
        IpChoice::Peer(0),
        IpChoice::Ours,
        L4::Udp(udp_spec(Length::Exact, Checksum::Valid)),
    );
    spec.options = Bytes(vec![1, 1, 1]); // three NOPs, padded to one word
    let bytes = emit::frame(&eth(MacChoice::Peer(0), MacChoice::Ours, Body::Ipv4(spec)));
    let f = EthernetFrame::new_checked(&bytes[..]).unwrap();
    let p = Ipv4Packet::new_checked(f.payload()).unwrap();
    assert_eq!(p.header_len(), 24);
    assert!(p.verify_checksum());
    let caps = ChecksumCapabilities::default();
    let r = Ipv4Repr::parse(&p, &caps).unwrap();
    assert_eq!(r.dst_addr, OUR_IP);
    let u = UdpPacket::new_checked(p.payload()).unwrap();
    let (s, d) = (IpAddress::Ipv4(r.src_addr), IpAddress::Ipv4(r.dst_addr));
    assert!(u.verify_checksum(&s, &d));
    let ur = UdpRepr::parse(&u, &s, &d, &caps).unwrap();
    assert_eq!((ur.src_port, ur.dst_port), (1234, 7));
    assert_eq!(u.payload(), b"hello, odd");
}

#[test]
fn short_udp_length_still_gets_a_checksum_over_what_it_claims() {
    let spec = ip(
        IpChoice::Peer(1),
        IpChoice::Ours,
        L4::Udp(udp_spec(Length::Short(3), Checksum::Valid)),
    );
    let bytes = emit::frame(&eth(MacChoice::Peer(1), MacChoice::Ours, Body::Ipv4(spec)));
    let p = Ipv4Packet::new_checked(&bytes[14..]).unwrap();
    let u = UdpPacket::new_checked(p.payload()).unwrap();
    assert_eq!(usize::from(u.len()), p.payload().len() - 3);
    let (s, d) = (IpAddress::Ipv4(p.src_addr()), IpAddress::Ipv4(p.dst_addr()));
    assert!(u.verify_checksum(&s, &d));
}

#[test]
fn echo_and_errors_have_valid_icmp_checksums() {
    for kind in [
        IcmpKind::EchoRequest,
        IcmpKind::DstUnreachable {
            code: 3,
            quote: Quote {
                src: IpChoice::Ours,
                dst: IpChoice::Peer(2),
                udp: true,
                src_port: PortChoice::Known(1),
                dst_port: PortChoice::Random(9),
                cut: 0,
            },
        },
    ] {
        let icmp = IcmpSpec {
            kind,
            ident: 7,
            seq: 9,
            payload: Payload::Fill {
                len: 100,
                byte: 0xab,
            },
            checksum: Checksum::Valid,
        };
        let spec = ip(IpChoice::Peer(2), IpChoice::Ours, L4::Icmp(icmp));
        let bytes = emit::frame(&eth(MacChoice::Peer(2), MacChoice::Ours, Body::Ipv4(spec)));
        let p = Ipv4Packet::new_checked(&bytes[14..]).unwrap();
        let i = Icmpv4Packet::new_checked(p.payload()).unwrap();
        assert!(i.verify_checksum());
        Icmpv4Repr::parse(&i, &ChecksumCapabilities::default()).unwrap();
    }
}

#[test]
fn arp_request_parses() {
    let arp = ArpSpec {
        op: ArpOp::Request,
        sender_mac: MacChoice::Peer(0),
        sender_ip: IpChoice::Peer(0),
        target_mac: MacChoice::Zero,
        target_ip: IpChoice::Ours,
        shape: ArpShape::Normal,
    };
    let bytes = emit::frame(&eth(
        MacChoice::Peer(0),
        MacChoice::Broadcast,
        Body::Arp(arp),
    ));
    let p = ArpPacket::new_checked(&bytes[14..]).unwrap();
    assert!(ArpRepr::parse(&p).is_ok());
}

#[test]
fn checker_accepts_our_replies_and_refuses_bad_ones() {
    let reply = IcmpSpec {
        kind: IcmpKind::EchoReply,
        ident: 1,
        seq: 2,
        payload: Payload::Literal(Bytes(b"ping".to_vec())),
        checksum: Checksum::Valid,
    };
    let good = |c: Checksum, dst: IpChoice| {
        let mut r = reply.clone();
        r.checksum = c;
        let mut f = eth(
            MacChoice::Ours,
            MacChoice::Peer(0),
            Body::Ipv4(ip(IpChoice::Ours, dst, L4::Icmp(r))),
        );
        f.tail = Tail::PadTo60;
        emit::frame(&f)
    };
    assert_eq!(
        check::frame(&good(Checksum::Valid, IpChoice::Peer(0)), 1500),
        Ok(check::Sent::Icmp(0, PEER_IPS[0]))
    );
    assert!(check::frame(&good(Checksum::Random(1), IpChoice::Peer(0)), 1500).is_err());
    assert!(check::frame(&good(Checksum::Valid, IpChoice::Broadcast), 1500).is_err());
    let udp = eth(
        MacChoice::Ours,
        MacChoice::Peer(1),
        Body::Ipv4(ip(
            IpChoice::Ours,
            IpChoice::Peer(1),
            L4::Udp(udp_spec(Length::Exact, Checksum::Zero)),
        )),
    );
    assert!(matches!(
        check::frame(&emit::frame(&udp), 1500),
        Ok(check::Sent::Udp(1234, _, 7))
    ));
}

#[test]
fn arbitrary_specs_never_panic_the_emitter() {
    use arbitrary::{Arbitrary, Unstructured};
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        let bytes: Vec<u8> = (0..512)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        if let Ok(spec) = FrameSpec::arbitrary(&mut Unstructured::new(&bytes)) {
            let _ = check::frame(&emit::frame(&spec), 1500);
        }
    }
}

#[test]
fn every_sample_reaches_the_path_it_is_for() {
    use ix_net::{DropReason as D, Event as E};
    for (name, spec) in samples::all() {
        let mut w = World::new(Setup::PLAIN);
        w.bind(7);
        w.bind(53);
        w.inject(&emit::frame(&spec));
        w.step(&Action::Poll);
        let s = w.iface().stats();
        let reached = match name {
            "arp_request" => s.get(E::ArpRepliesSent) == 1,
            "arp_reply" | "udp_broadcast" | "ip_options" | "udp_bound" => s.total_drops() == 0,
            "echo_request" => s.get(E::IcmpEchoReplies) == 1,
            "udp_closed" => s.get(E::IcmpErrorsSent) == 1,
            "icmp_unreachable" => s.dropped(D::IcmpUnhandled) == 1,
            "tcp_syn" => s.get(E::TransportDelivered) == 1,
            "ipv6" => s.dropped(D::EthUnknownType) == 1,
            _ => panic!("no expectation for sample {name}"),
        };
        assert!(reached, "sample {name}: {s}");
        w.finish();
    }
}

#[test]
fn arbitrary_scripts_run_through_the_harness() {
    use arbitrary::{Arbitrary, Unstructured};
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..300 {
        let bytes: Vec<u8> = (0..1024)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        if let Ok(script) = Script::arbitrary(&mut Unstructured::new(&bytes)) {
            World::run(script.setup, &script.actions);
        }
    }
}

#[test]
fn a_learned_entry_is_refreshed_before_it_expires() {
    use crate::grammar::Millis;
    let mut w = World::new(Setup::PLAIN);
    w.step(&Action::Learn(1));
    w.step(&Action::Poll);
    w.step(&Action::Advance(Millis(57_000)));
    w.step(&Action::SendUdp {
        from: PortChoice::Known(0),
        to: IpChoice::Peer(1),
        port: PortChoice::Known(1),
        payload: Payload::Literal(Bytes(b"x".to_vec())),
        zero_copy: false,
    });
    w.step(&Action::Poll);
    assert_eq!(w.iface().stats().get(ix_net::Event::ArpRequestsSent), 1);
    w.finish();
}

#[test]
fn a_stalled_wire_fills_the_transmit_backlog_to_its_bound() {
    let setup = Setup {
        sizes: crate::setup::Sizes::Tiny,
        ..Setup::PLAIN
    };
    let mut w = World::new(setup);
    w.step(&Action::Stall(true));
    let echo = samples::from_peer(0, L4::Icmp(samples::icmp(IcmpKind::EchoRequest, b"x")));
    w.step(&Action::Storm {
        frame: echo,
        rounds: 12,
    });
    assert!(w.iface().stats().dropped(ix_net::DropReason::TxQueueFull) > 0);
    w.finish();
}

#[test]
fn scenario_seeds_still_reach_their_paths() {
    use arbitrary::{Arbitrary, Unstructured};
    use ix_net::{DropReason as D, Event as E};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/stack_frames");
    type Reached = fn(&ix_net::Stats) -> bool;
    let seeds: [(&str, Reached); 5] = [
        ("arp_refresh", |s| s.get(E::ArpRequestsSent) == 1),
        ("tx_backlog_full", |s| s.dropped(D::TxQueueFull) > 0),
        ("arp_resolution", |s| s.get(E::ArpPendingReleased) == 1),
        ("arp_eviction", |s| s.get(E::ArpLearned) == 3),
        ("udp_round_trip", |s| s.get(E::UdpDelivered) == 1),
    ];
    for (name, reached) in seeds {
        let bytes = std::fs::read(dir.join(name)).expect("run `cargo run --example seeds`");
        let script = Script::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
        let mut w = World::new(script.setup);
        for a in &script.actions {
            w.step(a);
        }
        let stats = w.iface().stats().clone();
        assert!(reached(&stats), "seed {name} (regenerate seeds?): {stats}");
        w.finish();
    }
}
