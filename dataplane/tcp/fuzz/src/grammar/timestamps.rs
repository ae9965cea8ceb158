//! The peer's RFC 7323 timestamp option on one segment, decoded only when the
//! input turned timestamps on (so inputs with them off decode as they always did).

use super::weighted;
use arbitrary::{Arbitrary, Unstructured};

/// Whether a segment carries TSopt, and with what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TsChoice {
    /// No TSopt (always, with timestamps off; sometimes on a negotiated connection:
    /// the engine must accept it and count it).
    #[default]
    Absent,
    /// TSopt, placed first among the segment's options.
    Put {
        /// Its TSval.
        val: TsVal,
        /// Its TSecr.
        ecr: TsEcr,
    },
}

/// TSval, relative to the peer's timestamp clock on the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsVal {
    /// The clock moved on by this many ticks (0 to 7): the usual case.
    Tick(u8),
    /// Older than the clock by 1 to 2^31 - 1 (the clock stays): PAWS must drop
    /// it (but for a RST, or a disordered pure ACK).
    Old(u32),
    /// The clock jumps forward by 2^16 to 2^31 - 1 (a peer reboot, a fast clock).
    Jump(u32),
    /// Any value (the clock stays).
    Wild(u32),
}

/// TSecr, relative to what the engine sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsEcr {
    /// The engine's latest TSval seen on the flow (0 if none).
    Echo,
    /// That minus 1 to 65,536 ms: an older echo (a longer RTT sample).
    Older(u16),
    /// Zero.
    Zero,
    /// Any value (from the future, or far past: no RTT sample).
    Wild(u32),
}

impl<'a> Arbitrary<'a> for TsChoice {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[20, 236])? {
            0 => TsChoice::Absent,
            _ => TsChoice::Put {
                val: TsVal::arbitrary(u)?,
                ecr: TsEcr::arbitrary(u)?,
            },
        })
    }
}

impl<'a> Arbitrary<'a> for TsVal {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        // Old values mostly just behind (reordering), sometimes far (a stale
        // incarnation's segment).
        Ok(match weighted(u, &[196, 36, 8, 16])? {
            0 => TsVal::Tick(u8::arbitrary(u)? % 8),
            1 => TsVal::Old(match weighted(u, &[200, 56])? {
                0 => u32::from(u8::arbitrary(u)?) + 1,
                _ => u32::arbitrary(u)? % 0x7fff_ffff + 1,
            }),
            2 => TsVal::Jump(u32::arbitrary(u)? % (0x7fff_ffff - 0x1_0000) + 0x1_0000),
            _ => TsVal::Wild(u32::arbitrary(u)?),
        })
    }
}

impl<'a> Arbitrary<'a> for TsEcr {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[200, 28, 14, 14])? {
            0 => TsEcr::Echo,
            1 => TsEcr::Older(u16::arbitrary(u)?),
            2 => TsEcr::Zero,
            _ => TsEcr::Wild(u32::arbitrary(u)?),
        })
    }
}
