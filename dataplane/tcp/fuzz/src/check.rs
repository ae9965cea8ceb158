//! What every frame the engine's interface transmits must look like, checked on its
//! own terms (no ix-net or ix-tcp parser is trusted to check its own output).
//!
//! [`frame`] checks one frame in isolation: Ethernet from us to a resolved peer (or
//! an ARP request), IPv4 well-formed with a right header checksum, TCP well-formed
//! with a right checksum, flags and options a TCP may send. What depends on the
//! connection (sequence space, MSS, what was negotiated, the bytes themselves) is
//! checked by [`crate::world`], which knows the flows.

use crate::addrs::{peer_index, peer_mac, OUR_IP, OUR_MAC, RESOLVED_PEERS};
use crate::wire::{be16, be32, fold, sum16, tcp_checksum, ETH_LEN, IP_LEN, TCP_LEN};
use ix_tcp::seq::Seq;
use std::net::Ipv4Addr;

/// A TCP segment the engine sent, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Out {
    /// Destination address (a peer).
    pub dst: Ipv4Addr,
    /// Source (the engine's) port.
    pub sport: u16,
    /// Destination (the peer's) port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flags.
    pub flags: u8,
    /// Window field.
    pub window: u16,
    /// MSS option.
    pub mss: Option<u16>,
    /// Window scale option.
    pub wscale: Option<u8>,
    /// SACK-permitted option.
    pub sack_permitted: bool,
    /// SACK blocks.
    pub sack: Vec<(Seq, Seq)>,
    /// TSopt: `(TSval, TSecr)`.
    pub ts: Option<(u32, u32)>,
    /// Payload.
    pub payload: Vec<u8>,
}

/// What a transmitted frame was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// An ARP request (the start-up announcement, or for the unresolved peer).
    ArpRequest,
    /// A TCP segment.
    Tcp(Out),
}

/// Checks one transmitted frame from an interface with this `mtu`.
pub fn frame(b: &[u8], mtu: usize) -> Result<Sent, String> {
    if b.len() < ETH_LEN {
        return Err(format!("{}-byte runt", b.len()));
    }
    if b[6..12] != OUR_MAC {
        return Err("Ethernet source is not ours".into());
    }
    match be16(b, 12) {
        0x0806 => arp(b),
        0x0800 => ipv4(b, mtu).map(Sent::Tcp),
        t => Err(format!("sent ethertype {t:#06x}")),
    }
}

/// An ARP request from us, broadcast, for our own address or the unresolved peer.
fn arp(b: &[u8]) -> Result<Sent, String> {
    let a = b.get(ETH_LEN..ETH_LEN + 28).ok_or("truncated ARP")?;
    if b[0..6] != [0xff; 6] {
        return Err("ARP request not broadcast".into());
    }
    if a[0..8] != [0, 1, 8, 0, 6, 4, 0, 1] {
        return Err(format!(
            "ARP header {:?} is not an Ethernet/IPv4 request",
            &a[0..8]
        ));
    }
    if a[8..14] != OUR_MAC || a[14..18] != OUR_IP.octets() {
        return Err("ARP sender is not us".into());
    }
    let target = Ipv4Addr::new(a[24], a[25], a[26], a[27]);
    let unresolved = peer_index(target).is_some_and(|i| i >= RESOLVED_PEERS);
    if target != OUR_IP && !unresolved {
        return Err(format!("ARP request for {target}, which is resolved"));
    }
    Ok(Sent::ArpRequest)
}

/// IPv4 from us to a resolved peer, carrying a checked TCP segment.
fn ipv4(b: &[u8], mtu: usize) -> Result<Out, String> {
    let ip = &b[ETH_LEN..];
    if ip.len() < IP_LEN || ip[0] != 0x45 {
        return Err(format!("IPv4 header starts {:?}", ip.first()));
    }
    let total = usize::from(be16(ip, 2));
    if total != ip.len() || total < IP_LEN {
        return Err(format!("IPv4 total length {total} in {} bytes", ip.len()));
    }
    if total > mtu {
        return Err(format!("{total}-byte packet over MTU {mtu}"));
    }
    if fold(sum16(&ip[..IP_LEN], 0)) != 0 {
        return Err("bad IPv4 header checksum".into());
    }
    if be16(ip, 6) & 0x3fff != 0 || ip[8] == 0 {
        return Err("sent a fragment or TTL 0".into());
    }
    if ip[9] != 6 {
        return Err(format!("sent IP protocol {}", ip[9]));
    }
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    if src != OUR_IP {
        return Err(format!("IPv4 source {src}"));
    }
    let peer = peer_index(dst).ok_or(format!("TCP to {dst}, not a peer"))?;
    if peer >= RESOLVED_PEERS || b[0..6] != peer_mac(peer) {
        return Err(format!("TCP to {dst} sent to Ethernet {:?}", &b[0..6]));
    }
    tcp(dst, &ip[IP_LEN..total])
}

/// A well-formed TCP segment with a right checksum, flags and options a TCP sends.
fn tcp(dst: Ipv4Addr, s: &[u8]) -> Result<Out, String> {
    if s.len() < TCP_LEN {
        return Err(format!("{}-byte TCP segment", s.len()));
    }
    if tcp_checksum(OUR_IP, dst, s) != 0 {
        return Err("bad TCP checksum".into());
    }
    let hlen = usize::from(s[12] >> 4) * 4;
    if hlen < TCP_LEN || hlen > s.len() || s[12] & 0x0f != 0 {
        return Err(format!(
            "data offset byte {:#04x} in {} bytes",
            s[12],
            s.len()
        ));
    }
    let (sport, dport) = (be16(s, 0), be16(s, 2));
    if sport == 0 || dport == 0 {
        return Err("port 0".into());
    }
    let flags = s[13];
    let payload = s[hlen..].to_vec();
    flag_rules(flags, payload.len())?;
    if be16(s, 18) != 0 {
        return Err("urgent pointer set".into());
    }
    let mut out = Out {
        dst,
        sport,
        dport,
        seq: be32(s, 4),
        ack: be32(s, 8),
        flags,
        window: be16(s, 14),
        mss: None,
        wscale: None,
        sack_permitted: false,
        sack: Vec::new(),
        ts: None,
        payload,
    };
    options(&s[TCP_LEN..hlen], &mut out)?;
    Ok(out)
}

/// Flag combinations a TCP sends.
fn flag_rules(flags: u8, payload: usize) -> Result<(), String> {
    use crate::peer::{ACK, FIN, RST, SYN};
    let bad = |why: &str| Err(format!("flags {flags:#04x}: {why}"));
    if flags & 0xe0 != 0 {
        return bad("URG, ECE or CWR set");
    }
    if flags & SYN != 0 && flags & (FIN | RST) != 0 {
        return bad("SYN with FIN or RST");
    }
    if flags & RST != 0 && (flags & FIN != 0 || payload > 0) {
        return bad("RST with FIN or data");
    }
    if flags & SYN != 0 && payload > 0 {
        return bad("data on a SYN");
    }
    if flags & (SYN | RST) == 0 && flags & ACK == 0 {
        return bad("no ACK outside SYN and RST");
    }
    Ok(())
}

/// Options: only MSS, window scale and SACK-permitted on SYNs, SACK blocks on
/// others, TSopt (at most once) on any, NOP padding, END then zeros.
fn options(mut o: &[u8], out: &mut Out) -> Result<(), String> {
    use crate::peer::SYN;
    let syn = out.flags & SYN != 0;
    while let Some(&kind) = o.first() {
        match kind {
            0 => {
                return if o.iter().all(|&b| b == 0) {
                    Ok(())
                } else {
                    Err("bytes after END".into())
                };
            }
            1 => {
                o = &o[1..];
                continue;
            }
            _ => {}
        }
        let len = usize::from(*o.get(1).ok_or("option without length")?);
        let body = o.get(2..len).ok_or(format!("option {kind} length {len}"))?;
        match (kind, body.len(), syn) {
            (2, 2, true) => out.mss = Some(be16(body, 0)),
            (3, 1, true) if body[0] <= 14 => out.wscale = Some(body[0]),
            (4, 0, true) => out.sack_permitted = true,
            (8, 8, _) if out.ts.is_none() => out.ts = Some((be32(body, 0), be32(body, 4))),
            (5, n, false) if n > 0 && n % 8 == 0 && n <= 32 => {
                for b in body.chunks_exact(8) {
                    out.sack.push((Seq(be32(b, 0)), Seq(be32(b, 4))));
                }
            }
            _ => return Err(format!("option {kind} length {len} (SYN: {syn})")),
        }
        o = &o[len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addrs::PEER_IPS;
    use crate::wire::{frame_from, Checksum, RawSeg};

    /// A frame as the engine would send it to peer 0 (built with the peers'
    /// writer, then readdressed).
    fn engine_frame(flags: u8, options: Vec<u8>, payload: &[u8]) -> Vec<u8> {
        let seg = RawSeg {
            sport: 80,
            dport: 4000,
            seq: 1,
            ack: 2,
            flags,
            window: 10,
            options,
            payload: payload.to_vec(),
            offset: None,
            checksum: Checksum::Zero,
        };
        let mut l4 = seg.bytes(OUR_IP);
        let c = tcp_checksum(OUR_IP, PEER_IPS[0], &l4);
        l4[16..18].copy_from_slice(&c.to_be_bytes());
        let mut f = frame_from(0, &l4);
        // Swap the Ethernet and IP addresses: from us to peer 0.
        f[0..6].copy_from_slice(&peer_mac(0));
        f[6..12].copy_from_slice(&OUR_MAC);
        f[26..30].copy_from_slice(&OUR_IP.octets());
        f[30..34].copy_from_slice(&PEER_IPS[0].octets());
        f
    }

    #[test]
    fn accepts_what_a_tcp_sends_and_refuses_the_rest() {
        let ok = engine_frame(0x12, vec![2, 4, 5, 180, 1, 3, 3, 7], b"");
        let Ok(Sent::Tcp(o)) = frame(&ok, 1500) else {
            panic!("{:?}", frame(&ok, 1500));
        };
        assert_eq!((o.mss, o.wscale), (Some(1460), Some(7)));
        assert!(frame(&engine_frame(0x18, vec![], b"data"), 1500).is_ok());
        assert!(frame(&engine_frame(0x18, vec![2, 4, 5, 180], b""), 1500).is_err());
        let ts = crate::tsopt::tsopt_bytes((7, 9)).to_vec();
        let Ok(Sent::Tcp(o)) = frame(&engine_frame(0x10, ts.clone(), b""), 1500) else {
            panic!("TSopt on an ACK refused");
        };
        assert_eq!(o.ts, Some((7, 9)));
        let twice = [ts.clone(), ts].concat();
        assert!(
            frame(&engine_frame(0x10, twice, b""), 1500).is_err(),
            "two TSopts"
        );
        assert!(frame(&engine_frame(0x03, vec![], b""), 1500).is_err());
        assert!(frame(&engine_frame(0x04, vec![], b"x"), 1500).is_err());
        assert!(frame(&engine_frame(0x08, vec![], b""), 1500).is_err());
        assert!(frame(&engine_frame(0x18, vec![], b"data"), 40).is_err());
        let mut bad = engine_frame(0x10, vec![], b"");
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(frame(&bad, 1500).is_err());
    }
}
