//! Parses the frame part of a timed line (`icmp echo-request id=1 ...`) into a
//! [`FrameSpec`], filling every field the line leaves out with its direction's default.

use crate::defaults::{
    arp_defaults, eth_defaults, icmp_defaults, ip_defaults, payload_default, tcp_defaults,
    udp_defaults,
};
use crate::fields::{flags, set_arp, set_eth, set_icmp, set_ip, set_tcp, set_udp};
use crate::lex::Token;
use crate::parse_value::{check_payload, ip_lit, mac_lit, payload, value};
use crate::payload::PayloadSpec;
use crate::spec::{BodySpec, FrameSpec, L4Spec, TcpSpec};
use crate::tcp_flags::ACK;
use crate::value::Value;
use std::collections::HashSet;

/// Which way a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// `<`: injected by the peer; every field must have a value.
    In,
    /// `>`: expected from the SUT; fields may be `*`.
    Out,
}

/// A parse failure: 1-based column and message.
pub type ColError = (usize, String);

/// Parses `tokens` (the frame, without time and direction) for direction `dir`.
///
/// Assumes `tokens` is not empty (the caller reports a missing frame).
pub fn parse_frame(tokens: &[Token<'_>], dir: Dir) -> Result<FrameSpec, ColError> {
    let (first, rest) = tokens
        .split_first()
        .ok_or((1, "missing frame".to_string()))?;
    match first.text {
        "raw" => parse_raw(first, rest, dir),
        "arp" => parse_arp(first, rest, dir),
        "icmp" | "udp" | "tcp" | "ipv4" => parse_ip(first, rest, dir),
        other => Err((
            first.col,
            format!("unknown frame kind `{other}` (want raw, arp, icmp, udp, tcp or ipv4)"),
        )),
    }
}

/// `raw PAYLOAD`: a whole frame.
fn parse_raw(kw: &Token<'_>, rest: &[Token<'_>], dir: Dir) -> Result<FrameSpec, ColError> {
    match rest {
        [bytes] => {
            let p = PayloadSpec::parse(bytes.text).map_err(|m| (bytes.col, m))?;
            check_payload(&p, dir).map_err(|m| (bytes.col, m))?;
            if matches!(p, PayloadSpec::Same | PayloadSpec::LastIp(_)) {
                return Err((bytes.col, "a raw frame needs bytes or `*`".to_string()));
            }
            Ok(FrameSpec::Raw(p))
        }
        [] => Err((
            kw.col,
            "`raw` needs the frame's bytes (hex:...)".to_string(),
        )),
        [_, extra, ..] => Err((extra.col, "`raw` takes exactly one value".to_string())),
    }
}

/// `arp request [who-has IP tell IP] | arp reply [IP is-at MAC]`, then fields.
fn parse_arp(kw: &Token<'_>, rest: &[Token<'_>], dir: Dir) -> Result<FrameSpec, ColError> {
    let (op_tok, mut rest) = rest
        .split_first()
        .ok_or((kw.col, "`arp` needs `request` or `reply`".to_string()))?;
    let request = match op_tok.text {
        "request" => true,
        "reply" => false,
        other => {
            return Err((
                op_tok.col,
                format!("unknown ARP operation `{other}` (want request or reply)"),
            ))
        }
    };
    let mut arp = arp_defaults(request, dir);
    // The tcpdump-like phrases are optional sugar for spa/tpa/sha.
    if request {
        if let [w, target, t, sender, tail @ ..] = rest {
            if w.text == "who-has" {
                expect_word(t, "tell")?;
                arp.tpa = value(target, dir, ip_lit)?;
                arp.spa = value(sender, dir, ip_lit)?;
                rest = tail;
            }
        }
    } else if let [sender, w, mac, tail @ ..] = rest {
        if w.text == "is-at" {
            arp.spa = value(sender, dir, ip_lit)?;
            arp.sha = value(mac, dir, mac_lit)?;
            rest = tail;
        }
    }
    let mut eth = eth_defaults(dir, request);
    let mut seen = HashSet::new();
    for tok in rest {
        let (key, val) = split_field(tok, &mut seen)?;
        let known = if let Some(k) = key.strip_prefix("eth.") {
            set_eth(&mut eth, k, &val, dir)?
        } else {
            set_arp(&mut arp, key, &val, dir)?
        };
        if !known {
            return Err(unknown(
                tok,
                key,
                "arp",
                "op sha spa tha tpa eth.src eth.dst eth.type eth.pad",
            ));
        }
    }
    Ok(FrameSpec::Eth(eth, BodySpec::Arp(arp)))
}

/// `icmp KIND ...`, `udp ...`, `tcp FLAGS ...` or `ipv4 ...`.
fn parse_ip(kw: &Token<'_>, rest: &[Token<'_>], dir: Dir) -> Result<FrameSpec, ColError> {
    let mut rest = rest;
    let mut l4 = match kw.text {
        "icmp" => {
            let (kind, tail) = rest.split_first().ok_or((
                kw.col,
                "`icmp` needs a type (echo-request, ...)".to_string(),
            ))?;
            rest = tail;
            L4Spec::Icmp(icmp_defaults(kind, dir)?)
        }
        "udp" => L4Spec::Udp(udp_defaults(dir)),
        "tcp" => {
            let (f, tail) = rest.split_first().ok_or((
                kw.col,
                "`tcp` needs its flags (S, S., ., P., F., R, ...)".to_string(),
            ))?;
            rest = tail;
            L4Spec::Tcp(tcp_defaults(dir, flags(f, dir)?))
        }
        _ => L4Spec::Opaque(payload_default(dir)),
    };
    let mut eth = eth_defaults(dir, false);
    let mut ip = ip_defaults(dir);
    let mut seen = HashSet::new();
    for tok in rest {
        let (key, val) = split_field(tok, &mut seen)?;
        let known = if let Some(k) = key.strip_prefix("eth.") {
            set_eth(&mut eth, k, &val, dir)?
        } else if let Some(k) = key.strip_prefix("ip.") {
            set_ip(&mut ip, k, &val, dir)?
        } else {
            match &mut l4 {
                L4Spec::Icmp(icmp) => set_icmp(icmp, key, &val, dir)?,
                L4Spec::Udp(udp) => set_udp(udp, key, &val, dir)?,
                L4Spec::Tcp(tcp) => set_tcp(tcp, key, &val, dir)?,
                L4Spec::Opaque(p) if key == "payload" => {
                    *p = payload(&val, dir)?;
                    true
                }
                L4Spec::Opaque(_) => set_ip(&mut ip, key, &val, dir)?,
            }
        };
        if !known {
            let fields = match l4 {
                L4Spec::Icmp(_) => "type code id seq payload csum",
                L4Spec::Udp(_) => "sport dport len payload csum",
                L4Spec::Tcp(_) => "sport dport seq ack win urg off flags opts payload len csum",
                L4Spec::Opaque(_) => "payload and the ip fields",
            };
            let all = format!(
                "{fields}; ip.src ip.dst ip.ttl ip.tos ip.id ip.df ip.mf ip.off ip.version \
                 ip.ihl ip.len ip.proto ip.options ip.csum; eth.src eth.dst eth.type eth.pad"
            );
            return Err(unknown(tok, key, kw.text, &all));
        }
    }
    if let L4Spec::Tcp(tcp) = &mut l4 {
        tcp_finish(kw, tcp, &seen, dir)?;
    }
    if dir == Dir::In {
        if let L4Spec::Udp(u) = &l4 {
            if u.sport == Value::Any || u.dport == Value::Any {
                return Err((
                    kw.col,
                    "an injected udp needs sport= and dport=".to_string(),
                ));
            }
        }
        if matches!(l4, L4Spec::Opaque(_)) && ip.proto.is_none() {
            return Err((kw.col, "an injected ipv4 needs proto=".to_string()));
        }
    }
    Ok(FrameSpec::Eth(eth, BodySpec::Ipv4(ip, l4)))
}

/// Checks what a TCP line must say and turns `len=N` into what it means: filler
/// bytes (0, 1, 2, ...) to send, or any data of that length expected.
fn tcp_finish(
    kw: &Token<'_>,
    tcp: &mut TcpSpec,
    seen: &HashSet<&str>,
    dir: Dir,
) -> Result<(), ColError> {
    if let Some(len) = &tcp.len {
        if seen.contains("payload") {
            return Err((kw.col, "give payload= or len=, not both".to_string()));
        }
        match (dir, len) {
            (Dir::In, Value::Exact(n)) => {
                tcp.payload = PayloadSpec::Bytes((0..*n).map(|i| i as u8).collect());
                tcp.len = None;
            }
            (Dir::In, _) => {
                return Err((kw.col, "an injected len= must be a number".to_string()));
            }
            (Dir::Out, _) => tcp.payload = PayloadSpec::Any,
        }
    }
    if dir == Dir::In {
        if !seen.contains("seq") {
            return Err((kw.col, "an injected tcp needs seq=".to_string()));
        }
        let acks = tcp.flags.is_some_and(|f| f.has(ACK));
        if acks && !seen.contains("ack") {
            return Err((
                kw.col,
                "an injected tcp with the ACK flag needs ack=".to_string(),
            ));
        }
    }
    Ok(())
}

/// A `key=value` token's parts, refusing a key given twice.
fn split_field<'a>(
    tok: &Token<'a>,
    seen: &mut HashSet<&'a str>,
) -> Result<(&'a str, Token<'a>), ColError> {
    let (key, val) = tok
        .text
        .split_once('=')
        .ok_or_else(|| (tok.col, format!("expected key=value, got `{}`", tok.text)))?;
    if !seen.insert(key) {
        return Err((tok.col, format!("field `{key}` given twice")));
    }
    let val_tok = Token {
        text: val,
        col: tok.col + key.chars().count() + 1,
    };
    Ok((key, val_tok))
}

/// The error for an unknown field, listing the known ones.
fn unknown(tok: &Token<'_>, key: &str, kind: &str, known: &str) -> ColError {
    (
        tok.col,
        format!("unknown field `{key}` for {kind} (known: {known})"),
    )
}

/// Checks that `tok` is the keyword `word`.
fn expect_word(tok: &Token<'_>, word: &str) -> Result<(), ColError> {
    if tok.text == word {
        Ok(())
    } else {
        Err((tok.col, format!("expected `{word}`, got `{}`", tok.text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokenize;
    use crate::value::Mac;
    use std::net::Ipv4Addr;

    fn frame(line: &str, dir: Dir) -> Result<FrameSpec, ColError> {
        parse_frame(&tokenize(line).unwrap(), dir)
    }

    #[test]
    fn echo_request_with_overrides() {
        let f = frame(
            "icmp echo-request id=1 seq=0x10 payload=hex:0102 ip.ttl=1 eth.dst=ff:ff:ff:ff:ff:ff",
            Dir::In,
        )
        .unwrap();
        let FrameSpec::Eth(eth, BodySpec::Ipv4(ip, L4Spec::Icmp(icmp))) = f else {
            panic!("wrong shape")
        };
        assert_eq!(eth.dst, Value::Exact(Mac::BROADCAST));
        assert_eq!(eth.src, Value::var("peer_mac"));
        assert_eq!(ip.ttl, Value::Exact(1));
        assert_eq!(ip.dst, Value::var("sut_ip"));
        assert_eq!(icmp.ty, Value::Exact(8));
        assert_eq!(icmp.seq, Value::Exact(16));
        assert_eq!(icmp.payload, PayloadSpec::Bytes(vec![1, 2]));
    }

    #[test]
    fn expectations_default_to_any_where_stacks_choose() {
        let f = frame("icmp echo-reply id=1", Dir::Out).unwrap();
        let FrameSpec::Eth(eth, BodySpec::Ipv4(ip, L4Spec::Icmp(icmp))) = f else {
            panic!("wrong shape")
        };
        assert_eq!(eth.src, Value::var("sut_mac"));
        assert_eq!(ip.ttl, Value::Any);
        assert_eq!(ip.src, Value::var("sut_ip"));
        assert_eq!(icmp.code, Value::Exact(0));
        assert_eq!(icmp.seq, Value::Any);
        assert_eq!(icmp.payload, PayloadSpec::Any);
    }

    #[test]
    fn arp_phrases() {
        let f = frame("arp request who-has 10.0.0.2 tell 10.0.0.1", Dir::In).unwrap();
        let FrameSpec::Eth(eth, BodySpec::Arp(arp)) = f else {
            panic!("wrong shape")
        };
        assert_eq!(eth.dst, Value::Exact(Mac::BROADCAST));
        assert_eq!(arp.tpa, Value::Exact(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(arp.spa, Value::Exact(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(arp.tha, Value::Exact(Mac::ZERO));
        let f = frame("arp reply 10.0.0.2 is-at $sut_mac tha=*", Dir::Out).unwrap();
        let FrameSpec::Eth(_, BodySpec::Arp(arp)) = f else {
            panic!("wrong shape")
        };
        assert_eq!(arp.op, Value::Exact(2));
        assert_eq!(arp.sha, Value::var("sut_mac"));
        assert_eq!(arp.tha, Value::Any);
    }

    #[test]
    fn variables_with_offsets() {
        let f = frame("udp sport=$p dport=$p+1", Dir::In).unwrap();
        let FrameSpec::Eth(_, BodySpec::Ipv4(_, L4Spec::Udp(u))) = f else {
            panic!("wrong shape")
        };
        assert_eq!(
            u.dport,
            Value::Var {
                name: "p".into(),
                offset: 1
            }
        );
    }

    #[test]
    fn errors_point_at_the_value() {
        let err = |line: &str, dir| frame(line, dir).unwrap_err();
        assert_eq!(err("icmp echo-request ip.ttl=300", Dir::In).0, 26);
        assert!(err("icmp echo-request ip.ttl=300", Dir::In)
            .1
            .contains("2^8"));
        assert_eq!(err("icmp echo-request tll=3", Dir::In).0, 19);
        assert!(err("icmp echo-request tll=3", Dir::In)
            .1
            .contains("unknown field `tll`"));
        assert!(err("icmp echo-request id=*", Dir::In)
            .1
            .contains("cannot be sent"));
        assert!(err("udp dport=7", Dir::In).1.contains("sport="));
        assert!(err("ipv4 payload=hex:00", Dir::In).1.contains("proto="));
        assert!(err("tcpx S", Dir::In).1.contains("unknown frame kind"));
        assert!(err("icmp echo-request id=1 id=2", Dir::In)
            .1
            .contains("twice"));
        assert!(err("icmp echo-request ip.off=3", Dir::In)
            .1
            .contains("multiple of 8"));
        assert!(err("arp request who-has 10.0.0.2 with 10.0.0.1", Dir::In)
            .1
            .contains("`tell`"));
        assert!(err("raw", Dir::In).1.contains("bytes"));
        assert!(err("icmp bogus", Dir::Out).1.contains("unknown ICMP type"));
    }

    #[test]
    fn raw_and_opaque() {
        assert_eq!(
            frame("raw hex:0001", Dir::In).unwrap(),
            FrameSpec::Raw(PayloadSpec::Bytes(vec![0, 1]))
        );
        let f = frame("ipv4 proto=253 ttl=9 payload=len:2", Dir::In).unwrap();
        let FrameSpec::Eth(_, BodySpec::Ipv4(ip, L4Spec::Opaque(p))) = f else {
            panic!("wrong shape")
        };
        assert_eq!(ip.proto, Some(Value::Exact(253)));
        assert_eq!(ip.ttl, Value::Exact(9));
        assert_eq!(p, PayloadSpec::Bytes(vec![0, 1]));
    }

    #[test]
    fn tcp_lines() {
        let f = frame("tcp S. seq=1 ack=$isn+1 opts=mss:1460 len=3", Dir::In).unwrap();
        let FrameSpec::Eth(_, BodySpec::Ipv4(_, L4Spec::Tcp(t))) = f else {
            panic!("wrong shape")
        };
        assert_eq!(t.flags.map(|f| f.to_string()), Some("S.".to_string()));
        assert_eq!(t.sport, Value::var("peer_port"));
        assert_eq!(t.payload, PayloadSpec::Bytes(vec![0, 1, 2]));
        assert_eq!(t.win, Value::Exact(65535));
        let f = frame("tcp * len=10", Dir::Out).unwrap();
        let FrameSpec::Eth(_, BodySpec::Ipv4(_, L4Spec::Tcp(t))) = f else {
            panic!("wrong shape")
        };
        assert_eq!(t.flags, None);
        assert_eq!(t.sport, Value::var("sut_port"));
        assert_eq!(t.payload, PayloadSpec::Any);
        assert_eq!(t.len, Some(Value::Exact(10)));
        let err = |line: &str, dir| frame(line, dir).unwrap_err().1;
        assert!(err("tcp", Dir::In).contains("flags"));
        assert!(err("tcp S", Dir::In).contains("seq="));
        assert!(err("tcp . seq=1", Dir::In).contains("ack="));
        assert!(err("tcp * seq=1", Dir::In).contains("cannot be sent"));
        assert!(err("tcp SX seq=1", Dir::In).contains("unknown TCP flag"));
        assert!(err("tcp . len=1 payload=\"a\"", Dir::Out).contains("not both"));
        assert!(err("tcp S seq=1 len=$n", Dir::In).contains("number"));
        assert!(err("tcp S seq=1 bogus=1", Dir::In).contains("unknown field"));
    }
}
