//! TCP options as a peer may send them: the ones the engine understands, with sane
//! or odd values, and malformed ones.

use super::weighted;
use arbitrary::{Arbitrary, Unstructured};

/// A segment's options, in order (at most 6 items; laid out, padded with END bytes
/// to a multiple of 4 and cut at 40 bytes by [`crate::peer`]).
#[derive(Debug, Clone, Default)]
pub struct Options(pub Vec<OptItem>);

impl<'a> Arbitrary<'a> for Options {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        // Mostly none: options matter on SYNs (given by the flags' resolution) and
        // SACK blocks; half of the remainder carries one item.
        let n = match weighted(u, &[120, 80, 36, 20])? {
            0 => 0,
            1 => 1,
            2 => 2,
            _ => u.int_in_range(3..=6)?,
        };
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(OptItem::arbitrary(u)?);
        }
        Ok(Options(v))
    }
}

/// One option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptItem {
    /// Maximum segment size.
    Mss(u16),
    /// Window scale shift (values above 14 included).
    Wscale(u8),
    /// SACK permitted.
    SackPermitted,
    /// SACK blocks (1 to 4).
    Sack(Vec<SackBlock>),
    /// A TSopt of the item list's own: on SYNs an offer to an engine with
    /// timestamps off too, and a second TSopt beside the one an input with
    /// timestamps on puts first.
    Timestamps(u32, u32),
    /// NOP.
    Nop,
    /// End of options (what follows is padding).
    End,
    /// An option the engine does not know, with a well-formed length.
    Unknown {
        /// Kind.
        kind: u8,
        /// Body length (0 to 6).
        len: u8,
    },
    /// A known or unknown kind with a length byte that is wrong: 0, 1, past the end,
    /// or not what the kind requires.
    BadLength {
        /// Kind.
        kind: u8,
        /// The length byte.
        len: u8,
    },
}

impl<'a> Arbitrary<'a> for OptItem {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[36, 26, 26, 88, 20, 20, 8, 18, 14])? {
            0 => OptItem::Mss(match weighted(u, &[100, 60, 40, 56])? {
                0 => 1460,
                1 => 536,
                2 => u16::arbitrary(u)? % 200,
                _ => u16::arbitrary(u)?,
            }),
            1 => OptItem::Wscale(u8::arbitrary(u)? % 20),
            2 => OptItem::SackPermitted,
            3 => {
                let n = usize::from(u8::arbitrary(u)? % 4) + 1;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(SackBlock::arbitrary(u)?);
                }
                OptItem::Sack(v)
            }
            4 => OptItem::Timestamps(u32::arbitrary(u)?, u32::arbitrary(u)?),
            5 => OptItem::Nop,
            6 => OptItem::End,
            7 => OptItem::Unknown {
                kind: u8::arbitrary(u)?,
                len: u8::arbitrary(u)? % 7,
            },
            _ => OptItem::BadLength {
                kind: u8::arbitrary(u)? % 10,
                len: u8::arbitrary(u)?,
            },
        })
    }
}

/// A SACK block, relative to the data the engine has in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SackBlock {
    /// From `from`/256 to `to`/256 of the way between the peer's previous ACK and the
    /// engine's SND.MAX (an empty or inverted block when `to <= from`).
    Span {
        /// Left edge, as a fraction.
        from: u8,
        /// Right edge, as a fraction.
        to: u8,
    },
    /// Any edges.
    Wild(u32, u32),
}

impl<'a> Arbitrary<'a> for SackBlock {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[224, 32])? {
            0 => SackBlock::Span {
                from: u8::arbitrary(u)?,
                to: u8::arbitrary(u)?,
            },
            _ => SackBlock::Wild(u32::arbitrary(u)?, u32::arbitrary(u)?),
        })
    }
}
