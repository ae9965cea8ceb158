//! The grammar of fuzz inputs: what an input describes instead of raw bytes.
//!
//! Every type derives (or hand-writes) [`Arbitrary`], so libFuzzer's byte mutations
//! become mutations of *fields*: a flipped bit changes a TTL or a port choice, not a
//! checksum. [`crate::emit`] turns a [`FrameSpec`] into wire bytes.

mod frame;
mod l4;
mod script;

pub use frame::{
    ArpOp, ArpShape, ArpSpec, Body, EtherTypeChoice, Frag, FrameSpec, Ipv4Spec, Tail, Version,
};
pub use l4::{IcmpKind, IcmpSpec, Quote, TcpSpec, UdpSpec, L4};
pub use script::{Action, Millis, Script};

use arbitrary::{Arbitrary, Unstructured};

/// At most `MAX` literal bytes.
#[derive(Debug, Clone, Default)]
pub struct Bytes<const MAX: usize>(pub Vec<u8>);

impl<'a, const MAX: usize> Arbitrary<'a> for Bytes<MAX> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = u.int_in_range(0..=MAX)?.min(u.len());
        Ok(Bytes(u.bytes(len)?.to_vec()))
    }
}

/// A payload: a few literal bytes, or a long run of one byte (so a 1,500-byte or
/// oversize packet costs the fuzzer three bytes of input, not 1,500).
#[derive(Arbitrary, Debug, Clone)]
pub enum Payload {
    /// These bytes.
    Literal(Bytes<48>),
    /// `len` (taken modulo 2,048) copies of `byte`.
    Fill {
        /// Requested length, reduced modulo 2,048.
        len: u16,
        /// The repeated byte.
        byte: u8,
    },
}

impl Payload {
    /// The payload's bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Payload::Literal(b) => b.0.clone(),
            Payload::Fill { len, byte } => vec![*byte; usize::from(*len % 2048)],
        }
    }
}
