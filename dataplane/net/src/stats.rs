//! Counters: every dropped frame by reason, and the events worth watching.
//!
//! Two enum-indexed arrays of plain `u64`: bumping one is an add at a constant
//! offset (no branch, no atomic; the interface is per core). The control plane reads
//! them by name through [`Stats::iter`] or `Display`.

use core::fmt;

/// Defines a counter enum with its snake_case names, its count and an `ALL` list.
macro_rules! counters {
    ($(#[$meta:meta])* $vis:vis enum $name:ident, key prefix $prefix:literal {
        $($(#[doc = $doc:literal])* $variant:ident => $label:literal,)*
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        $vis enum $name {
            $($(#[doc = $doc])* $variant,)*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// How many variants there are.
            pub const COUNT: usize = Self::ALL.len();

            /// The counter's short name.
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)*
                }
            }

            /// The counter's name in a flat listing of all counters (unambiguous
            /// across kinds; built at compile time, so listing never allocates).
            pub const fn key(self) -> &'static str {
                match self {
                    $($name::$variant => concat!($prefix, $label),)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

counters! {
    /// Why a frame (or a packet waiting to become one) was dropped.
    pub enum DropReason, key prefix "drop_" {
        /// Shorter than an Ethernet header.
        EthTruncated => "eth_truncated",
        /// Unicast to another station's MAC.
        EthNotForUs => "eth_not_for_us",
        /// Sent to a multicast MAC (no multicast groups are joined).
        EthMulticast => "eth_multicast",
        /// From a group (multicast or broadcast) MAC: no station sends from one, and
        /// an answer would go to the whole group.
        EthSourceMulticast => "eth_source_multicast",
        /// From the all-zero MAC, which names no station.
        EthSourceZero => "eth_source_zero",
        /// From our own MAC: our own frame reflected back, or another station spoofing
        /// it.
        EthSourceOurs => "eth_source_ours",
        /// An EtherType other than IPv4 or ARP (IPv6, VLAN tags, ...).
        EthUnknownType => "eth_unknown_type",
        /// ARP that is too short or not Ethernet/IPv4 request or reply.
        ArpMalformed => "arp_malformed",
        /// An ARP request for an address that is not ours.
        ArpNotForUs => "arp_not_for_us",
        /// An ARP sender hardware address that is multicast, broadcast or zero.
        ArpBadSender => "arp_bad_sender",
        /// Another station claims our IPv4 address.
        ArpAddrConflict => "arp_addr_conflict",
        /// A packet found its next hop's resolution queue full.
        ArpPendingFull => "arp_pending_full",
        /// A packet needed a resolution while every resolution slot was busy.
        ArpPendingHopsFull => "arp_pending_hops_full",
        /// A packet whose next hop never answered ARP.
        ArpUnresolved => "arp_unresolved",
        /// IPv4 shorter than its header or its total length.
        Ipv4Truncated => "ipv4_truncated",
        /// IP version other than 4.
        Ipv4BadVersion => "ipv4_bad_version",
        /// IHL under 5, or total length under the header length.
        Ipv4BadHeaderLen => "ipv4_bad_header_len",
        /// IPv4 header checksum wrong.
        Ipv4BadChecksum => "ipv4_bad_checksum",
        /// A fragment (MF set or offset non-zero): no reassembly.
        Ipv4Fragment => "ipv4_fragment",
        /// Addressed to another host.
        Ipv4NotForUs => "ipv4_not_for_us",
        /// A broadcast, multicast or unspecified source where one host must be named.
        Ipv4BadSource => "ipv4_bad_source",
        /// A loopback source (127.0.0.0/8), which never appears on a wire (a martian,
        /// RFC 1122 3.2.1.3).
        Ipv4LoopbackSource => "ipv4_loopback_source",
        /// Our own address as the source: spoofed or reflected (a martian; Linux drops
        /// it too).
        Ipv4OwnSource => "ipv4_own_source",
        /// A protocol nobody here handles.
        Ipv4UnknownProtocol => "ipv4_unknown_protocol",
        /// A broadcast to the transport (TCP never answers broadcasts).
        TransportBroadcast => "transport_broadcast",
        /// ICMP shorter than its 8-byte header.
        IcmpTruncated => "icmp_truncated",
        /// ICMP checksum wrong.
        IcmpBadChecksum => "icmp_bad_checksum",
        /// An echo request to a broadcast address (smurf defence: not answered).
        IcmpBroadcastEcho => "icmp_broadcast_echo",
        /// An echo request whose reply would exceed the MTU (we never fragment).
        IcmpEchoTooBig => "icmp_echo_too_big",
        /// An ICMP type or code we do not act on.
        IcmpUnhandled => "icmp_unhandled",
        /// An ICMP error suppressed by the rate limit.
        IcmpRateLimited => "icmp_rate_limited",
        /// UDP shorter than its header, or its length field inconsistent.
        UdpMalformed => "udp_malformed",
        /// UDP checksum wrong.
        UdpBadChecksum => "udp_bad_checksum",
        /// A datagram to a port nobody bound.
        UdpNoPort => "udp_no_port",
        /// A datagram to a port whose queue is full.
        UdpQueueFull => "udp_queue_full",
        /// The pool had no buffer for a frame to send.
        TxNoBuffers => "tx_no_buffers",
        /// The transmit backlog was full.
        TxQueueFull => "tx_queue_full",
        /// No route: off-link with no gateway, or a destination we cannot send to.
        TxNoRoute => "tx_no_route",
        /// A packet over the MTU (no fragmentation).
        TxTooBig => "tx_too_big",
        /// A datagram to destination port 0, which names no socket (refused, as Linux's
        /// `sendto` refuses it with EINVAL).
        TxPortZero => "tx_port_zero",
    }
}

counters! {
    /// Things that happened, other than drops.
    pub enum Event, key prefix "" {
        /// Frames received from the NIC.
        RxFrames => "rx_frames",
        /// Frames the NIC accepted for transmission.
        TxFrames => "tx_frames",
        /// ARP requests sent (first tries, retries and refreshes).
        ArpRequestsSent => "arp_requests_sent",
        /// ARP replies sent for our address.
        ArpRepliesSent => "arp_replies_sent",
        /// Gratuitous ARP announcements sent.
        ArpGratuitousSent => "arp_gratuitous_sent",
        /// Table entries created or refreshed from received ARP.
        ArpLearned => "arp_learned",
        /// Gratuitous announcements received from neighbours.
        ArpAnnouncementsSeen => "arp_announcements_seen",
        /// Packets released from the resolution queue once their next hop answered.
        ArpPendingReleased => "arp_pending_released",
        /// IPv4 packets received with options (skipped).
        Ipv4Options => "ipv4_options",
        /// ICMP echo replies sent.
        IcmpEchoReplies => "icmp_echo_replies",
        /// ICMP errors sent (port unreachable).
        IcmpErrorsSent => "icmp_errors_sent",
        /// UDP datagrams queued to a bound port.
        UdpDelivered => "udp_delivered",
        /// UDP datagrams handed to the transmit path.
        UdpSent => "udp_sent",
        /// Packets handed to the transport (TCP).
        TransportDelivered => "transport_delivered",
        /// IPv4 packets handed to the transmit path by any layer.
        Ipv4Sent => "ipv4_sent",
    }
}

/// All counters of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    drops: [u64; DropReason::COUNT],
    events: [u64; Event::COUNT],
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            drops: [0; DropReason::COUNT],
            events: [0; Event::COUNT],
        }
    }
}

impl Stats {
    /// All counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one drop for `reason`.
    #[inline]
    pub fn drop(&mut self, reason: DropReason) {
        self.drop_n(reason, 1);
    }

    /// Counts `n` drops for `reason`.
    #[inline]
    pub fn drop_n(&mut self, reason: DropReason, n: u64) {
        // The discriminant is below COUNT by construction of the enum.
        if let Some(c) = self.drops.get_mut(reason as usize) {
            *c = c.wrapping_add(n);
        }
    }

    /// Counts one `event`.
    #[inline]
    pub fn count(&mut self, event: Event) {
        self.count_n(event, 1);
    }

    /// Counts `n` of `event`.
    #[inline]
    pub fn count_n(&mut self, event: Event, n: u64) {
        if let Some(c) = self.events.get_mut(event as usize) {
            *c = c.wrapping_add(n);
        }
    }

    /// Drops counted for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.drops.get(reason as usize).copied().unwrap_or(0)
    }

    /// Occurrences of `event`.
    pub fn get(&self, event: Event) -> u64 {
        self.events.get(event as usize).copied().unwrap_or(0)
    }

    /// Drops of every reason added up.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Every counter as `(name, value)`: events first, then drops named `drop_<reason>`
    /// (the prefix is part of the name so a flat listing stays unambiguous).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        let events = Event::ALL.iter().map(|&e| (e.key(), self.get(e)));
        let drops = DropReason::ALL.iter().map(|&r| (r.key(), self.dropped(r)));
        events.chain(drops)
    }

    /// Drop reasons with a non-zero count, for terse reports.
    pub fn nonzero_drops(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|&r| (r, self.dropped(r)))
            .filter(|&(_, n)| n > 0)
    }
}

impl fmt::Display for Stats {
    /// One `name value` line per counter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in self.iter() {
            writeln!(f, "{name} {value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_reason_and_lists_by_name() {
        let mut s = Stats::new();
        s.drop(DropReason::Ipv4BadChecksum);
        s.drop_n(DropReason::UdpNoPort, 3);
        s.count(Event::RxFrames);
        assert_eq!(s.dropped(DropReason::Ipv4BadChecksum), 1);
        assert_eq!(s.dropped(DropReason::UdpNoPort), 3);
        assert_eq!(s.total_drops(), 4);
        assert_eq!(s.get(Event::RxFrames), 1);
        let all: Vec<_> = s.iter().collect();
        assert_eq!(all.len(), Event::COUNT + DropReason::COUNT);
        assert!(all.contains(&("drop_udp_no_port", 3)));
        assert!(all.contains(&("rx_frames", 1)));
        let text = s.to_string();
        assert!(text.contains("drop_ipv4_bad_checksum 1\n"));
        assert_eq!(
            s.nonzero_drops().collect::<Vec<_>>(),
            vec![(DropReason::Ipv4BadChecksum, 1), (DropReason::UdpNoPort, 3)]
        );
    }

    #[test]
    fn prefixed_names_match_plain_names() {
        for &r in DropReason::ALL {
            assert_eq!(r.key(), format!("drop_{}", r.name()));
        }
        let mut names: Vec<_> = Stats::new().iter().map(|(n, _)| n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            Event::COUNT + DropReason::COUNT,
            "names unique"
        );
    }
}
