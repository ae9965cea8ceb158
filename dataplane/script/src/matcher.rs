//! Compares a frame the SUT sent with an expectation, field by field.

mod tcp;

use crate::build::History;
use crate::decode::{
    decode, Arp, Body, Ip, ETHERTYPE_ARP, ETHERTYPE_IPV4, L4, PROTO_ICMP, PROTO_UDP,
};
use crate::decode_tcp::PROTO_TCP;
use crate::error::FieldDiff;
use crate::payload::{to_hex, PayloadSpec};
use crate::spec::{ArpSpec, BodySpec, CsumSpec, FrameSpec, IcmpSpec, Ipv4Spec, L4Spec, UdpSpec};
use crate::value::{Bindings, FieldType, Value};

/// Every way `frame` differs from `spec`; empty when it matches.
///
/// Unbound variables in `spec` are bound to what `frame` holds (see [`Bindings::check`]).
pub fn match_frame(
    spec: &FrameSpec,
    frame: &[u8],
    vars: &mut Bindings,
    hist: &History,
) -> Vec<FieldDiff> {
    let mut m = Matcher {
        vars,
        hist,
        diffs: Vec::new(),
    };
    match spec {
        FrameSpec::Raw(p) => m.payload("frame", p, frame),
        FrameSpec::Eth(eth, body) => match decode(frame) {
            None => m.diff(
                "frame",
                "an Ethernet frame",
                format!("{} bytes", frame.len()),
            ),
            Some(d) => {
                m.field("eth.src", &eth.src, d.src, 48);
                m.field("eth.dst", &eth.dst, d.dst, 48);
                let implied = match body {
                    BodySpec::Arp(_) => ETHERTYPE_ARP,
                    BodySpec::Ipv4(..) => ETHERTYPE_IPV4,
                };
                let ethertype = eth
                    .ethertype
                    .clone()
                    .unwrap_or(Value::Exact(u64::from(implied)));
                m.field("eth.type", &ethertype, u64::from(d.ethertype), 16);
                let body_len = match (body, &d.body) {
                    (BodySpec::Arp(want), Body::Arp(got)) => {
                        m.arp(want, got);
                        Some(ARP_LEN)
                    }
                    (BodySpec::Ipv4(ip, l4), Body::Ipv4(got)) => {
                        m.ip(ip, l4, got);
                        Some(got.datagram.len())
                    }
                    (_, Body::Other(why, _)) => {
                        m.diff("frame", kind(body), why.clone());
                        None
                    }
                    (_, got) => {
                        m.diff("frame", kind(body), body_kind(got).to_string());
                        None
                    }
                };
                if let (Some(pad), Some(len)) = (&eth.pad, body_len) {
                    let trailer = frame.get(14 + len..).unwrap_or_default();
                    m.payload("eth.pad", pad, trailer);
                }
            }
        },
    }
    m.diffs
}

/// Bytes of an Ethernet/IPv4 ARP packet.
const ARP_LEN: usize = 28;

/// What a body spec expects, for a diff.
fn kind(body: &BodySpec) -> &'static str {
    match body {
        BodySpec::Arp(_) => "arp",
        BodySpec::Ipv4(..) => "ipv4",
    }
}

/// What a decoded body is, for a diff.
fn body_kind(body: &Body<'_>) -> &'static str {
    match body {
        Body::Arp(_) => "arp",
        Body::Ipv4(_) => "ipv4",
        Body::Other(..) => "something else",
    }
}

/// One comparison in progress.
struct Matcher<'v, 'h> {
    vars: &'v mut Bindings,
    hist: &'h History,
    diffs: Vec<FieldDiff>,
}

impl Matcher<'_, '_> {
    /// Records a difference.
    fn diff(&mut self, field: &str, expected: impl Into<String>, got: impl Into<String>) {
        self.diffs.push(FieldDiff {
            field: field.to_string(),
            expected: expected.into(),
            got: got.into(),
        });
    }

    /// Compares one field of width `bits`.
    fn field<T: FieldType>(&mut self, name: &str, want: &Value<T>, got: T, bits: u32) {
        if let Err(expected) = self.vars.check(want, got, bits) {
            self.diff(name, expected, got.to_string());
        }
    }

    /// Compares a numeric field.
    fn num(&mut self, name: &str, want: &Value<u64>, got: impl Into<u64>, bits: u32) {
        self.field(name, want, got.into(), bits);
    }

    /// Compares bytes with a payload spec.
    fn payload(&mut self, name: &str, want: &PayloadSpec, got: &[u8]) {
        let Some(want) = self.hist.resolve(want) else {
            return;
        };
        if want != got {
            let at = want
                .iter()
                .zip(got)
                .position(|(a, b)| a != b)
                .unwrap_or(want.len().min(got.len()));
            self.diff(
                name,
                format!("{} bytes hex:{}", want.len(), to_hex(want)),
                format!(
                    "{} bytes hex:{} (first difference at byte {at})",
                    got.len(),
                    to_hex(got)
                ),
            );
        }
    }

    /// Compares a checksum, given whether it verifies.
    fn csum(&mut self, name: &str, want: CsumSpec, got: u16, ok: bool) {
        let fine = match want {
            CsumSpec::Any => true,
            CsumSpec::Valid => ok,
            CsumSpec::Bad => !ok && got != 0,
            CsumSpec::Zero => got == 0,
            CsumSpec::Exact(v) => v == got,
        };
        if !fine {
            let expected = match want {
                CsumSpec::Valid => "a valid checksum".to_string(),
                CsumSpec::Bad => "a bad checksum".to_string(),
                CsumSpec::Zero => "0".to_string(),
                CsumSpec::Exact(v) => format!("0x{v:04x}"),
                CsumSpec::Any => String::new(),
            };
            let verdict = if ok { "valid" } else { "invalid" };
            self.diff(name, expected, format!("0x{got:04x} ({verdict})"));
        }
    }

    /// Compares an ARP packet.
    fn arp(&mut self, want: &ArpSpec, got: &Arp) {
        if got.formats != (1, 0x0800, 6, 4) {
            self.diff("arp.format", "Ethernet/IPv4", format!("{:?}", got.formats));
        }
        self.num("op", &want.op, got.op, 16);
        self.field("sha", &want.sha, got.sha, 48);
        self.field("spa", &want.spa, got.spa, 32);
        self.field("tha", &want.tha, got.tha, 48);
        self.field("tpa", &want.tpa, got.tpa, 32);
    }

    /// Compares an IPv4 datagram and its payload.
    fn ip(&mut self, want: &Ipv4Spec, l4: &L4Spec, got: &Ip<'_>) {
        self.num("ip.version", &want.version, got.version, 4);
        if let Some(ihl) = &want.ihl {
            self.num("ip.ihl", ihl, got.ihl, 4);
        }
        self.num("ip.tos", &want.tos, got.tos, 8);
        match &want.len {
            Some(len) => self.num("ip.len", len, got.len, 16),
            None if usize::from(got.len) != got.datagram.len() => self.diff(
                "ip.len",
                format!("the datagram's length ({})", got.datagram.len()),
                got.len.to_string(),
            ),
            None => {}
        }
        self.num("ip.id", &want.id, got.id, 16);
        self.num("ip.df", &want.df, got.df, 1);
        self.num("ip.mf", &want.mf, got.mf, 1);
        self.num("ip.off", &want.off, got.off, 16);
        self.num("ip.ttl", &want.ttl, got.ttl, 8);
        let implied = match l4 {
            L4Spec::Icmp(_) => Value::Exact(u64::from(PROTO_ICMP)),
            L4Spec::Udp(_) => Value::Exact(u64::from(PROTO_UDP)),
            L4Spec::Tcp(_) => Value::Exact(u64::from(PROTO_TCP)),
            L4Spec::Opaque(_) => Value::Any,
        };
        self.num(
            "ip.proto",
            want.proto.as_ref().unwrap_or(&implied),
            got.proto,
            8,
        );
        self.csum("ip.csum", want.csum, got.csum, got.csum_ok);
        self.field("ip.src", &want.src, got.src, 32);
        self.field("ip.dst", &want.dst, got.dst, 32);
        if let Some(opts) = &want.options {
            self.payload("ip.options", opts, got.options);
        }
        match (l4, &got.l4) {
            (L4Spec::Icmp(w), L4::Icmp { .. }) => self.icmp(w, &got.l4),
            (L4Spec::Udp(w), L4::Udp { .. }) => self.udp(
                w,
                &got.l4,
                got.datagram.len().saturating_sub(4 * usize::from(got.ihl)),
            ),
            (L4Spec::Tcp(w), L4::Tcp(t)) => self.tcp(w, t),
            (L4Spec::Opaque(p), got_l4) => self.payload("payload", p, got_l4.payload()),
            (L4Spec::Icmp(_), _) => self.diff("ip.payload", "an ICMP message", "something else"),
            (L4Spec::Udp(_), _) => self.diff("ip.payload", "a UDP datagram", "something else"),
            (L4Spec::Tcp(_), _) => self.diff("ip.payload", "a TCP segment", "something else"),
        }
    }

    /// Compares an ICMP message; assumes `got` is [`L4::Icmp`].
    fn icmp(&mut self, want: &IcmpSpec, got: &L4<'_>) {
        if let L4::Icmp {
            ty,
            code,
            id,
            seq,
            csum,
            csum_ok,
            payload,
        } = *got
        {
            self.num("type", &want.ty, ty, 8);
            self.num("code", &want.code, code, 8);
            self.num("id", &want.id, id, 16);
            self.num("seq", &want.seq, seq, 16);
            self.csum("csum", want.csum, csum, csum_ok);
            self.payload("payload", &want.payload, payload);
        }
    }

    /// Compares a UDP datagram whose IP payload is `ip_payload_len` bytes; assumes
    /// `got` is [`L4::Udp`].
    fn udp(&mut self, want: &UdpSpec, got: &L4<'_>, ip_payload_len: usize) {
        if let L4::Udp {
            sport,
            dport,
            len,
            csum,
            csum_ok,
            payload,
        } = *got
        {
            self.num("sport", &want.sport, sport, 16);
            self.num("dport", &want.dport, dport, 16);
            match &want.len {
                Some(l) => self.num("len", l, len, 16),
                None if usize::from(len) != ip_payload_len => self.diff(
                    "len",
                    format!("the IP payload's length ({ip_payload_len})"),
                    len.to_string(),
                ),
                None => {}
            }
            self.csum("csum", want.csum, csum, csum_ok);
            self.payload("payload", &want.payload, payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::build;
    use crate::lex::tokenize;
    use crate::parse_frame::{parse_frame, Dir};
    use crate::value::{Bound, Mac};
    use std::net::Ipv4Addr;

    fn vars() -> Bindings {
        let mut b = Bindings::default();
        b.bind("sut_mac", Bound::Mac(Mac([2, 0, 0, 0, 0, 2])));
        b.bind("peer_mac", Bound::Mac(Mac([2, 0, 0, 0, 0, 1])));
        b.bind("sut_ip", Bound::Ip(Ipv4Addr::new(10, 0, 0, 2)));
        b.bind("peer_ip", Bound::Ip(Ipv4Addr::new(10, 0, 0, 1)));
        b
    }

    /// A frame the SUT might send, written as an injection with the roles swapped.
    fn sent(line: &str) -> Vec<u8> {
        let swapped = format!(
            "{line} eth.src=$sut_mac eth.dst=$peer_mac {}",
            if line.starts_with("arp") {
                ""
            } else {
                "ip.src=$sut_ip ip.dst=$peer_ip"
            }
        );
        let spec = parse_frame(&tokenize(&swapped).unwrap(), Dir::In).unwrap();
        build(&spec, &vars(), &History::default()).unwrap()
    }

    fn diffs(expect: &str, frame: &[u8], hist: &History) -> Vec<(String, String, String)> {
        let spec = parse_frame(&tokenize(expect).unwrap(), Dir::Out).unwrap();
        match_frame(&spec, frame, &mut vars(), hist)
            .into_iter()
            .map(|d| (d.field, d.expected, d.got))
            .collect()
    }

    #[test]
    fn a_matching_frame_has_no_diffs() {
        let f = sent("icmp echo-reply id=1 seq=2 payload=\"x\"");
        assert!(diffs(
            "icmp echo-reply id=1 seq=2 payload=hex:78",
            &f,
            &History::default()
        )
        .is_empty());
        assert!(diffs("icmp * ip.ttl=64 ip.df=0", &f, &History::default()).is_empty());
    }

    #[test]
    fn every_differing_field_is_named() {
        let f = sent("icmp echo-reply id=1 seq=2 ip.ttl=255");
        let d = diffs(
            "icmp echo-reply id=1 seq=1 ip.ttl=64",
            &f,
            &History::default(),
        );
        assert_eq!(
            d,
            vec![
                ("ip.ttl".into(), "64".into(), "255".into()),
                ("seq".into(), "1".into(), "2".into()),
            ]
        );
    }

    #[test]
    fn checksums_and_lengths_are_verified_by_default() {
        let f = sent("icmp echo-reply csum=bad");
        assert_eq!(
            diffs("icmp echo-reply", &f, &History::default())[0].0,
            "csum"
        );
        assert!(diffs("icmp echo-reply csum=*", &f, &History::default()).is_empty());
        let f = sent("udp sport=7 dport=9 payload=\"abc\" len=9");
        let d = diffs("udp csum=*", &f, &History::default());
        assert_eq!(d[0].0, "len", "{d:?}");
        let f = sent("udp sport=7 dport=9 csum=zero");
        assert_eq!(diffs("udp", &f, &History::default())[0].0, "csum");
        assert!(diffs("udp csum=zero", &f, &History::default()).is_empty());
    }

    #[test]
    fn wrong_kind_of_frame() {
        let f = sent("arp reply 10.0.0.2 is-at 02:00:00:00:00:02");
        let d = diffs("icmp echo-reply", &f, &History::default());
        assert!(
            d.contains(&("frame".into(), "ipv4".into(), "arp".into())),
            "{d:?}"
        );
        let d = diffs("udp", &sent("icmp echo-reply"), &History::default());
        assert_eq!(d[0].0, "ip.proto");
        let d = diffs("icmp echo-reply", &[0u8; 6], &History::default());
        assert_eq!(d[0].0, "frame");
    }

    #[test]
    fn payload_diff_points_at_first_difference() {
        let f = sent("udp sport=7 dport=9 payload=\"abcd\"");
        let d = diffs("udp payload=\"abXd\"", &f, &History::default());
        assert_eq!(d.len(), 1);
        assert!(d[0].2.contains("first difference at byte 2"), "{d:?}");
    }

    #[test]
    fn same_and_last_ip_use_history() {
        let mut h = History::default();
        let request = sent("udp sport=9 dport=7 payload=\"ping\"");
        h.record(&request);
        let echo = sent("udp sport=7 dport=9 payload=\"ping\"");
        assert!(diffs("udp payload=same", &echo, &h).is_empty());
        let other = sent("udp sport=7 dport=9 payload=\"pong\"");
        assert_eq!(diffs("udp payload=same", &other, &h)[0].0, "payload");
        let quote = sent(&format!(
            "icmp dest-unreachable code=3 payload=hex:{}",
            crate::payload::to_hex(&request[14..])
        ));
        assert!(diffs(
            "icmp dest-unreachable code=port-unreachable payload=last-ip",
            &quote,
            &h
        )
        .is_empty());
        assert!(!diffs("icmp dest-unreachable payload=last-ip:28", &quote, &h).is_empty());
    }

    #[test]
    fn variables_bind_from_the_frame() {
        let f = sent("udp sport=33000 dport=9");
        let spec = parse_frame(&tokenize("udp sport=$eph").unwrap(), Dir::Out).unwrap();
        let mut v = vars();
        assert!(match_frame(&spec, &f, &mut v, &History::default()).is_empty());
        assert_eq!(v.get("eph"), Some(Bound::Num(33000)));
        let spec = parse_frame(&tokenize("udp sport=$eph+1").unwrap(), Dir::Out).unwrap();
        assert_eq!(match_frame(&spec, &f, &mut v, &History::default()).len(), 1);
    }

    #[test]
    fn raw_and_pad() {
        let f = sent("icmp echo-reply");
        let exact = format!("raw hex:{}", crate::payload::to_hex(&f));
        assert!(diffs(&exact, &f, &History::default()).is_empty());
        assert_eq!(diffs("raw hex:00", &f, &History::default())[0].0, "frame");
        let mut padded = f.clone();
        padded.extend_from_slice(&[0; 4]);
        assert!(diffs("icmp echo-reply", &padded, &History::default()).is_empty());
        assert_eq!(
            diffs("icmp echo-reply eth.pad=hex:", &padded, &History::default())[0].0,
            "eth.pad"
        );
    }

    #[test]
    fn tcp_segment_round_trips_through_builder_and_matcher() {
        let f = sent(
            "tcp S. sport=8080 dport=4000 seq=7 ack=1001 win=64240 opts=mss:1460,nop,nop,sackOK",
        );
        assert!(diffs(
            "tcp S. sport=8080 dport=4000 seq=7 ack=1001 win=64240 opts=mss:1460,nop,nop,sackOK",
            &f,
            &History::default()
        )
        .is_empty());
        // Without nop/eol, options match in any order, padding ignored.
        assert!(diffs("tcp S. opts=sackOK,mss:1460", &f, &History::default()).is_empty());
        assert!(diffs("tcp * opts=*", &f, &History::default()).is_empty());
        let d = diffs("tcp S. opts=mss:1460", &f, &History::default());
        assert_eq!(d[0].0, "opts", "{d:?}");
        assert!(d[0].2.contains("unexpected sackOK"), "{d:?}");
        let d = diffs(
            "tcp S. opts=mss:1460,sackOK,wscale:7",
            &f,
            &History::default(),
        );
        assert!(d[0].2.contains("no wscale"), "{d:?}");
        let d = diffs("tcp S opts=*", &f, &History::default());
        assert_eq!(d, vec![("flags".into(), "S".into(), "S.".into())]);
    }

    #[test]
    fn tcp_sequence_variables_bind_and_wrap() {
        let f = sent("tcp S. sport=1 dport=2 seq=4294967295 ack=1");
        let spec = parse_frame(&tokenize("tcp S. seq=$isn").unwrap(), Dir::Out).unwrap();
        let mut v = vars();
        v.bind("sut_port", Bound::Num(1));
        v.bind("peer_port", Bound::Num(2));
        assert!(match_frame(&spec, &f, &mut v, &History::default()).is_empty());
        let g = sent("tcp . sport=1 dport=2 seq=0 ack=1 opts=sack:9:10");
        let spec = parse_frame(
            &tokenize("tcp . seq=$isn+1 opts=sack:$isn+10:$isn+11").unwrap(),
            Dir::Out,
        )
        .unwrap();
        assert!(match_frame(&spec, &g, &mut v, &History::default()).is_empty());
        let spec = parse_frame(&tokenize("tcp . seq=$isn+2").unwrap(), Dir::Out).unwrap();
        let d = match_frame(&spec, &g, &mut v, &History::default());
        assert_eq!(d[0].field, "seq");
    }

    #[test]
    fn tcp_payload_len_and_checksum() {
        let f = sent("tcp P. sport=1 dport=2 seq=1 ack=1 len=5");
        assert!(diffs("tcp P. len=5", &f, &History::default()).is_empty());
        assert!(diffs("tcp P. payload=len:5", &f, &History::default()).is_empty());
        assert_eq!(diffs("tcp P. len=4", &f, &History::default())[0].0, "len");
        // An expectation without len= or payload= wants no data.
        assert_eq!(diffs("tcp P.", &f, &History::default())[0].0, "payload");
        let bad = sent("tcp . sport=1 dport=2 seq=1 ack=1 csum=bad");
        assert_eq!(diffs("tcp .", &bad, &History::default())[0].0, "csum");
        assert!(diffs("tcp . csum=bad", &bad, &History::default()).is_empty());
        let d = diffs("tcp .", &sent("udp sport=1 dport=2"), &History::default());
        assert_eq!(d[0].0, "ip.proto");
    }
}
