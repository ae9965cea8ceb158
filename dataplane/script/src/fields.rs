//! Sets one named field of a layer from its `key=value` token.
//!
//! Each setter returns `Ok(false)` for a key that is not its layer's, so the caller
//! can try the next layer or report the field as unknown.

use crate::defaults::{icmp_code, icmp_type};
use crate::lex::Token;
use crate::parse_frame::{ColError, Dir};
use crate::parse_value::{csum, ip_lit, mac_lit, num, payload, value};
use crate::payload::PayloadSpec;
use crate::spec::{ArpSpec, EthSpec, IcmpSpec, Ipv4Spec, TcpSpec, UdpSpec};
use crate::tcp_flags::TcpFlags;
use crate::tcp_opts::parse_opts;
use crate::value::Value;

/// Sets an Ethernet field; `Ok(false)` if `key` is not one.
pub(crate) fn set_eth(
    eth: &mut EthSpec,
    key: &str,
    val: &Token<'_>,
    dir: Dir,
) -> Result<bool, ColError> {
    match key {
        "src" => eth.src = value(val, dir, mac_lit)?,
        "dst" => eth.dst = value(val, dir, mac_lit)?,
        "type" => eth.ethertype = Some(num(val, dir, 16)?),
        "pad" => eth.pad = Some(payload(val, dir)?),
        _ => return Ok(false),
    }
    Ok(true)
}

/// Sets an ARP field; `Ok(false)` if `key` is not one.
pub(crate) fn set_arp(
    arp: &mut ArpSpec,
    key: &str,
    val: &Token<'_>,
    dir: Dir,
) -> Result<bool, ColError> {
    match key {
        "op" => arp.op = num(val, dir, 16)?,
        "sha" => arp.sha = value(val, dir, mac_lit)?,
        "spa" => arp.spa = value(val, dir, ip_lit)?,
        "tha" => arp.tha = value(val, dir, mac_lit)?,
        "tpa" => arp.tpa = value(val, dir, ip_lit)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Sets an IPv4 field; `Ok(false)` if `key` is not one.
pub(crate) fn set_ip(
    ip: &mut Ipv4Spec,
    key: &str,
    val: &Token<'_>,
    dir: Dir,
) -> Result<bool, ColError> {
    match key {
        "src" => ip.src = value(val, dir, ip_lit)?,
        "dst" => ip.dst = value(val, dir, ip_lit)?,
        "ttl" => ip.ttl = num(val, dir, 8)?,
        "tos" => ip.tos = num(val, dir, 8)?,
        "id" => ip.id = num(val, dir, 16)?,
        "df" => ip.df = num(val, dir, 1)?,
        "mf" => ip.mf = num(val, dir, 1)?,
        "off" => {
            let off = num(val, dir, 16)?;
            if let Value::Exact(n) = off {
                // The field counts 8-byte units in 13 bits.
                if n % 8 != 0 || n / 8 > 0x1fff {
                    return Err((
                        val.col,
                        format!("fragment offset {n} is not a multiple of 8 below 65536"),
                    ));
                }
            }
            ip.off = off;
        }
        "version" => ip.version = num(val, dir, 4)?,
        "ihl" => ip.ihl = Some(num(val, dir, 4)?),
        "len" => ip.len = Some(num(val, dir, 16)?),
        "proto" => ip.proto = Some(num(val, dir, 8)?),
        "options" => {
            let opts = payload(val, dir)?;
            if let PayloadSpec::Bytes(b) = &opts {
                if b.len() > 40 {
                    return Err((val.col, format!("{} option bytes; at most 40 fit", b.len())));
                }
            }
            ip.options = Some(opts);
        }
        "csum" => ip.csum = csum(val, dir)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Sets an ICMP field; `Ok(false)` if `key` is not one.
pub(crate) fn set_icmp(
    icmp: &mut IcmpSpec,
    key: &str,
    val: &Token<'_>,
    dir: Dir,
) -> Result<bool, ColError> {
    match key {
        "type" => icmp.ty = value(val, dir, icmp_type)?,
        "code" => icmp.code = value(val, dir, icmp_code)?,
        "id" => icmp.id = num(val, dir, 16)?,
        "seq" => icmp.seq = num(val, dir, 16)?,
        "payload" => icmp.payload = payload(val, dir)?,
        "csum" => icmp.csum = csum(val, dir)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Sets a UDP field; `Ok(false)` if `key` is not one.
pub(crate) fn set_udp(
    udp: &mut UdpSpec,
    key: &str,
    val: &Token<'_>,
    dir: Dir,
) -> Result<bool, ColError> {
    match key {
        "sport" => udp.sport = num(val, dir, 16)?,
        "dport" => udp.dport = num(val, dir, 16)?,
        "len" => udp.len = Some(num(val, dir, 16)?),
        "payload" => udp.payload = payload(val, dir)?,
        "csum" => udp.csum = csum(val, dir)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Sets a TCP field; `Ok(false)` if `key` is not one. `len=N` is kept as written;
/// the frame parser turns it into filler bytes for an injection.
pub(crate) fn set_tcp(
    tcp: &mut TcpSpec,
    key: &str,
    val: &Token<'_>,
    dir: Dir,
) -> Result<bool, ColError> {
    match key {
        "sport" => tcp.sport = num(val, dir, 16)?,
        "dport" => tcp.dport = num(val, dir, 16)?,
        "seq" => tcp.seq = num(val, dir, 32)?,
        "ack" => tcp.ack = num(val, dir, 32)?,
        "win" => tcp.win = num(val, dir, 16)?,
        "urg" => tcp.urg = num(val, dir, 16)?,
        "off" => tcp.off = Some(num(val, dir, 4)?),
        "flags" => tcp.flags = flags(val, dir)?,
        "opts" => tcp.opts = parse_opts(val, dir)?,
        "payload" => tcp.payload = payload(val, dir)?,
        "len" => tcp.len = Some(num(val, dir, 16)?),
        "csum" => tcp.csum = csum(val, dir)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Parses TCP flags (`S.`), or `*` in an expectation (`None`).
pub(crate) fn flags(val: &Token<'_>, dir: Dir) -> Result<Option<TcpFlags>, ColError> {
    if val.text == "*" {
        if dir == Dir::In {
            return Err((val.col, "`*` cannot be sent: give the flags".to_string()));
        }
        return Ok(None);
    }
    TcpFlags::parse(val.text)
        .map(Some)
        .map_err(|m| (val.col, m))
}
