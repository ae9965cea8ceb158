//! Per-interface configuration: our addresses, timers, and every bound the stack keeps.
//!
//! All tables and queues are sized from here once, when the [`crate::Interface`] is
//! made; nothing grows afterwards.

use std::net::Ipv4Addr;
use std::time::Duration;

/// ARP timers and table sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpConfig {
    /// How long a learned entry is used before the next hop must be resolved again.
    pub entry_ttl: Duration,
    /// How long before expiry an entry still in use is re-confirmed with one unicast
    /// request (RFC 1122 2.3.2.1), so a busy flow never stalls on re-resolution; zero
    /// disables the refresh.
    pub refresh_before: Duration,
    /// Time between requests for a next hop that has not answered.
    pub retry_interval: Duration,
    /// Requests sent for one next hop before its waiting packets are dropped (>= 1).
    pub max_requests: u8,
    /// Entries in the table (preallocated; the oldest is evicted when full).
    pub table_size: usize,
    /// Next hops that can be resolved at once.
    pub pending_hops: usize,
    /// Packets that can wait for one next hop's resolution.
    pub pending_per_hop: usize,
}

impl Default for ArpConfig {
    /// Linux-like timers (entries live a minute, one request a second, three tries).
    fn default() -> Self {
        ArpConfig {
            entry_ttl: Duration::from_secs(60),
            refresh_before: Duration::from_secs(5),
            retry_interval: Duration::from_secs(1),
            max_requests: 3,
            table_size: 64,
            pending_hops: 16,
            pending_per_hop: 16,
        }
    }
}

/// One interface's configuration; the MAC address comes from the NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Our IPv4 address (unicast, not loopback).
    pub addr: Ipv4Addr,
    /// Prefix length of our subnet (0..=32).
    pub prefix_len: u8,
    /// Router for destinations outside the subnet; `None` means off-link is unreachable.
    pub gateway: Option<Ipv4Addr>,
    /// TTL of every packet we emit.
    pub ttl: u8,
    /// Largest IPv4 packet we emit, header included. We never fragment: a UDP send
    /// over it fails with [`crate::SendError::TooBig`], and an echo request whose
    /// reply would exceed it is dropped unanswered (counted as
    /// [`crate::DropReason::IcmpEchoTooBig`]; Linux would fragment the reply).
    pub mtu: usize,
    /// Frames kept queued for transmission beyond the burst the NIC refused
    /// (dropped and counted past this).
    pub tx_backlog: usize,
    /// UDP ports that can be bound at once.
    pub udp_ports: usize,
    /// Datagrams queued per bound UDP port before new ones are dropped.
    pub udp_queue_depth: usize,
    /// Whether a datagram to an unbound port gets an ICMP port unreachable.
    pub icmp_port_unreachable: bool,
    /// ICMP errors sent per second at most (token bucket); 0 sends none.
    pub icmp_error_rate: u32,
    /// ICMP errors that may be sent back to back.
    pub icmp_error_burst: u32,
    /// ARP timers and sizes.
    pub arp: ArpConfig,
}

impl Config {
    /// Defaults for `addr/prefix_len`: TTL 64, MTU 1500, no gateway.
    pub fn new(addr: Ipv4Addr, prefix_len: u8) -> Self {
        Config {
            addr,
            prefix_len,
            gateway: None,
            ttl: 64,
            mtu: 1500,
            tx_backlog: 1024,
            udp_ports: 16,
            udp_queue_depth: 256,
            icmp_port_unreachable: true,
            icmp_error_rate: 100,
            icmp_error_burst: 10,
            arp: ArpConfig::default(),
        }
    }

    /// The same configuration with `gateway` as the default router.
    pub fn with_gateway(mut self, gateway: Ipv4Addr) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// Checks that the configuration describes a usable interface.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.prefix_len > 32 {
            return Err(ConfigError::PrefixLen(self.prefix_len));
        }
        // A loopback address never appears on a wire: every packet from a peer on
        // its subnet would be dropped as a martian.
        if !is_unicast(self.addr) || self.addr == self.subnet_broadcast() || self.addr.is_loopback()
        {
            return Err(ConfigError::Address(self.addr));
        }
        if let Some(gw) = self.gateway {
            if !self.on_link(gw) || gw == self.addr || self.is_broadcast(gw) || !is_unicast(gw) {
                return Err(ConfigError::Gateway(gw));
            }
        }
        // 68 is the smallest MTU IPv4 allows (RFC 791).
        if !(68..=65535).contains(&self.mtu) {
            return Err(ConfigError::Mtu(self.mtu));
        }
        let a = &self.arp;
        if self.ttl == 0
            || a.max_requests == 0
            || a.table_size == 0
            || a.pending_hops == 0
            || a.pending_per_hop == 0
            || self.udp_ports == 0
            || self.udp_queue_depth == 0
        {
            return Err(ConfigError::ZeroBound);
        }
        Ok(())
    }

    /// The subnet mask as a 32-bit number.
    pub fn netmask(&self) -> u32 {
        match self.prefix_len {
            0 => 0,
            p => u32::MAX << (32 - u32::from(p.min(32))),
        }
    }

    /// Whether `ip` is in our subnet (reached directly, without the gateway).
    pub fn on_link(&self, ip: Ipv4Addr) -> bool {
        let m = self.netmask();
        u32::from(ip) & m == u32::from(self.addr) & m
    }

    /// Our subnet's directed broadcast address (our own address on /31 and /32,
    /// which have none: RFC 3021).
    pub fn subnet_broadcast(&self) -> Ipv4Addr {
        if self.prefix_len >= 31 {
            return self.addr;
        }
        Ipv4Addr::from(u32::from(self.addr) | !self.netmask())
    }

    /// Whether `ip` is the limited broadcast or our subnet's broadcast address.
    pub fn is_broadcast(&self, ip: Ipv4Addr) -> bool {
        ip == Ipv4Addr::BROADCAST || (self.prefix_len < 31 && ip == self.subnet_broadcast())
    }
}

/// Whether `ip` can name one host: not unspecified, broadcast, multicast or reserved.
pub(crate) fn is_unicast(ip: Ipv4Addr) -> bool {
    !(ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.octets()[0] >= 240)
}

/// Why a [`Config`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The prefix length is over 32.
    #[error("prefix length {0} is over 32")]
    PrefixLen(u8),
    /// Our address cannot name one host.
    #[error("{0} is not a usable unicast address")]
    Address(Ipv4Addr),
    /// The gateway is off our subnet, ours, or not unicast.
    #[error("gateway {0} is not a unicast address on our subnet")]
    Gateway(Ipv4Addr),
    /// The MTU is outside 68..=65535.
    #[error("MTU {0} is outside 68..=65535")]
    Mtu(usize),
    /// A TTL, table size or queue bound is zero.
    #[error("a TTL, table size or queue bound is zero")]
    ZeroBound,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_arithmetic() {
        let c = Config::new(Ipv4Addr::new(10, 0, 0, 1), 24);
        assert_eq!(c.netmask(), 0xffff_ff00);
        assert!(c.on_link(Ipv4Addr::new(10, 0, 0, 200)));
        assert!(!c.on_link(Ipv4Addr::new(10, 0, 1, 2)));
        assert_eq!(c.subnet_broadcast(), Ipv4Addr::new(10, 0, 0, 255));
        assert!(c.is_broadcast(Ipv4Addr::new(10, 0, 0, 255)));
        assert!(c.is_broadcast(Ipv4Addr::BROADCAST));
        assert!(!c.is_broadcast(Ipv4Addr::new(10, 0, 0, 2)));
        let p2p = Config::new(Ipv4Addr::new(10, 0, 0, 1), 31);
        assert!(!p2p.is_broadcast(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(Config::new(Ipv4Addr::new(1, 2, 3, 4), 0).netmask(), 0);
    }

    #[test]
    fn validation_refuses_nonsense() {
        let ok = Config::new(Ipv4Addr::new(10, 0, 0, 1), 24);
        assert_eq!(ok.validate(), Ok(()));
        assert!(ok
            .with_gateway(Ipv4Addr::new(10, 0, 0, 254))
            .validate()
            .is_ok());
        assert_eq!(
            ok.with_gateway(Ipv4Addr::new(10, 9, 0, 1)).validate(),
            Err(ConfigError::Gateway(Ipv4Addr::new(10, 9, 0, 1)))
        );
        let mut bad = ok;
        bad.prefix_len = 33;
        assert_eq!(bad.validate(), Err(ConfigError::PrefixLen(33)));
        let mut bad = ok;
        bad.addr = Ipv4Addr::new(10, 0, 0, 255);
        assert!(matches!(bad.validate(), Err(ConfigError::Address(_))));
        assert_eq!(
            Config::new(Ipv4Addr::new(127, 0, 0, 2), 8).validate(),
            Err(ConfigError::Address(Ipv4Addr::new(127, 0, 0, 2))),
            "loopback never reaches a wire"
        );
        let mut bad = ok;
        bad.arp.pending_per_hop = 0;
        assert_eq!(bad.validate(), Err(ConfigError::ZeroBound));
        let mut bad = ok;
        bad.mtu = 40;
        assert_eq!(bad.validate(), Err(ConfigError::Mtu(40)));
    }
}
