//! Builds the bytes of a frame to inject from its spec.
//!
//! Layers are written with smoltcp's `wire` packet views; checksums are computed
//! here over the bytes actually present, so a deliberately wrong length field can
//! never make the builder read past its buffer.

use crate::build_tcp::build_tcp;
use crate::decode::{decode, Body, PROTO_ICMP, PROTO_UDP};
use crate::decode_tcp::PROTO_TCP;
use crate::payload::PayloadSpec;
use crate::spec::{ArpSpec, BodySpec, CsumSpec, EthSpec, FrameSpec, Ipv4Spec, L4Spec};
use crate::value::{Bindings, Mac};
use smoltcp::wire::{
    checksum, ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    IpProtocol, Ipv4Packet, UdpPacket,
};
use std::net::Ipv4Addr;

/// What earlier injected frames left behind for `same` and `last-ip`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The payload of the last injected packet (ICMP data, UDP data, IPv4 payload).
    pub payload: Vec<u8>,
    /// The whole IPv4 datagram of the last injected frame.
    pub ip: Vec<u8>,
}

impl History {
    /// Records `frame` as the last injected one.
    pub fn record(&mut self, frame: &[u8]) {
        if let Some(Body::Ipv4(ip)) = decode(frame).map(|d| d.body) {
            self.payload = ip.l4.payload().to_vec();
            self.ip = ip.datagram.to_vec();
        }
    }

    /// The bytes `p` stands for; `None` for `*`.
    pub fn resolve<'a>(&'a self, p: &'a PayloadSpec) -> Option<&'a [u8]> {
        match p {
            PayloadSpec::Bytes(b) => Some(b),
            PayloadSpec::Same => Some(&self.payload),
            PayloadSpec::LastIp(None) => Some(&self.ip),
            PayloadSpec::LastIp(Some(n)) => Some(&self.ip[..(*n).min(self.ip.len())]),
            PayloadSpec::Any => None,
        }
    }
}

/// Builds `spec` into frame bytes; errors name what could not be resolved.
pub fn build(spec: &FrameSpec, vars: &Bindings, hist: &History) -> Result<Vec<u8>, String> {
    match spec {
        FrameSpec::Raw(p) => bytes(p, hist),
        FrameSpec::Eth(eth, body) => {
            let (ethertype, payload) = match body {
                BodySpec::Arp(arp) => (EthernetProtocol::Arp, build_arp(arp, vars)?),
                BodySpec::Ipv4(ip, l4) => (EthernetProtocol::Ipv4, build_ip(ip, l4, vars, hist)?),
            };
            let mut frame = build_eth(eth, ethertype, &payload, vars)?;
            if let Some(pad) = &eth.pad {
                frame.extend_from_slice(&bytes(pad, hist)?);
            }
            Ok(frame)
        }
    }
}

/// The bytes of a payload to send.
pub(crate) fn bytes(p: &PayloadSpec, hist: &History) -> Result<Vec<u8>, String> {
    hist.resolve(p)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "`*` cannot be sent".to_string())
}

/// Wraps `payload` in an Ethernet header.
fn build_eth(
    eth: &EthSpec,
    ethertype: EthernetProtocol,
    payload: &[u8],
    vars: &Bindings,
) -> Result<Vec<u8>, String> {
    let src: Mac = vars.resolve(&eth.src, 48)?;
    let dst: Mac = vars.resolve(&eth.dst, 48)?;
    let ethertype = match &eth.ethertype {
        Some(v) => EthernetProtocol::from(narrow16(vars.resolve(v, 16)?)),
        None => ethertype,
    };
    let mut buf = vec![0u8; 14 + payload.len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    frame.set_src_addr(EthernetAddress(src.0));
    frame.set_dst_addr(EthernetAddress(dst.0));
    frame.set_ethertype(ethertype);
    frame.payload_mut().copy_from_slice(payload);
    Ok(buf)
}

/// An ARP packet for IPv4 over Ethernet.
fn build_arp(arp: &ArpSpec, vars: &Bindings) -> Result<Vec<u8>, String> {
    let repr = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::from(narrow16(vars.resolve(&arp.op, 16)?)),
        source_hardware_addr: EthernetAddress(vars.resolve::<Mac>(&arp.sha, 48)?.0),
        source_protocol_addr: vars.resolve(&arp.spa, 32)?,
        target_hardware_addr: EthernetAddress(vars.resolve::<Mac>(&arp.tha, 48)?.0),
        target_protocol_addr: vars.resolve(&arp.tpa, 32)?,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    Ok(buf)
}

/// An IPv4 datagram carrying `l4`.
fn build_ip(
    ip: &Ipv4Spec,
    l4: &L4Spec,
    vars: &Bindings,
    hist: &History,
) -> Result<Vec<u8>, String> {
    let src: Ipv4Addr = vars.resolve(&ip.src, 32)?;
    let dst: Ipv4Addr = vars.resolve(&ip.dst, 32)?;
    let (proto, payload) = build_l4(l4, src, dst, vars, hist)?;
    let mut options = match &ip.options {
        Some(p) => bytes(p, hist)?,
        None => Vec::new(),
    };
    // Options end on a 32-bit boundary; zero is End of Option List.
    options.resize(options.len().div_ceil(4) * 4, 0);
    if options.len() > 40 {
        return Err(format!("{} option bytes; at most 40 fit", options.len()));
    }
    let hdr_len = 20 + options.len();
    let total = hdr_len + payload.len();
    let mut buf = vec![0u8; total];
    buf[20..hdr_len].copy_from_slice(&options);
    buf[hdr_len..].copy_from_slice(&payload);
    let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
    p.set_version(narrow8(vars.resolve(&ip.version, 4)?));
    let ihl = match &ip.ihl {
        Some(v) => narrow8(vars.resolve(v, 4)?),
        None => narrow8(hdr_len as u64 / 4),
    };
    p.set_header_len(ihl * 4);
    let len = match &ip.len {
        Some(v) => narrow16(vars.resolve(v, 16)?),
        None => u16::try_from(total).map_err(|_| format!("{total}-byte datagram is too long"))?,
    };
    p.set_total_len(len);
    p.set_ident(narrow16(vars.resolve(&ip.id, 16)?));
    p.clear_flags();
    p.set_dont_frag(vars.resolve(&ip.df, 1)? == 1);
    p.set_more_frags(vars.resolve(&ip.mf, 1)? == 1);
    p.set_frag_offset(narrow16(vars.resolve(&ip.off, 16)?));
    p.set_hop_limit(narrow8(vars.resolve(&ip.ttl, 8)?));
    let proto = match &ip.proto {
        Some(v) => narrow8(vars.resolve(v, 8)?),
        None => proto,
    };
    p.set_next_header(IpProtocol::from(proto));
    p.set_src_addr(src);
    p.set_dst_addr(dst);
    let tos = narrow8(vars.resolve(&ip.tos, 8)?);
    p.set_dscp(tos >> 2);
    p.set_ecn(tos & 0b11);
    p.set_checksum(0);
    let sum = !checksum::data(&buf[..hdr_len]);
    let csum = apply(ip.csum, sum)?;
    buf[10..12].copy_from_slice(&csum.to_be_bytes());
    Ok(buf)
}

/// The protocol number and bytes of an IPv4 payload.
fn build_l4(
    l4: &L4Spec,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    vars: &Bindings,
    hist: &History,
) -> Result<(u8, Vec<u8>), String> {
    match l4 {
        L4Spec::Opaque(p) => Ok((0, bytes(p, hist)?)),
        L4Spec::Tcp(tcp) => Ok((PROTO_TCP, build_tcp(tcp, src, dst, vars, hist)?)),
        L4Spec::Icmp(icmp) => {
            let data = bytes(&icmp.payload, hist)?;
            let mut buf = vec![0u8; 8 + data.len()];
            buf[0] = narrow8(vars.resolve(&icmp.ty, 8)?);
            buf[1] = narrow8(vars.resolve(&icmp.code, 8)?);
            buf[4..6].copy_from_slice(&narrow16(vars.resolve(&icmp.id, 16)?).to_be_bytes());
            buf[6..8].copy_from_slice(&narrow16(vars.resolve(&icmp.seq, 16)?).to_be_bytes());
            buf[8..].copy_from_slice(&data);
            let csum = apply(icmp.csum, !checksum::data(&buf))?;
            buf[2..4].copy_from_slice(&csum.to_be_bytes());
            Ok((PROTO_ICMP, buf))
        }
        L4Spec::Udp(udp) => {
            let data = bytes(&udp.payload, hist)?;
            let real_len = 8 + data.len();
            let len = match &udp.len {
                Some(v) => narrow16(vars.resolve(v, 16)?),
                None => u16::try_from(real_len)
                    .map_err(|_| format!("{real_len}-byte datagram is too long"))?,
            };
            let mut buf = vec![0u8; real_len];
            // The data first: smoltcp finds the payload by the length field, which
            // may be deliberately wrong.
            buf[8..].copy_from_slice(&data);
            let mut p = UdpPacket::new_unchecked(&mut buf[..]);
            p.set_src_port(narrow16(vars.resolve(&udp.sport, 16)?));
            p.set_dst_port(narrow16(vars.resolve(&udp.dport, 16)?));
            p.set_len(len);
            p.set_checksum(0);
            let pseudo = checksum::pseudo_header_v4(&src, &dst, IpProtocol::Udp, u32::from(len));
            let sum = !checksum::combine(&[pseudo, checksum::data(&buf)]);
            // RFC 768: a computed zero is sent as all ones; zero means "no checksum".
            let sum = if sum == 0 { 0xffff } else { sum };
            let csum = apply(udp.csum, sum)?;
            buf[6..8].copy_from_slice(&csum.to_be_bytes());
            Ok((PROTO_UDP, buf))
        }
    }
}

/// The checksum to write, given the correct one.
pub(crate) fn apply(spec: CsumSpec, correct: u16) -> Result<u16, String> {
    Ok(match spec {
        CsumSpec::Valid => correct,
        CsumSpec::Zero => 0,
        CsumSpec::Exact(v) => v,
        CsumSpec::Bad => bad_checksum(correct),
        CsumSpec::Any => return Err("`csum=*` cannot be sent".to_string()),
    })
}

/// A checksum that is wrong however it is read: not the correct one, not its other
/// ones'-complement spelling, and not zero (UDP's "no checksum").
pub fn bad_checksum(correct: u16) -> u16 {
    let bad = correct ^ 0x5a5a;
    if bad == 0 || bad == 0xffff {
        correct ^ 0x0101
    } else {
        bad
    }
}

/// The low 8 bits; callers pass values the parser bounded to the field's width.
fn narrow8(v: u64) -> u8 {
    (v & 0xff) as u8
}

/// The low 16 bits; callers pass values the parser bounded to the field's width.
pub(crate) fn narrow16(v: u64) -> u16 {
    (v & 0xffff) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode, Body, L4};
    use crate::lex::tokenize;
    use crate::parse_frame::{parse_frame, Dir};
    use crate::value::Bound;

    fn vars() -> Bindings {
        let mut b = Bindings::default();
        b.bind("sut_mac", Bound::Mac(Mac([2, 0, 0, 0, 0, 2])));
        b.bind("peer_mac", Bound::Mac(Mac([2, 0, 0, 0, 0, 1])));
        b.bind("sut_ip", Bound::Ip(Ipv4Addr::new(10, 0, 0, 2)));
        b.bind("peer_ip", Bound::Ip(Ipv4Addr::new(10, 0, 0, 1)));
        b
    }

    fn inject(line: &str) -> Result<Vec<u8>, String> {
        let spec = parse_frame(&tokenize(line).unwrap(), Dir::In).unwrap();
        build(&spec, &vars(), &History::default())
    }

    fn ip_of(frame: &[u8]) -> crate::decode::Ip<'_> {
        match decode(frame).unwrap().body {
            Body::Ipv4(ip) => ip,
            other => panic!("not ipv4: {other:?}"),
        }
    }

    #[test]
    fn echo_request_is_well_formed() {
        let f =
            inject("icmp echo-request id=7 seq=9 payload=\"abc\" ip.ttl=3 ip.tos=0xb9").unwrap();
        let d = decode(&f).unwrap();
        assert_eq!(d.src, Mac([2, 0, 0, 0, 0, 1]));
        assert_eq!(d.dst, Mac([2, 0, 0, 0, 0, 2]));
        let ip = ip_of(&f);
        assert!(ip.csum_ok);
        assert_eq!((ip.ttl, ip.tos, ip.len, ip.ihl), (3, 0xb9, 31, 5));
        assert_eq!(ip.src, Ipv4Addr::new(10, 0, 0, 1));
        let L4::Icmp {
            ty,
            id,
            seq,
            csum_ok,
            payload,
            ..
        } = ip.l4
        else {
            panic!("not icmp")
        };
        assert_eq!(
            (ty, id, seq, csum_ok, payload),
            (8, 7, 9, true, &b"abc"[..])
        );
    }

    #[test]
    fn checksums_can_be_broken_on_purpose() {
        let ip = |line| ip_of(&inject(line).unwrap()).clone().csum_ok;
        assert!(!ip("icmp echo-request ip.csum=bad"));
        let f = inject("icmp echo-request csum=bad").unwrap();
        assert!(matches!(ip_of(&f).l4, L4::Icmp { csum_ok: false, .. }));
        let f = inject("udp sport=1 dport=2 payload=\"x\"").unwrap();
        assert!(matches!(ip_of(&f).l4, L4::Udp { csum_ok: true, .. }));
        let f = inject("udp sport=1 dport=2 csum=zero").unwrap();
        assert!(matches!(ip_of(&f).l4, L4::Udp { csum: 0, .. }));
        let f = inject("udp sport=1 dport=2 csum=bad").unwrap();
        assert!(matches!(ip_of(&f).l4, L4::Udp { csum_ok: false, csum, .. } if csum != 0));
        for correct in [0, 0x5a5a, 0xa5a5, 0xffff, 0x1234] {
            let bad = bad_checksum(correct);
            assert!(bad != correct && bad != 0 && bad != 0xffff, "{correct:#x}");
        }
    }

    #[test]
    fn lying_length_fields_never_overrun() {
        let f = inject("udp sport=1 dport=2 payload=\"abc\" len=100").unwrap();
        assert_eq!(f.len(), 14 + 20 + 8 + 3);
        let f = inject("icmp echo-request ip.ihl=15 ip.len=9000").unwrap();
        assert_eq!(f.len(), 14 + 20 + 8);
        assert_eq!(f[14] & 0x0f, 15);
    }

    #[test]
    fn options_are_padded_and_counted() {
        let f = inject("icmp echo-request ip.options=hex:0101").unwrap();
        let ip = ip_of(&f);
        assert_eq!((ip.ihl, ip.options), (6, &[1, 1, 0, 0][..]));
        assert!(ip.csum_ok);
    }

    #[test]
    fn fragments_and_trailers() {
        let f =
            inject("ipv4 proto=1 id=5 mf=1 off=16 payload=hex:00112233 eth.pad=hex:ffff").unwrap();
        let ip = ip_of(&f);
        assert_eq!((ip.id, ip.mf, ip.off, ip.proto), (5, true, 16, 1));
        assert_eq!(ip.l4, L4::Opaque(&[0, 0x11, 0x22, 0x33]));
        assert_eq!(&f[f.len() - 2..], &[0xff, 0xff]);
    }

    #[test]
    fn arp_request_is_broadcast() {
        let f = inject("arp request who-has 10.0.0.2 tell 10.0.0.1").unwrap();
        let d = decode(&f).unwrap();
        assert_eq!(d.dst, Mac::BROADCAST);
        let Body::Arp(a) = d.body else {
            panic!("not arp")
        };
        assert_eq!((a.op, a.tha, a.formats), (1, Mac::ZERO, (1, 0x0800, 6, 4)));
    }

    #[test]
    fn unbound_variables_are_reported() {
        let err = inject("udp sport=$p dport=7").unwrap_err();
        assert!(err.contains("$p"), "{err}");
    }

    #[test]
    fn history_feeds_same_and_last_ip() {
        let mut h = History::default();
        let f = inject("udp sport=1 dport=2 payload=\"abc\"").unwrap();
        h.record(&f);
        assert_eq!(h.payload, b"abc");
        assert_eq!(h.ip, &f[14..]);
        assert_eq!(h.resolve(&PayloadSpec::LastIp(Some(20))), Some(&f[14..34]));
        assert_eq!(h.resolve(&PayloadSpec::LastIp(Some(999))), Some(&f[14..]));
        assert_eq!(h.resolve(&PayloadSpec::Any), None);
    }
}
