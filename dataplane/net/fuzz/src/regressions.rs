//! One minimal reproduction per defect in [`crate::known`], asserting the right
//! behaviour. A new defect's test is added ignored while the defect stands (`cargo
//! test -- --ignored` in this directory shows which are still open); when it passes,
//! it is un-ignored and its flag in `known.rs` turned off. All are fixed now: every
//! test here runs, as a regression test.

use crate::addrs::{IpChoice, MacChoice, PortChoice, PEER_IPS};
use crate::grammar::{Action, Body, IcmpKind, Payload, L4};
use crate::samples::{eth, from_peer, icmp, ip, udp};
use crate::setup::{Mtu, Setup};
use crate::world::World;
use crate::{check, emit};
use std::net::SocketAddrV4;

/// A world with ports 7 and 53 bound and peer 0 resolved, `frame` injected and
/// polled; returns what it transmitted.
fn answer_to(setup: Setup, frame: &crate::grammar::FrameSpec) -> Vec<Vec<u8>> {
    let mut w = World::new(setup);
    w.bind(7);
    w.bind(53);
    w.iface().poll(&mut ());
    w.take_sent(); // the gratuitous ARP
    w.inject(&emit::frame(frame));
    w.iface().poll(&mut ());
    w.take_sent()
}

#[test]
fn udp_send_refuses_port_zero() {
    let mut w = World::new(Setup::PLAIN);
    let r = w
        .iface()
        .udp_send_copy(1, SocketAddrV4::new(PEER_IPS[0], 0), b"x");
    assert!(r.is_err(), "sent to port 0: {r:?}");
}

#[test]
fn loopback_source_is_not_answered() {
    let closed = L4::Udp(udp(PortChoice::Random(9999), b"x"));
    let f = eth(
        MacChoice::Peer(0),
        MacChoice::Ours,
        Body::Ipv4(ip(IpChoice::Loopback, IpChoice::Ours, closed)),
    );
    let sent = answer_to(Setup::PLAIN, &f);
    assert!(sent.is_empty(), "answered 127.0.0.1: {sent:02x?}");
}

#[test]
fn own_source_is_not_answered() {
    let echo = L4::Icmp(icmp(IcmpKind::EchoRequest, b"ping"));
    let f = eth(
        MacChoice::Peer(0),
        MacChoice::Ours,
        Body::Ipv4(ip(IpChoice::Ours, IpChoice::Ours, echo)),
    );
    let sent = answer_to(Setup::PLAIN, &f);
    assert!(sent.is_empty(), "answered our own address: {sent:02x?}");
}

#[test]
fn all_zero_echo_reply_has_a_valid_checksum() {
    let mut req = icmp(IcmpKind::EchoRequest, b"");
    (req.ident, req.seq) = (0, 0);
    let sent = answer_to(Setup::PLAIN, &from_peer(0, L4::Icmp(req)));
    assert_eq!(sent.len(), 1, "one echo reply");
    let icmp_bytes = &sent[0][34..];
    assert_eq!(
        icmp_bytes[2..4],
        [0xff, 0xff],
        "checksum of an all-zero reply"
    );
}

#[test]
fn echo_request_from_broadcast_mac_is_not_answered_by_broadcast() {
    let echo = L4::Icmp(icmp(IcmpKind::EchoRequest, b"ping"));
    let f = eth(
        MacChoice::Broadcast,
        MacChoice::Ours,
        Body::Ipv4(ip(IpChoice::Peer(0), IpChoice::Ours, echo)),
    );
    for frame in answer_to(Setup::PLAIN, &f) {
        assert_ne!(frame[..6], [0xff; 6], "unicast reply broadcast on the link");
    }
}

#[test]
fn echo_reply_respects_the_mtu() {
    let mut setup = Setup::PLAIN;
    setup.mtu = Mtu::Small;
    let mut req = icmp(IcmpKind::EchoRequest, b"");
    req.payload = Payload::Fill { len: 1000, byte: 7 };
    for frame in answer_to(setup, &from_peer(0, L4::Icmp(req))) {
        assert!(
            frame.len() <= 576 + 14,
            "{}-byte reply over MTU 576",
            frame.len()
        );
        check::frame(&frame, 576).unwrap();
    }
}

#[test]
fn reproductions_are_what_the_fuzzer_runs() {
    // The harness itself tolerates every known defect: the same inputs pass there.
    let mut w = World::new(Setup::PLAIN);
    let echo = L4::Icmp(icmp(IcmpKind::EchoRequest, b""));
    w.inject(&emit::frame(&from_peer(0, echo)));
    w.step(&Action::Poll);
    w.finish();
}
