//! Policies for the fields a parser checks hardest: lengths and checksums.
//!
//! Each policy is skewed towards the well-formed choice (about seven inputs in eight)
//! so that most frames get past the checks and reach the paths behind them, while the
//! rest still exercise every rejection.

use arbitrary::{Arbitrary, Unstructured};

/// What to put in a checksum field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// The correct checksum, filled in after every other field is final.
    Valid,
    /// Zero: "no checksum" for UDP over IPv4, simply wrong elsewhere.
    Zero,
    /// Whatever value (occasionally right by chance).
    Random(u16),
}

impl<'a> Arbitrary<'a> for Checksum {
    /// Valid 7 times in 8; exhausted input yields `Valid`.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u8::arbitrary(u)? {
            0..=223 => Checksum::Valid,
            224..=239 => Checksum::Zero,
            _ => Checksum::Random(u16::arbitrary(u)?),
        })
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(3))
    }
}

/// What to put in a length field, relative to the bytes actually present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// The true length.
    Exact,
    /// The true length minus `n` (saturating): the field claims less than is there.
    Short(u8),
    /// The true length plus `n`: the field claims more than is there (truncated packet).
    Long(u8),
    /// Whatever value.
    Raw(u16),
}

impl<'a> Arbitrary<'a> for Length {
    /// Exact 7 times in 8; exhausted input yields `Exact`.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u8::arbitrary(u)? {
            0..=223 => Length::Exact,
            224..=235 => Length::Short(u8::arbitrary(u)?),
            236..=247 => Length::Long(u8::arbitrary(u)?),
            _ => Length::Raw(u16::arbitrary(u)?),
        })
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(3))
    }
}

impl Length {
    /// The value to write for a field whose true value is `exact`.
    pub fn apply(self, exact: usize) -> u16 {
        let exact = u16::try_from(exact).unwrap_or(u16::MAX);
        match self {
            Length::Exact => exact,
            Length::Short(n) => exact.saturating_sub(u16::from(n).max(1)),
            Length::Long(n) => exact.saturating_add(u16::from(n).max(1)),
            Length::Raw(v) => v,
        }
    }
}
