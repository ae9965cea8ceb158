//! Turns a [`FrameSpec`] into wire bytes with smoltcp's `wire` field writers.
//!
//! Fields are written one by one (not through the `Repr::emit`s), because the grammar
//! asks for values a `Repr` cannot express: wrong lengths, a short IHL, reserved
//! flags. Checksums are computed last, over what a receiver will actually sum (the
//! header as long as IHL says; the UDP datagram as long as its length field says),
//! so a "valid" checksum stays valid whatever the length fields claim.

use crate::grammar::{
    ArpOp, ArpShape, ArpSpec, Body, FrameSpec, IcmpKind, IcmpSpec, Ipv4Spec, Quote, Tail, TcpSpec,
    UdpSpec, L4,
};
use crate::policy::Checksum;
use smoltcp::wire::{
    checksum, ArpHardware, ArpOperation, ArpPacket, EthernetFrame, EthernetProtocol, Icmpv4Message,
    Icmpv4Packet, IpProtocol, Ipv4Address, Ipv4Packet, TcpPacket, TcpSeqNumber, UdpPacket,
    ETHERNET_HEADER_LEN,
};

/// The Ethernet minimum frame length without the FCS.
const MIN_FRAME: usize = 60;

/// The wire bytes of `spec`.
pub fn frame(spec: &FrameSpec) -> Vec<u8> {
    let (ethertype, body) = match &spec.body {
        Body::Ipv4(ip) => (EthernetProtocol::Ipv4, ipv4(ip)),
        Body::Arp(arp) => (EthernetProtocol::Arp, arp_packet(arp)),
        Body::Other { ethertype, data } => {
            (EthernetProtocol::from(ethertype.value()), data.to_vec())
        }
        Body::Runt(n) => {
            let mut header = ethernet_header(spec, EthernetProtocol::Ipv4);
            header.truncate(usize::from(*n) % ETHERNET_HEADER_LEN);
            return header;
        }
    };
    let mut out = ethernet_header(spec, ethertype);
    out.extend_from_slice(&body);
    match &spec.tail {
        Tail::None => {}
        Tail::PadTo60 => out.resize(out.len().max(MIN_FRAME), 0),
        Tail::Bytes(b) => out.extend_from_slice(&b.0),
    }
    out
}

/// A 14-byte Ethernet header.
fn ethernet_header(spec: &FrameSpec, ethertype: EthernetProtocol) -> Vec<u8> {
    let mut out = vec![0u8; ETHERNET_HEADER_LEN];
    let mut eth = EthernetFrame::new_unchecked(&mut out[..]);
    eth.set_dst_addr(spec.dst.resolve());
    eth.set_src_addr(spec.src.resolve());
    eth.set_ethertype(ethertype);
    out
}

/// An ARP packet (28 bytes when well-formed).
fn arp_packet(spec: &ArpSpec) -> Vec<u8> {
    let mut out = vec![0u8; 28];
    let mut p = ArpPacket::new_unchecked(&mut out[..]);
    // Addresses first, while the length fields still say 6 and 4 (the setters use them).
    p.set_hardware_type(ArpHardware::Ethernet);
    p.set_protocol_type(EthernetProtocol::Ipv4);
    p.set_hardware_len(6);
    p.set_protocol_len(4);
    p.set_operation(match spec.op {
        ArpOp::Request => ArpOperation::Request,
        ArpOp::Reply => ArpOperation::Reply,
        ArpOp::Raw(v) => ArpOperation::from(v),
    });
    p.set_source_hardware_addr(spec.sender_mac.resolve().as_bytes());
    p.set_source_protocol_addr(&spec.sender_ip.resolve().octets());
    p.set_target_hardware_addr(spec.target_mac.resolve().as_bytes());
    p.set_target_protocol_addr(&spec.target_ip.resolve().octets());
    match spec.shape {
        ArpShape::Normal => {}
        ArpShape::HardwareType(v) => p.set_hardware_type(ArpHardware::from(v)),
        ArpShape::ProtocolType(v) => p.set_protocol_type(EthernetProtocol::from(v)),
        ArpShape::Lengths(h, l) => {
            p.set_hardware_len(h);
            p.set_protocol_len(l);
        }
        ArpShape::Truncated(n) => out.truncate(usize::from(n) % 28),
    }
    out
}

/// An IPv4 packet with its payload.
fn ipv4(spec: &Ipv4Spec) -> Vec<u8> {
    let (src, dst) = (spec.src.resolve(), spec.dst.resolve());
    let (protocol, payload) = match &spec.payload {
        L4::Udp(u) => (IpProtocol::Udp, udp(u, src, dst)),
        L4::Icmp(i) => (IpProtocol::Icmp, icmp(i)),
        L4::Tcp(t) => (IpProtocol::Tcp, tcp(t, src, dst)),
        L4::Other { protocol, data } => (IpProtocol::from(*protocol), data.to_vec()),
    };
    let mut options = spec.options.0.clone();
    options.resize(options.len().next_multiple_of(4), 0);
    let header_len = 20 + options.len();
    let mut out = vec![0u8; header_len + payload.len()];
    out[20..header_len].copy_from_slice(&options);
    out[header_len..].copy_from_slice(&payload);

    let ihl_words = spec.ihl.apply(header_len / 4) & 0x0f;
    let total_len = spec.total_len.apply(out.len());
    let mut p = Ipv4Packet::new_unchecked(&mut out[..]);
    p.set_dscp(spec.tos >> 2);
    p.set_ecn(spec.tos & 0x03);
    p.set_total_len(total_len);
    p.set_ident(spec.ident);
    p.set_hop_limit(spec.ttl);
    p.set_next_header(protocol);
    p.set_src_addr(src);
    p.set_dst_addr(dst);
    // Version, IHL and the flags/offset word are written raw: the setters take
    // checked values and could not express every nibble and bit.
    out[0] = (spec.version.0 << 4) | (ihl_words as u8); // both four bits
    out[6..8].copy_from_slice(&spec.frag.value().to_be_bytes());
    // A receiver sums IHL*4 header bytes, as far as the buffer goes.
    let summed = (usize::from(ihl_words) * 4).min(out.len());
    let sum = fill(spec.checksum, || !checksum::data(&out[..summed]));
    out[10..12].copy_from_slice(&sum.to_be_bytes());
    out
}

/// The checksum field's value under `policy`; `valid` computes the right one with
/// the field still zero.
fn fill(policy: Checksum, valid: impl FnOnce() -> u16) -> u16 {
    match policy {
        Checksum::Valid => valid(),
        Checksum::Zero => 0,
        Checksum::Random(v) => v,
    }
}

/// A UDP datagram from `src` to `dst`.
fn udp(spec: &UdpSpec, src: Ipv4Address, dst: Ipv4Address) -> Vec<u8> {
    let payload = spec.payload.to_vec();
    let mut out = vec![0u8; 8 + payload.len()];
    out[8..].copy_from_slice(&payload);
    let len_field = spec.len.apply(out.len());
    let mut p = UdpPacket::new_unchecked(&mut out[..]);
    p.set_src_port(spec.src_port.resolve());
    p.set_dst_port(spec.dst_port.resolve());
    p.set_len(len_field);
    p.set_checksum(0);
    let sum = fill(spec.checksum, || {
        let summed = usize::from(len_field).min(out.len());
        let sum = !checksum::combine(&[
            checksum::pseudo_header_v4(&src, &dst, IpProtocol::Udp, u32::from(len_field)),
            checksum::data(&out[..summed]),
        ]);
        // 0 means "no checksum"; a computed 0 is sent as its ones'-complement twin.
        if sum == 0 {
            0xffff
        } else {
            sum
        }
    });
    UdpPacket::new_unchecked(&mut out[..]).set_checksum(sum);
    out
}

/// A TCP segment from `src` to `dst`, with a 20-byte header.
fn tcp(spec: &TcpSpec, src: Ipv4Address, dst: Ipv4Address) -> Vec<u8> {
    let payload = spec.payload.to_vec();
    let mut out = vec![0u8; 20 + payload.len()];
    out[20..].copy_from_slice(&payload);
    let mut p = TcpPacket::new_unchecked(&mut out[..]);
    p.set_src_port(spec.src_port.resolve());
    p.set_dst_port(spec.dst_port.resolve());
    p.set_seq_number(TcpSeqNumber(spec.seq as i32));
    p.set_ack_number(TcpSeqNumber(spec.ack as i32));
    p.set_header_len(20);
    let bit = |n: u8| spec.flags & (1 << n) != 0;
    p.set_fin(bit(0));
    p.set_syn(bit(1));
    p.set_rst(bit(2));
    p.set_psh(bit(3));
    p.set_ack(bit(4));
    p.set_urg(bit(5));
    p.set_ece(bit(6));
    p.set_cwr(bit(7));
    p.set_window_len(spec.window);
    p.set_checksum(0);
    let len = u32::try_from(out.len()).unwrap_or(u32::MAX);
    let sum = fill(spec.checksum, || {
        !checksum::combine(&[
            checksum::pseudo_header_v4(&src, &dst, IpProtocol::Tcp, len),
            checksum::data(&out),
        ])
    });
    TcpPacket::new_unchecked(&mut out[..]).set_checksum(sum);
    out
}

/// An ICMP message.
fn icmp(spec: &IcmpSpec) -> Vec<u8> {
    let (ty, code, quote) = match &spec.kind {
        IcmpKind::EchoRequest => (8, 0, None),
        IcmpKind::EchoReply => (0, 0, None),
        IcmpKind::DstUnreachable { code, quote } => (3, *code, Some(quoted(quote))),
        IcmpKind::TimeExceeded { code, quote } => (11, *code, Some(quoted(quote))),
        IcmpKind::Raw { ty, code } => (*ty, *code, None),
    };
    let mut out = vec![0u8; 8];
    out.extend(quote.unwrap_or_default());
    out.extend(spec.payload.to_vec());
    let mut p = Icmpv4Packet::new_unchecked(&mut out[..]);
    p.set_msg_type(Icmpv4Message::from(ty));
    p.set_msg_code(code);
    p.set_echo_ident(spec.ident);
    p.set_echo_seq_no(spec.seq);
    p.set_checksum(0);
    let sum = fill(spec.checksum, || !checksum::data(&out));
    Icmpv4Packet::new_unchecked(&mut out[..]).set_checksum(sum);
    out
}

/// The quoted start of a datagram inside an ICMP error: a valid 20-byte IPv4 header
/// and 8 bytes of UDP header or ICMP echo, possibly cut short.
fn quoted(q: &Quote) -> Vec<u8> {
    let mut out = vec![0u8; 28];
    let mut ip = Ipv4Packet::new_unchecked(&mut out[..]);
    ip.set_version(4);
    ip.set_header_len(20);
    ip.set_total_len(28);
    ip.set_hop_limit(64);
    ip.set_next_header(if q.udp {
        IpProtocol::Udp
    } else {
        IpProtocol::Icmp
    });
    ip.set_src_addr(q.src.resolve());
    ip.set_dst_addr(q.dst.resolve());
    ip.fill_checksum();
    if q.udp {
        let mut u = UdpPacket::new_unchecked(&mut out[20..]);
        u.set_src_port(q.src_port.resolve());
        u.set_dst_port(q.dst_port.resolve());
        u.set_len(8);
    } else {
        out[20] = 8; // echo request
    }
    if q.cut != 0 {
        out.truncate(usize::from(q.cut) % 28);
    }
    out
}
