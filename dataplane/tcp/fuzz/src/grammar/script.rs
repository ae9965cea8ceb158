//! Scripts: the engine's set-up, then what happens to it.

use super::{weighted, PortChoice, SegSpec, TsChoice};
use crate::setup::Setup;
use arbitrary::{Arbitrary, Unstructured};
use std::time::Duration;

/// Actions played from one input at most (the rest is ignored).
pub const MAX_ACTIONS: usize = 96;

/// One step. After every action but [`Action::Queue`] the interface (and engine) is
/// polled once and, unless muted, the application drains every event.
#[derive(Debug, Clone)]
pub enum Action {
    /// Inject one segment.
    Seg(SegSpec),
    /// Inject one segment without polling: it shares the next poll's burst.
    Queue(SegSpec),
    /// Inject `count` segments of one shape, each resolved in turn (so `Next`
    /// sequence numbers advance: a train of in-order data or of duplicate ACKs).
    Burst {
        /// The shape.
        seg: SegSpec,
        /// How many (1 to 64).
        count: u8,
    },
    /// Move the virtual clock forward.
    Advance(Time),
    /// Poll once more.
    Poll,
    /// The application queues part of its payload buffer on a connection.
    Send {
        /// Which of the application's connections (index modulo their number; dead
        /// ones included, whose ids the engine must refuse).
        conn: u8,
        /// How much.
        len: SendLen,
    },
    /// The application queues data on every connection it knows before the next
    /// poll (one poll's output then exceeds the interface's transmit room).
    SendAll(SendLen),
    /// The application closes a connection's sending side.
    Close(u8),
    /// The application resets a connection.
    Abort(u8),
    /// The application accepts a knocking connection.
    Accept(u8),
    /// The application rejects a knocking connection.
    Reject(u8),
    /// The application opens a connection to a peer.
    Connect {
        /// Peer index (modulo the number of peers).
        peer: u8,
        /// The peer's port.
        port: PortChoice,
    },
    /// The application listens on a port.
    Listen(PortChoice),
    /// The application stops listening on a port.
    Unlisten(PortChoice),
    /// From now on keep (`true`) received segments instead of dropping them: the
    /// receive window closes as IX flow control says.
    Hold(bool),
    /// Drop the oldest held segments (up to this many): the window reopens.
    Release(u8),
    /// Stop (`true`) or resume draining events: queues fill inside the engine.
    Mute(bool),
}

impl<'a> Arbitrary<'a> for Action {
    /// An action of an input with timestamps off.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Action::decode(u, false)
    }
}

impl Action {
    /// Decodes one action. With `timestamps` on, each segment's TSopt choice
    /// follows it and a time step may be days long (TS.Recent's 24-day validity,
    /// the 2^32 ms wrap of the engine's TSval clock); with it off the bytes decode
    /// exactly as before timestamps existed, so older corpus entries keep their
    /// meaning.
    pub fn decode(u: &mut Unstructured<'_>, timestamps: bool) -> arbitrary::Result<Self> {
        let seg = |u: &mut Unstructured<'_>| -> arbitrary::Result<SegSpec> {
            let mut s = SegSpec::arbitrary(u)?;
            if timestamps {
                s.ts = TsChoice::arbitrary(u)?;
            }
            Ok(s)
        };
        // Segments first, then time and sends; the rest are rarer control actions.
        let w = [96, 14, 18, 32, 6, 30, 4, 8, 6, 8, 4, 6, 4, 3, 7, 6, 4];
        Ok(match weighted(u, &w)? {
            0 => Action::Seg(seg(u)?),
            1 => Action::Queue(seg(u)?),
            2 => Action::Burst {
                seg: seg(u)?,
                count: u8::arbitrary(u)? % 64 + 1,
            },
            3 if timestamps && u8::arbitrary(u)? < 8 => {
                Action::Advance(Time(Duration::from_secs(86_400 * u.int_in_range(1..=30)?)))
            }
            3 => Action::Advance(Time::arbitrary(u)?),
            4 => Action::Poll,
            5 => Action::Send {
                conn: u8::arbitrary(u)?,
                len: SendLen::arbitrary(u)?,
            },
            6 => Action::SendAll(SendLen::arbitrary(u)?),
            7 => Action::Close(u8::arbitrary(u)?),
            8 => Action::Abort(u8::arbitrary(u)?),
            9 => Action::Accept(u8::arbitrary(u)?),
            10 => Action::Reject(u8::arbitrary(u)?),
            11 => Action::Connect {
                peer: u8::arbitrary(u)?,
                port: PortChoice::arbitrary(u)?,
            },
            12 => Action::Listen(PortChoice::arbitrary(u)?),
            13 => Action::Unlisten(PortChoice::arbitrary(u)?),
            14 => Action::Hold(bool::arbitrary(u)?),
            15 => Action::Release(u8::arbitrary(u)?),
            _ => Action::Mute(bool::arbitrary(u)?),
        })
    }
}

/// How much of its payload buffer the application offers in one `send`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendLen {
    /// A request-sized piece (1 to 64 bytes).
    Small(u8),
    /// 1 to 1,499 bytes (a large response).
    Large(u16),
    /// A bulk transfer: 2 to 16 times 1,499 bytes, as far as the send buffer takes
    /// it (a flight of many segments: loss recovery and SACK need one).
    Bulk(u8),
    /// Nothing (a zero-length send is legal and must change nothing).
    Zero,
}

impl<'a> Arbitrary<'a> for SendLen {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match weighted(u, &[100, 96, 52, 8])? {
            0 => SendLen::Small(u8::arbitrary(u)? % 64 + 1),
            1 => SendLen::Large(u16::arbitrary(u)? % 1499 + 1),
            2 => SendLen::Bulk(u8::arbitrary(u)? % 15 + 2),
            _ => SendLen::Zero,
        })
    }
}

impl SendLen {
    /// The byte count.
    pub fn bytes(self) -> usize {
        match self {
            SendLen::Small(n) => usize::from(n),
            SendLen::Large(n) => usize::from(n),
            SendLen::Bulk(k) => usize::from(k) * 1499,
            SendLen::Zero => 0,
        }
    }
}

/// A step of virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub Duration);

impl<'a> Arbitrary<'a> for Time {
    /// Often microseconds (delayed ACKs, the timer wheel's tick), often milliseconds
    /// (retransmission timeouts), sometimes seconds (TIME_WAIT, keepalive, FIN_WAIT_2,
    /// the SYN cookie period), rarely minutes (giving up after backed-off retries).
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let d = match weighted(u, &[96, 90, 56, 14])? {
            0 => Duration::from_micros(u.int_in_range(0..=2_000)?),
            1 => Duration::from_millis(u.int_in_range(0..=1_500)?),
            2 => Duration::from_secs(u.int_in_range(0..=90)?),
            _ => Duration::from_secs(u.int_in_range(0..=1_200)?),
        };
        Ok(Time(d))
    }
}

/// A whole fuzz input.
#[derive(Debug, Clone)]
pub struct Script {
    /// How the engine is made and which connections are open before the actions.
    pub setup: Setup,
    /// The steps, in order (at most [`MAX_ACTIONS`]).
    pub actions: Vec<Action>,
}

impl<'a> Arbitrary<'a> for Script {
    /// The set-up, then actions until the input runs out. (A derived `Vec` would
    /// spend a "one more?" bit before each action, so random bytes, and most
    /// mutations of a long input, would stop after an action or two.)
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        // Timestamps: the first byte's low bit (the low byte of the set-up's first
        // field, so it changes nothing else the set-up decodes to).
        let timestamps = u.peek_bytes(1).is_some_and(|b| b[0] & 1 == 1);
        let mut setup = Setup::arbitrary(u)?;
        setup.features.timestamps = timestamps;
        let mut actions = Vec::new();
        while !u.is_empty() && actions.len() < MAX_ACTIONS {
            actions.push(Action::decode(u, timestamps)?);
        }
        Ok(Script { setup, actions })
    }
}
