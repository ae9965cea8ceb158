//! What a frame line leaves out: each field's default, by direction.
//!
//! Injected frames go from the peer to the SUT with plain, valid headers; expected
//! frames come from the SUT to the peer, and fields a stack may choose freely (TTL,
//! TOS, IP id, DF, ICMP id/seq, ports, payload) default to `*`.

use crate::lex::Token;
use crate::parse_frame::{ColError, Dir};
use crate::parse_value::num_lit;
use crate::payload::PayloadSpec;
use crate::spec::{ArpSpec, CsumSpec, EthSpec, IcmpSpec, Ipv4Spec, TcpSpec, UdpSpec};
use crate::tcp_flags::TcpFlags;
use crate::tcp_opts::OptsSpec;
use crate::value::{Mac, Value};

/// Ethernet defaults: the peer talks to the SUT; ARP requests go to broadcast.
pub(crate) fn eth_defaults(dir: Dir, broadcast: bool) -> EthSpec {
    let (src, dst) = match dir {
        Dir::In => ("peer_mac", "sut_mac"),
        Dir::Out => ("sut_mac", "peer_mac"),
    };
    EthSpec {
        src: Value::var(src),
        dst: if broadcast {
            Value::Exact(Mac::BROADCAST)
        } else {
            Value::var(dst)
        },
        ethertype: None,
        pad: None,
    }
}

/// ARP defaults: the sender is the frame's source, the target the other side.
pub(crate) fn arp_defaults(request: bool, dir: Dir) -> ArpSpec {
    let (me, me_ip, other, other_ip) = match dir {
        Dir::In => ("peer_mac", "peer_ip", "sut_mac", "sut_ip"),
        Dir::Out => ("sut_mac", "sut_ip", "peer_mac", "peer_ip"),
    };
    let tha = match (request, dir) {
        (true, Dir::In) => Value::Exact(Mac::ZERO),
        // Stacks differ in what they put in a request's unknown target address.
        (true, Dir::Out) => Value::Any,
        (false, _) => Value::var(other),
    };
    ArpSpec {
        op: Value::Exact(if request { 1 } else { 2 }),
        sha: Value::var(me),
        spa: Value::var(me_ip),
        tha,
        tpa: Value::var(other_ip),
    }
}

/// IPv4 defaults: a plain datagram from the sender to the other side; expectations
/// leave TTL, TOS, identification and DF to the stack.
pub(crate) fn ip_defaults(dir: Dir) -> Ipv4Spec {
    let (src, dst, free) = match dir {
        Dir::In => ("peer_ip", "sut_ip", Value::Exact(0)),
        Dir::Out => ("sut_ip", "peer_ip", Value::Any),
    };
    Ipv4Spec {
        src: Value::var(src),
        dst: Value::var(dst),
        ttl: if dir == Dir::In {
            Value::Exact(64)
        } else {
            Value::Any
        },
        tos: free.clone(),
        id: free.clone(),
        df: free,
        mf: Value::Exact(0),
        off: Value::Exact(0),
        version: Value::Exact(4),
        ihl: None,
        len: None,
        proto: None,
        options: None,
        csum: CsumSpec::Valid,
    }
}

/// Payload default: none sent, anything accepted.
pub(crate) fn payload_default(dir: Dir) -> PayloadSpec {
    match dir {
        Dir::In => PayloadSpec::Bytes(Vec::new()),
        Dir::Out => PayloadSpec::Any,
    }
}

/// ICMP defaults for the message type `kind` names.
pub(crate) fn icmp_defaults(kind: &Token<'_>, dir: Dir) -> Result<IcmpSpec, ColError> {
    let ty = match kind.text {
        "*" if dir == Dir::Out => Value::Any,
        name => Value::Exact(icmp_type(name).ok_or_else(|| {
            (
                kind.col,
                format!(
                    "unknown ICMP type `{name}` (want echo-request, echo-reply, \
                     dest-unreachable, time-exceeded, param-problem, a number or *)"
                ),
            )
        })?),
    };
    let echo = matches!(ty, Value::Exact(0 | 8));
    let free = match dir {
        Dir::In => Value::Exact(0),
        Dir::Out => Value::Any,
    };
    Ok(IcmpSpec {
        ty,
        code: if echo || dir == Dir::In {
            Value::Exact(0)
        } else {
            Value::Any
        },
        id: free.clone(),
        seq: free,
        payload: payload_default(dir),
        csum: CsumSpec::Valid,
    })
}

/// UDP defaults (ports have none when injected: the caller insists on them).
pub(crate) fn udp_defaults(dir: Dir) -> UdpSpec {
    UdpSpec {
        sport: Value::Any,
        dport: Value::Any,
        len: None,
        payload: payload_default(dir),
        csum: CsumSpec::Valid,
    }
}

/// The window an injected segment advertises unless it says otherwise.
pub(crate) const PEER_WINDOW: u64 = 65535;

/// TCP defaults for a segment with `flags` (`None`: `*`).
///
/// Ports default to the variables `$peer_port` and `$sut_port` (bound by the `ports`
/// directive, or by the first expectation that shows them), so most lines need not
/// repeat them. Injected: no options, no data, window [`PEER_WINDOW`], and an ACK
/// number of 0 (the caller insists on `seq=`, and on `ack=` with the ACK flag).
/// Expected: no options, no data, urgent pointer 0, and sequence, acknowledgment
/// and window numbers left to the line (`*` unless written).
pub(crate) fn tcp_defaults(dir: Dir, flags: Option<TcpFlags>) -> TcpSpec {
    let (src, dst) = match dir {
        Dir::In => ("peer_port", "sut_port"),
        Dir::Out => ("sut_port", "peer_port"),
    };
    let (ack, win) = match dir {
        Dir::In => (Value::Exact(0), Value::Exact(PEER_WINDOW)),
        Dir::Out => (Value::Any, Value::Any),
    };
    TcpSpec {
        sport: Value::var(src),
        dport: Value::var(dst),
        flags,
        seq: Value::Any,
        ack,
        win,
        urg: Value::Exact(0),
        off: None,
        opts: OptsSpec::List(Vec::new()),
        payload: PayloadSpec::Bytes(Vec::new()),
        len: None,
        csum: CsumSpec::Valid,
    }
}

/// The ICMP type a name (or number) stands for.
pub(crate) fn icmp_type(name: &str) -> Option<u64> {
    Some(match name {
        "echo-reply" => 0,
        "dest-unreachable" => 3,
        "source-quench" => 4,
        "redirect" => 5,
        "echo-request" => 8,
        "time-exceeded" => 11,
        "param-problem" => 12,
        "timestamp" => 13,
        "timestamp-reply" => 14,
        n => return num_lit(n, 8),
    })
}

/// The ICMP code a name (or number) stands for.
pub(crate) fn icmp_code(name: &str) -> Option<u64> {
    Some(match name {
        "net-unreachable" | "ttl-exceeded" => 0,
        "host-unreachable" | "reassembly-timeout" => 1,
        "protocol-unreachable" => 2,
        "port-unreachable" => 3,
        "frag-needed" => 4,
        n => return num_lit(n, 8),
    })
}
