//! The TCP header (RFC 9293 3.1): a typed view for parsing and a writer for emitting,
//! in smoltcp's style but with wrap-aware [`Seq`] fields and no allocation.

use crate::options::{OptionError, TcpOptions};
use crate::seq::Seq;

/// Bytes in an option-less TCP header.
pub const HEADER_LEN: usize = 20;
/// The largest header: 15 32-bit words.
pub const MAX_HEADER_LEN: usize = 60;

/// The control bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// No more data from the sender.
    pub const FIN: Flags = Flags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x02);
    /// Reset the connection.
    pub const RST: Flags = Flags(0x04);
    /// Push.
    pub const PSH: Flags = Flags(0x08);
    /// The acknowledgment field is significant.
    pub const ACK: Flags = Flags(0x10);
    /// The urgent pointer is significant (ignored by this engine).
    pub const URG: Flags = Flags(0x20);

    /// Whether every bit of `other` is set.
    #[inline]
    pub const fn has(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of both.
    #[inline]
    pub const fn with(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }
}

/// Why a segment could not be parsed (the engine counts it and drops the segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Shorter than its header.
    Truncated,
    /// Data offset below 5 words or past the segment.
    BadOffset,
    /// Malformed options.
    Options(OptionError),
}

/// A parsed TCP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Sender's port.
    pub src_port: u16,
    /// Receiver's port.
    pub dst_port: u16,
    /// Sequence number of the first octet (or of the SYN).
    pub seq: Seq,
    /// Next sequence number the sender expects (if `ACK` is set).
    pub ack: Seq,
    /// Control bits.
    pub flags: Flags,
    /// Window field, unscaled.
    pub window: u16,
    /// Header length in bytes, options included.
    pub header_len: usize,
    /// Parsed options.
    pub options: TcpOptions,
}

impl Header {
    /// Parses the header at the start of `seg` (header + payload); checks the data
    /// offset against the length and parses the options. The checksum is not checked.
    pub fn parse(seg: &[u8]) -> Result<Header, HeaderError> {
        let Some(fixed) = seg.get(..HEADER_LEN) else {
            return Err(HeaderError::Truncated);
        };
        let be16 = |i: usize| u16::from_be_bytes([fixed[i], fixed[i + 1]]);
        let be32 =
            |i: usize| u32::from_be_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
        let header_len = usize::from(fixed[12] >> 4) * 4;
        if header_len < HEADER_LEN || header_len > seg.len() {
            return Err(HeaderError::BadOffset);
        }
        let options = match seg.get(HEADER_LEN..header_len) {
            Some(o) if !o.is_empty() => TcpOptions::parse(o).map_err(HeaderError::Options)?,
            _ => TcpOptions::default(),
        };
        Ok(Header {
            src_port: be16(0),
            dst_port: be16(2),
            seq: Seq(be32(4)),
            ack: Seq(be32(8)),
            flags: Flags(fixed[13] & 0x3f),
            window: be16(14),
            header_len,
            options,
        })
    }

    /// Bytes this header takes on the wire, options and padding included.
    pub fn emitted_len(&self) -> usize {
        HEADER_LEN + self.options.emitted_len()
    }

    /// Writes the header (checksum field zero) into the front of `buf`, which must be
    /// at least [`Header::emitted_len`] long; returns the bytes written, 0 if it does
    /// not fit.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.emitted_len();
        let Some(out) = buf.get_mut(..len) else {
            return 0;
        };
        out[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        out[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        out[4..8].copy_from_slice(&self.seq.0.to_be_bytes());
        out[8..12].copy_from_slice(&self.ack.0.to_be_bytes());
        // len <= 60 by construction of TcpOptions (at most 40 bytes of options).
        out[12] = ((len / 4) as u8) << 4;
        out[13] = self.flags.0;
        out[14..16].copy_from_slice(&self.window.to_be_bytes());
        out[16..20].fill(0);
        self.options.emit(&mut out[HEADER_LEN..]);
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::{IpAddress, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber};

    #[test]
    fn emits_what_smoltcp_parses_and_parses_what_it_emits() {
        let opts = TcpOptions {
            mss: Some(1460),
            wscale: Some(7),
            sack_permitted: true,
            ..TcpOptions::default()
        };
        let h = Header {
            src_port: 80,
            dst_port: 5555,
            seq: Seq(u32::MAX - 3),
            ack: Seq(42),
            flags: Flags::SYN.with(Flags::ACK),
            window: 65535,
            header_len: 0,
            options: opts,
        };
        let mut buf = [0u8; 60];
        let n = h.emit(&mut buf);
        assert_eq!(n % 4, 0);
        let p = TcpPacket::new_checked(&buf[..n]).unwrap();
        let src = IpAddress::v4(10, 0, 0, 1);
        let r = TcpRepr::parse(
            &p,
            &src,
            &src,
            &smoltcp::phy::ChecksumCapabilities::ignored(),
        )
        .unwrap();
        assert_eq!((r.src_port, r.dst_port), (80, 5555));
        assert_eq!(r.seq_number, TcpSeqNumber((u32::MAX - 3) as i32));
        assert_eq!(r.control, TcpControl::Syn);
        assert_eq!(r.ack_number, Some(TcpSeqNumber(42)));
        assert_eq!(r.max_seg_size, Some(1460));
        assert_eq!(r.window_scale, Some(7));
        assert!(r.sack_permitted);
        let back = Header::parse(&buf[..n]).unwrap();
        assert_eq!(back.header_len, n);
        assert_eq!(
            Header {
                header_len: 0,
                ..back
            },
            h
        );
    }

    #[test]
    fn bad_offsets_and_truncation_refused() {
        assert_eq!(Header::parse(&[0u8; 19]), Err(HeaderError::Truncated));
        let mut b = [0u8; 20];
        b[12] = 4 << 4;
        assert_eq!(Header::parse(&b), Err(HeaderError::BadOffset));
        b[12] = 6 << 4;
        assert_eq!(Header::parse(&b), Err(HeaderError::BadOffset));
        b[12] = 5 << 4;
        b[13] = 0xff;
        assert_eq!(
            Header::parse(&b).unwrap().flags,
            Flags(0x3f),
            "ECN bits masked"
        );
    }
}
