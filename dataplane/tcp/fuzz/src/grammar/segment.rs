//! One segment from a peer, described by choices relative to its connection.

use super::{weighted, Options, TsChoice};
use crate::wire::Checksum;
use arbitrary::{Arbitrary, Unstructured};

/// A segment the harness injects, before [`crate::peer`] resolves it.
#[derive(Arbitrary, Debug, Clone)]
pub struct SegSpec {
    /// Which 4-tuple it belongs to.
    pub target: Target,
    /// Its flags.
    pub flags: FlagChoice,
    /// Its sequence number.
    pub seq: SeqChoice,
    /// Its acknowledgment number.
    pub ack: AckChoice,
    /// Its window field.
    pub window: WindowChoice,
    /// Its options.
    pub options: Options,
    /// How many payload bytes (their content is fixed by their sequence numbers).
    pub payload: PayloadLen,
    /// Its data offset field.
    pub offset: OffsetChoice,
    /// Its checksum field.
    pub checksum: Checksum,
    /// Its TSopt: decoded apart, after the rest, and only when the input turned
    /// timestamps on ([`super::Action::decode`]); absent otherwise.
    #[arbitrary(default)]
    pub ts: TsChoice,
}

/// The 4-tuple a segment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A flow the harness has used before (the connections made at set-up come
    /// first): index modulo their number.
    Flow(u8),
    /// A 4-tuple chosen afresh (it joins the known flows).
    Fresh {
        /// Peer index (modulo the number of peers).
        peer: u8,
        /// The peer's port.
        sport: PortChoice,
        /// The engine's port.
        dport: PortChoice,
    },
}

impl<'a> Arbitrary<'a> for Target {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[232, 24])? {
            0 => Target::Flow(u8::arbitrary(u)?),
            _ => Target::Fresh {
                peer: u8::arbitrary(u)?,
                sport: PortChoice::arbitrary(u)?,
                dport: PortChoice::arbitrary(u)?,
            },
        })
    }
}

/// A port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortChoice {
    /// The port the engine listens on from the start.
    Listen,
    /// A second port a script may listen on.
    Other,
    /// A port nothing listens on.
    Closed,
    /// A peer port from a small set (so fresh tuples collide with set-up ones).
    Peer(u8),
    /// Any port (0 included).
    Raw(u16),
}

impl<'a> Arbitrary<'a> for PortChoice {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[96, 40, 24, 64, 32])? {
            0 => PortChoice::Listen,
            1 => PortChoice::Other,
            2 => PortChoice::Closed,
            3 => PortChoice::Peer(u8::arbitrary(u)? % 8),
            _ => PortChoice::Raw(u16::arbitrary(u)?),
        })
    }
}

impl PortChoice {
    /// The port number.
    pub fn resolve(self) -> u16 {
        use crate::addrs::{CLOSED_PORT, LISTEN_PORT, OTHER_PORT, PEER_PORT_BASE};
        match self {
            PortChoice::Listen => LISTEN_PORT,
            PortChoice::Other => OTHER_PORT,
            PortChoice::Closed => CLOSED_PORT,
            PortChoice::Peer(k) => PEER_PORT_BASE + u16::from(k),
            PortChoice::Raw(p) => p,
        }
    }
}

/// Control bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagChoice {
    /// ACK.
    Ack,
    /// PSH|ACK.
    PshAck,
    /// FIN|ACK.
    FinAck,
    /// SYN (opening, or an attack on a live connection).
    Syn,
    /// SYN|ACK (answering the engine's SYN).
    SynAck,
    /// RST.
    Rst,
    /// RST|ACK.
    RstAck,
    /// FIN without ACK.
    Fin,
    /// No flag at all.
    Null,
    /// Any flags byte (ECN and reserved bits included).
    Raw(u8),
}

impl<'a> Arbitrary<'a> for FlagChoice {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(
            match weighted(u, &[100, 40, 24, 20, 14, 14, 10, 4, 4, 26])? {
                0 => FlagChoice::Ack,
                1 => FlagChoice::PshAck,
                2 => FlagChoice::FinAck,
                3 => FlagChoice::Syn,
                4 => FlagChoice::SynAck,
                5 => FlagChoice::Rst,
                6 => FlagChoice::RstAck,
                7 => FlagChoice::Fin,
                8 => FlagChoice::Null,
                _ => FlagChoice::Raw(u8::arbitrary(u)?),
            },
        )
    }
}

impl FlagChoice {
    /// The flags byte.
    pub fn bits(self) -> u8 {
        const FIN: u8 = 0x01;
        const SYN: u8 = 0x02;
        const RST: u8 = 0x04;
        const PSH: u8 = 0x08;
        const ACK: u8 = 0x10;
        match self {
            FlagChoice::Ack => ACK,
            FlagChoice::PshAck => PSH | ACK,
            FlagChoice::FinAck => FIN | ACK,
            FlagChoice::Syn => SYN,
            FlagChoice::SynAck => SYN | ACK,
            FlagChoice::Rst => RST,
            FlagChoice::RstAck => RST | ACK,
            FlagChoice::Fin => FIN,
            FlagChoice::Null => 0,
            FlagChoice::Raw(b) => b,
        }
    }
}

/// The sequence number, relative to what the peer knows of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqChoice {
    /// The peer's next new byte: in-order data, the usual case.
    Next,
    /// The engine's RCV.NXT as its last ACK said, plus a small signed offset
    /// (filling a gap, exact-match RSTs, just-outside-the-window probes).
    Rcv(i16),
    /// Past the peer's next byte: a gap (out-of-order data, SACK on the engine side).
    Ahead(u16),
    /// Before the peer's next byte: a retransmission, overlapping or duplicate.
    Behind(u16),
    /// Any value.
    Wild(u32),
}

impl<'a> Arbitrary<'a> for SeqChoice {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[150, 36, 26, 26, 18])? {
            0 => SeqChoice::Next,
            1 => SeqChoice::Rcv(i16::from(i8::arbitrary(u)?) * i16::from(u8::arbitrary(u)? % 4)),
            2 => SeqChoice::Ahead(u16::arbitrary(u)? % 4096 + 1),
            3 => SeqChoice::Behind(u16::arbitrary(u)? % 4096 + 1),
            _ => SeqChoice::Wild(u32::arbitrary(u)?),
        })
    }
}

/// The acknowledgment number, relative to what the engine has sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckChoice {
    /// Everything the engine sent (its SND.MAX as seen on the wire).
    All,
    /// The peer's previous ACK again (a duplicate ACK when nothing else changes).
    Same,
    /// A fraction (n/256) of the way from the previous ACK to SND.MAX: a partial ACK.
    Part(u8),
    /// Past SND.MAX: data never sent.
    Beyond(u16),
    /// Before the previous ACK: old.
    Before(u16),
    /// Any value.
    Wild(u32),
}

impl<'a> Arbitrary<'a> for AckChoice {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[128, 50, 34, 14, 14, 16])? {
            0 => AckChoice::All,
            1 => AckChoice::Same,
            2 => AckChoice::Part(u8::arbitrary(u)?),
            3 => AckChoice::Beyond(u16::arbitrary(u)? % 8192 + 1),
            4 => AckChoice::Before(u16::arbitrary(u)?),
            _ => AckChoice::Wild(u32::arbitrary(u)?),
        })
    }
}

/// The window field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowChoice {
    /// 65,535.
    Full,
    /// 0: the peer's buffer is full (persist timer, probes).
    Zero,
    /// A small window (below two segments, unscaled): sender silly-window avoidance.
    Small(u16),
    /// Any value.
    Raw(u16),
}

impl<'a> Arbitrary<'a> for WindowChoice {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[170, 30, 30, 26])? {
            0 => WindowChoice::Full,
            1 => WindowChoice::Zero,
            2 => WindowChoice::Small(u16::arbitrary(u)? % 3000),
            _ => WindowChoice::Raw(u16::arbitrary(u)?),
        })
    }
}

impl WindowChoice {
    /// The field's value.
    pub fn value(self) -> u16 {
        match self {
            WindowChoice::Full => u16::MAX,
            WindowChoice::Zero => 0,
            WindowChoice::Small(v) | WindowChoice::Raw(v) => v,
        }
    }
}

/// How many payload bytes a segment carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadLen {
    /// None (a pure ACK or control segment).
    Empty,
    /// 1 to 64 bytes.
    Small(u8),
    /// As much as the connection's MSS allows (what a bulk sender sends).
    Full,
    /// Any length up to 1,900 bytes (beyond the MTU's worth included).
    Any(u16),
}

impl<'a> Arbitrary<'a> for PayloadLen {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[110, 80, 40, 26])? {
            0 => PayloadLen::Empty,
            1 => PayloadLen::Small(u8::arbitrary(u)? % 64 + 1),
            2 => PayloadLen::Full,
            _ => PayloadLen::Any(u16::arbitrary(u)? % 1901),
        })
    }
}

/// The data offset field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetChoice {
    /// The true header length.
    Exact,
    /// Any 4-bit value.
    Raw(u8),
}

impl<'a> Arbitrary<'a> for OffsetChoice {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[248, 8])? {
            0 => OffsetChoice::Exact,
            _ => OffsetChoice::Raw(u8::arbitrary(u)? & 0x0f),
        })
    }
}

impl<'a> Arbitrary<'a> for Checksum {
    /// Valid 15 times in 16 (the engine's checksum check is one `if`; what lies
    /// behind it is what is worth reaching).
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[240, 8, 8])? {
            0 => Checksum::Valid,
            1 => Checksum::Zero,
            _ => Checksum::Random(u16::arbitrary(u)?),
        })
    }
}
