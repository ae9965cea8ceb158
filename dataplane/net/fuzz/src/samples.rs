//! Well-formed frames of every kind the stack handles, as specs: the seeds of the
//! raw-bytes target's corpus (`cargo run --example seeds`) and the generator's tests.

use crate::addrs::{IpChoice, MacChoice, PortChoice};
use crate::grammar::{
    ArpOp, ArpShape, ArpSpec, Body, Bytes, EtherTypeChoice, Frag, FrameSpec, IcmpKind, IcmpSpec,
    Ipv4Spec, Payload, Quote, Tail, TcpSpec, UdpSpec, Version, L4,
};
use crate::policy::{Checksum, Length};

/// A well-formed IPv4 packet from `src` to `dst` carrying `payload`.
pub fn ip(src: IpChoice, dst: IpChoice, payload: L4) -> Ipv4Spec {
    Ipv4Spec {
        version: Version(4),
        options: Bytes::default(),
        ihl: Length::Exact,
        tos: 0,
        total_len: Length::Exact,
        ident: 1,
        frag: Frag::Whole { df: true },
        ttl: 64,
        src,
        dst,
        checksum: Checksum::Valid,
        payload,
    }
}

/// An Ethernet frame from `src` to `dst` carrying `body`, unpadded.
pub fn eth(src: MacChoice, dst: MacChoice, body: Body) -> FrameSpec {
    FrameSpec {
        dst,
        src,
        body,
        tail: Tail::None,
    }
}

/// A datagram from port 1234 to `dst_port` carrying `data`, with a valid checksum.
pub fn udp(dst_port: PortChoice, data: &[u8]) -> UdpSpec {
    UdpSpec {
        src_port: PortChoice::Random(1234),
        dst_port,
        len: Length::Exact,
        checksum: Checksum::Valid,
        payload: Payload::Literal(Bytes(data.to_vec())),
    }
}

/// An ICMP message of `kind` with identifier 1, sequence 2 and `data`.
pub fn icmp(kind: IcmpKind, data: &[u8]) -> IcmpSpec {
    IcmpSpec {
        kind,
        ident: 1,
        seq: 2,
        payload: Payload::Literal(Bytes(data.to_vec())),
        checksum: Checksum::Valid,
    }
}

/// An ARP packet of `op` from peer `peer` about `target`.
pub fn arp(op: ArpOp, peer: u8, target: IpChoice) -> ArpSpec {
    ArpSpec {
        op,
        sender_mac: MacChoice::Peer(peer),
        sender_ip: IpChoice::Peer(peer),
        target_mac: MacChoice::Zero,
        target_ip: target,
        shape: ArpShape::Normal,
    }
}

/// Peer `peer` asking (broadcast) who has our address.
pub fn who_has_us(peer: u8) -> FrameSpec {
    let ask = arp(ArpOp::Request, peer, IpChoice::Ours);
    eth(MacChoice::Peer(peer), MacChoice::Broadcast, Body::Arp(ask))
}

/// A frame from peer `peer` to us (Ethernet and IPv4) carrying `payload`.
pub fn from_peer(peer: u8, payload: L4) -> FrameSpec {
    let body = Body::Ipv4(ip(IpChoice::Peer(peer), IpChoice::Ours, payload));
    eth(MacChoice::Peer(peer), MacChoice::Ours, body)
}

/// One named frame of each kind: ARP request and reply, echo request, datagrams to
/// bound and closed ports, an ICMP port-unreachable quoting our datagram, a TCP
/// segment, a broadcast datagram, a packet with IP options, and an IPv6 frame.
pub fn all() -> Vec<(&'static str, FrameSpec)> {
    let bcast = Body::Ipv4(ip(
        IpChoice::Peer(1),
        IpChoice::Broadcast,
        L4::Udp(udp(PortChoice::Known(1), b"to all")),
    ));
    let mut with_options = ip(
        IpChoice::Peer(2),
        IpChoice::Ours,
        L4::Udp(udp(PortChoice::Known(0), b"opts")),
    );
    with_options.options = Bytes(vec![1, 1, 1, 0]);
    let unreachable = IcmpKind::DstUnreachable {
        code: 3,
        quote: Quote {
            src: IpChoice::Ours,
            dst: IpChoice::Peer(0),
            udp: true,
            src_port: PortChoice::Known(0),
            dst_port: PortChoice::Random(9),
            cut: 0,
        },
    };
    let tcp = L4::Tcp(TcpSpec {
        src_port: PortChoice::Random(40000),
        dst_port: PortChoice::Random(80),
        seq: 1,
        ack: 0,
        flags: 0x02, // SYN
        window: 65535,
        checksum: Checksum::Valid,
        payload: Payload::Literal(Bytes::default()),
    });
    vec![
        (
            "arp_request",
            eth(
                MacChoice::Peer(1),
                MacChoice::Broadcast,
                Body::Arp(arp(ArpOp::Request, 1, IpChoice::Ours)),
            ),
        ),
        (
            "arp_reply",
            eth(
                MacChoice::Peer(2),
                MacChoice::Ours,
                Body::Arp(arp(ArpOp::Reply, 2, IpChoice::Ours)),
            ),
        ),
        (
            "echo_request",
            from_peer(0, L4::Icmp(icmp(IcmpKind::EchoRequest, b"ping"))),
        ),
        (
            "udp_bound",
            from_peer(0, L4::Udp(udp(PortChoice::Known(0), b"hello"))),
        ),
        (
            "udp_closed",
            from_peer(1, L4::Udp(udp(PortChoice::Random(9999), b"anyone?"))),
        ),
        (
            "icmp_unreachable",
            from_peer(0, L4::Icmp(icmp(unreachable, b""))),
        ),
        ("tcp_syn", from_peer(0, tcp)),
        (
            "udp_broadcast",
            eth(MacChoice::Peer(1), MacChoice::Broadcast, bcast),
        ),
        (
            "ip_options",
            eth(
                MacChoice::Peer(2),
                MacChoice::Ours,
                Body::Ipv4(with_options),
            ),
        ),
        (
            "ipv6",
            eth(
                MacChoice::Peer(0),
                MacChoice::Ours,
                Body::Other {
                    ethertype: EtherTypeChoice::Ipv6,
                    data: Payload::Fill {
                        len: 40,
                        byte: 0x60,
                    },
                },
            ),
        ),
    ]
}
