//! Reads a TCP segment's fields leniently, and shows them in script syntax.

use crate::payload::to_hex;
use crate::tcp_flags::TcpFlags;
use crate::tcp_opts::{decode_opts, show_list, Opt};
use core::fmt;
use smoltcp::wire::{checksum, IpProtocol};
use std::net::Ipv4Addr;

/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;

/// A TCP segment's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tcp<'a> {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Data offset field, in 32-bit words.
    pub off: u8,
    /// Flags.
    pub flags: TcpFlags,
    /// Window field.
    pub win: u16,
    /// Checksum field.
    pub csum: u16,
    /// Whether the checksum verifies.
    pub csum_ok: bool,
    /// Urgent pointer.
    pub urg: u16,
    /// The options, as read (a data offset past the segment leaves them cut short).
    pub opts: Vec<Opt>,
    /// The option bytes, as read.
    pub opt_bytes: &'a [u8],
    /// Whether the data offset is below 5 or past the segment.
    pub bad_off: bool,
    /// Data after the header.
    pub payload: &'a [u8],
}

/// Decodes the TCP segment `bytes` sent from `src` to `dst`; `None` if shorter than a
/// header.
pub fn decode_tcp<'a>(src: Ipv4Addr, dst: Ipv4Addr, bytes: &'a [u8]) -> Option<Tcp<'a>> {
    if bytes.len() < 20 {
        return None;
    }
    let be16 = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
    let be32 = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let off = bytes[12] >> 4;
    let claimed = 4 * usize::from(off);
    let hdr_len = claimed.clamp(20, bytes.len());
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    let pseudo = checksum::pseudo_header_v4(&src, &dst, IpProtocol::Tcp, len);
    Some(Tcp {
        sport: be16(0),
        dport: be16(2),
        seq: be32(4),
        ack: be32(8),
        off,
        flags: TcpFlags(bytes[13]),
        win: be16(14),
        csum: be16(16),
        csum_ok: checksum::combine(&[pseudo, checksum::data(bytes)]) == 0xffff,
        urg: be16(18),
        opts: decode_opts(&bytes[20..hdr_len]),
        opt_bytes: &bytes[20..hdr_len],
        bad_off: claimed != hdr_len,
        payload: &bytes[hdr_len..],
    })
}

/// Payloads longer than this are shown by length only.
const SHOWN: usize = 16;

impl fmt::Display for Tcp<'_> {
    /// Shows the segment as an expectation would be written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tcp {} sport={} dport={} seq={} ack={} win={}",
            self.flags, self.sport, self.dport, self.seq, self.ack, self.win
        )?;
        if !self.opts.is_empty() {
            write!(f, " opts={}", show_list(&self.opts))?;
        }
        if self.urg != 0 {
            write!(f, " urg={}", self.urg)?;
        }
        if self.bad_off {
            write!(f, " off={}", self.off)?;
        }
        match self.payload.len() {
            0 => Ok(()),
            n if n <= SHOWN => write!(f, " payload=hex:{}", to_hex(self.payload)),
            n => write!(f, " len={n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_lying_headers_never_panic() {
        let a = Ipv4Addr::new(10, 0, 0, 1);
        assert!(decode_tcp(a, a, &[0; 19]).is_none());
        let mut seg = [0u8; 24];
        seg[12] = 15 << 4; // claims 60 bytes of header
        let t = decode_tcp(a, a, &seg).unwrap();
        assert!(t.bad_off);
        assert!(t.payload.is_empty());
        seg[12] = 2 << 4;
        let t = decode_tcp(a, a, &seg).unwrap();
        assert!(t.bad_off);
        assert_eq!(t.payload.len(), 4);
        assert!(t.to_string().contains("off=2"), "{t}");
    }
}
