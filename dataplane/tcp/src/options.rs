//! TCP options (RFC 9293 3.2, RFC 7323, RFC 2018): parsing what peers send, emitting
//! ours, 4-byte aligned with NOP padding as Linux does.

use crate::seq::Seq;
use arrayvec::ArrayVec;

const END: u8 = 0;
const NOP: u8 = 1;
const MSS: u8 = 2;
const WSCALE: u8 = 3;
const SACK_PERMITTED: u8 = 4;
const SACK: u8 = 5;
const TIMESTAMPS: u8 = 8;

/// The most option bytes a header carries.
pub const MAX_OPTIONS_LEN: usize = 40;
/// The largest window shift RFC 7323 allows.
pub const MAX_WSCALE: u8 = 14;
/// The most SACK blocks one segment carries (4 without timestamps).
pub const MAX_SACK_BLOCKS: usize = 4;

/// Malformed options: the segment is dropped (RFC 9293 3.1 allows either that or
/// ignoring them; a length running past the header means the header is garbage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionError {
    /// An option's length byte is missing, below 2, or runs past the header.
    BadLength,
    /// A known option with the wrong length.
    BadKnownLength(u8),
}

/// The options this engine understands; unknown ones are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum segment size (SYN only).
    pub mss: Option<u16>,
    /// Window scale shift (SYN only), clamped to 14 when parsed.
    pub wscale: Option<u8>,
    /// SACK permitted (SYN only).
    pub sack_permitted: bool,
    /// SACK blocks: `(left, right)` edges, right exclusive.
    pub sack: ArrayVec<(Seq, Seq), MAX_SACK_BLOCKS>,
    /// Timestamps `(TSval, TSecr)`: parsed; this engine does not negotiate them.
    pub timestamps: Option<(u32, u32)>,
}

impl TcpOptions {
    /// Parses the option bytes of a header (after the fixed 20 bytes).
    pub fn parse(mut b: &[u8]) -> Result<TcpOptions, OptionError> {
        let mut o = TcpOptions::default();
        while let Some(&kind) = b.first() {
            match kind {
                END => break,
                NOP => {
                    b = &b[1..];
                    continue;
                }
                _ => {}
            }
            let len = usize::from(*b.get(1).ok_or(OptionError::BadLength)?);
            if len < 2 || len > b.len() {
                return Err(OptionError::BadLength);
            }
            let body = &b[2..len];
            match kind {
                MSS => {
                    let v: [u8; 2] = body
                        .try_into()
                        .map_err(|_| OptionError::BadKnownLength(kind))?;
                    o.mss = Some(u16::from_be_bytes(v));
                }
                WSCALE => {
                    let &[s] = body else {
                        return Err(OptionError::BadKnownLength(kind));
                    };
                    // RFC 7323 2.3: a shift above 14 is used as 14.
                    o.wscale = Some(s.min(MAX_WSCALE));
                }
                SACK_PERMITTED => {
                    if !body.is_empty() {
                        return Err(OptionError::BadKnownLength(kind));
                    }
                    o.sack_permitted = true;
                }
                SACK => {
                    if body.is_empty() || !body.len().is_multiple_of(8) {
                        return Err(OptionError::BadKnownLength(kind));
                    }
                    for blk in body.chunks_exact(8) {
                        let l = u32::from_be_bytes([blk[0], blk[1], blk[2], blk[3]]);
                        let r = u32::from_be_bytes([blk[4], blk[5], blk[6], blk[7]]);
                        // At most 4 fit a header; extra blocks are impossible, ignore.
                        let _ = o.sack.try_push((Seq(l), Seq(r)));
                    }
                }
                TIMESTAMPS => {
                    if body.len() != 8 {
                        return Err(OptionError::BadKnownLength(kind));
                    }
                    let v = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                    let e = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                    o.timestamps = Some((v, e));
                }
                _ => {}
            }
            b = &b[len..];
        }
        Ok(o)
    }

    /// How many SACK blocks fit beside the other options.
    fn sack_room(&self) -> usize {
        let other = self.fixed_len();
        (MAX_OPTIONS_LEN.saturating_sub(other + 4) / 8).min(self.sack.len())
    }

    /// Bytes the options other than SACK take, padding included.
    fn fixed_len(&self) -> usize {
        let mut n = 0;
        if self.mss.is_some() {
            n += 4;
        }
        if self.sack_permitted {
            n += 4;
        }
        if self.wscale.is_some() {
            n += 4;
        }
        if self.timestamps.is_some() {
            n += 12;
        }
        n
    }

    /// Bytes the options take when emitted (a multiple of 4, at most 40).
    pub fn emitted_len(&self) -> usize {
        let blocks = self.sack_room();
        self.fixed_len() + if blocks > 0 { 4 + 8 * blocks } else { 0 }
    }

    /// Writes the options into the front of `buf` (at least
    /// [`TcpOptions::emitted_len`] bytes); returns the bytes written. SACK blocks
    /// that do not fit are left out (the first ones are kept: the most recent).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.emitted_len();
        let Some(out) = buf.get_mut(..len) else {
            return 0;
        };
        let mut i = 0;
        let mut put = |bytes: &[u8]| {
            out[i..i + bytes.len()].copy_from_slice(bytes);
            i += bytes.len();
        };
        if let Some(m) = self.mss {
            let m = m.to_be_bytes();
            put(&[MSS, 4, m[0], m[1]]);
        }
        if self.sack_permitted {
            put(&[NOP, NOP, SACK_PERMITTED, 2]);
        }
        if let Some(s) = self.wscale {
            put(&[NOP, WSCALE, 3, s]);
        }
        if let Some((v, e)) = self.timestamps {
            put(&[NOP, NOP, TIMESTAMPS, 10]);
            put(&v.to_be_bytes());
            put(&e.to_be_bytes());
        }
        let blocks = self.sack_room();
        if blocks > 0 {
            put(&[NOP, NOP, SACK, (2 + 8 * blocks) as u8]);
            for &(l, r) in self.sack.iter().take(blocks) {
                put(&l.0.to_be_bytes());
                put(&r.0.to_be_bytes());
            }
        }
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_every_option() {
        let mut o = TcpOptions {
            mss: Some(536),
            wscale: Some(3),
            sack_permitted: true,
            timestamps: Some((1, 2)),
            ..TcpOptions::default()
        };
        let mut buf = [0u8; 40];
        let n = o.emit(&mut buf);
        assert_eq!(n, 24);
        assert_eq!(TcpOptions::parse(&buf[..n]).unwrap(), o);
        // SACK blocks beside timestamps: 3 fit.
        o = TcpOptions {
            timestamps: Some((5, 6)),
            ..TcpOptions::default()
        };
        for k in 0..4u32 {
            o.sack.push((Seq(k * 100), Seq(k * 100 + 50)));
        }
        let n = o.emit(&mut buf);
        assert_eq!(n, 40);
        let back = TcpOptions::parse(&buf[..n]).unwrap();
        assert_eq!(back.sack.len(), 3);
        assert_eq!(back.sack[2], (Seq(200), Seq(250)));
        o.timestamps = None;
        let n = o.emit(&mut buf);
        assert_eq!(n, 36);
        assert_eq!(TcpOptions::parse(&buf[..n]).unwrap().sack.len(), 4);
    }

    #[test]
    fn unknown_skipped_malformed_refused_wscale_clamped() {
        // An unknown option (kind 30, len 4), then wscale 20, then END and junk.
        let b = [30, 4, 0, 0, WSCALE, 3, 20, END, 0xff];
        let o = TcpOptions::parse(&b).unwrap();
        assert_eq!(o.wscale, Some(14));
        assert_eq!(TcpOptions::parse(&[MSS, 4, 5]), Err(OptionError::BadLength));
        assert_eq!(TcpOptions::parse(&[MSS]), Err(OptionError::BadLength));
        assert_eq!(TcpOptions::parse(&[77, 1]), Err(OptionError::BadLength));
        assert_eq!(
            TcpOptions::parse(&[MSS, 3, 5]),
            Err(OptionError::BadKnownLength(MSS))
        );
        assert_eq!(
            TcpOptions::parse(&[SACK, 6, 0, 0, 0, 0]),
            Err(OptionError::BadKnownLength(SACK))
        );
    }
}
