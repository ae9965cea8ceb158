//! The grammar of fuzz inputs: what an input describes instead of raw bytes.
//!
//! Every type implements [`Arbitrary`], so libFuzzer's byte mutations become
//! mutations of *choices*: a flipped bit turns "acknowledge everything sent" into
//! "a duplicate ACK", or "the next sequence number" into "a gap of 300 bytes", not a
//! checksum. Choices are weighted towards what keeps a connection alive and moving
//! (in-window sequence numbers, plausible ACKs, right checksums), so inputs reach deep
//! states, while every input still may pick the wild alternative.
//!
//! [`crate::peer`] resolves these choices against what the peer knows of each
//! connection at the moment the segment is sent.

mod options;
mod script;
mod segment;
mod timestamps;

pub use options::{OptItem, Options, SackBlock};
pub use script::{Action, Script, SendLen, Time, MAX_ACTIONS};
pub use segment::{
    AckChoice, FlagChoice, OffsetChoice, PayloadLen, PortChoice, SegSpec, SeqChoice, Target,
    WindowChoice,
};
pub use timestamps::{TsChoice, TsEcr, TsVal};

use arbitrary::{Arbitrary, Unstructured};

/// Draws one index with probability proportional to `weights` (which sum to 256),
/// from one input byte; exhausted input yields index 0, the most usual choice.
pub(crate) fn weighted(u: &mut Unstructured<'_>, weights: &[u16]) -> arbitrary::Result<usize> {
    debug_assert_eq!(weights.iter().sum::<u16>(), 256);
    let mut b = u16::from(u8::arbitrary(u)?);
    for (i, &w) in weights.iter().enumerate() {
        if b < w {
            return Ok(i);
        }
        b -= w;
    }
    Ok(weights.len() - 1)
}
