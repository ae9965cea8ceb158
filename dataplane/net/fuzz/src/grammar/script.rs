//! Scripts: how the interface is made, then what happens to it.

use super::{FrameSpec, Payload};
use crate::addrs::{IpChoice, MacChoice, PortChoice};
use arbitrary::{Arbitrary, Unstructured};

/// One step of a script run against a fresh interface.
#[derive(Arbitrary, Debug, Clone)]
pub enum Action {
    /// Put one frame on the NIC's receive queue.
    Inject(FrameSpec),
    /// Put `count` copies of one frame on the receive queue (bursts, ring and pool
    /// exhaustion).
    Flood {
        /// The frame.
        frame: FrameSpec,
        /// How many copies.
        count: u8,
    },
    /// Sustained load: `rounds` modulo 16, plus one, times: fill the receive ring
    /// with copies of one frame (at most a burst) and poll.
    Storm {
        /// The frame.
        frame: FrameSpec,
        /// How many fill-and-poll rounds.
        rounds: u8,
    },
    /// A peer (index taken modulo the set) asks for our address, so we learn it: a
    /// shortcut to a dynamic ARP entry, to be refreshed, expired or evicted.
    Learn(u8),
    /// Move the virtual clock forward.
    Advance(Millis),
    /// Run the stack's poll entry point once.
    Poll,
    /// Bind a UDP port.
    Bind(PortChoice),
    /// Unbind a UDP port.
    Unbind(PortChoice),
    /// Send a datagram from the stack.
    SendUdp {
        /// Local port.
        from: PortChoice,
        /// Destination address.
        to: IpChoice,
        /// Destination port.
        port: PortChoice,
        /// The data.
        payload: Payload,
        /// Attached by reference from a frozen buffer (else copied into the frame).
        zero_copy: bool,
    },
    /// Take every datagram waiting on every bound port, and every segment the
    /// transport holds (and drop them).
    Drain,
    /// Stop (`true`) or resume taking transmitted frames off the NIC: a congested
    /// wire, so its ring fills and the stack's transmit backlog grows.
    Stall(bool),
    /// Add a permanent ARP entry (control plane).
    ArpStatic {
        /// The address.
        ip: IpChoice,
        /// Its Ethernet address.
        mac: MacChoice,
    },
    /// Forget an ARP entry (control plane).
    ArpRemove(IpChoice),
    /// Queue a gratuitous ARP announcement.
    Announce,
    /// Transmit what is queued without polling.
    Flush,
}

/// A step of virtual time.
#[derive(Debug, Clone, Copy)]
pub struct Millis(pub u64);

impl<'a> Arbitrary<'a> for Millis {
    /// Mostly short steps (up to a second: ARP retries, the ICMP rate limit), often
    /// steps of 54 to 61 s (across the default ARP entry's refresh window, 55 s,
    /// and its expiry, 60 s), sometimes long ones (up to ten minutes).
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let range = match u8::arbitrary(u)? {
            0..=159 => 0..=1_000,
            160..=223 => 54_000..=61_000,
            _ => 0..=600_000u32,
        };
        Ok(Millis(u64::from(u.int_in_range(range)?)))
    }
}

/// A whole fuzz input: how to make the interface, then the steps to play against it.
#[derive(Arbitrary, Debug, Clone)]
pub struct Script {
    /// How the interface is made.
    pub setup: crate::setup::Setup,
    /// The steps, in order.
    pub actions: Vec<Action>,
}
