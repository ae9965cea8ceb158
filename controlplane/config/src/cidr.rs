//! IPv4 addresses with a prefix length, as configs write them (`10.77.0.2/24`).

use std::net::Ipv4Addr;

/// An IPv4 address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The address.
    pub addr: Ipv4Addr,
    /// The prefix length (0..=32).
    pub prefix: u8,
}

impl Cidr {
    /// Whether `other` lies in this address's subnet.
    pub fn contains(&self, other: Ipv4Addr) -> bool {
        let mask = if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        };
        u32::from(self.addr) & mask == u32::from(other) & mask
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Parses `a.b.c.d/p`; the message says what is wrong.
pub fn parse_cidr(text: &str) -> Result<Cidr, String> {
    let (a, p) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not an IPv4 address/prefix (e.g. 10.77.0.2/24)"))?;
    let addr: Ipv4Addr = a
        .parse()
        .map_err(|_| format!("{a:?} in {text:?} is not an IPv4 address"))?;
    let prefix: u8 = p
        .parse()
        .ok()
        .filter(|p| (1..=32).contains(p))
        .ok_or_else(|| format!("prefix {p:?} in {text:?} is not 1..=32"))?;
    if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() {
        return Err(format!("{addr} is not a usable unicast address"));
    }
    Ok(Cidr { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let c = parse_cidr("10.77.0.2/24").unwrap();
        assert_eq!(c.addr, Ipv4Addr::new(10, 77, 0, 2));
        assert_eq!(c.prefix, 24);
        assert!(c.contains(Ipv4Addr::new(10, 77, 0, 200)));
        assert!(!c.contains(Ipv4Addr::new(10, 78, 0, 1)));
        for bad in [
            "10.77.0.2",
            "10.77.0/24",
            "10.77.0.2/33",
            "10.77.0.2/x",
            "0.0.0.0/8",
        ] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
    }
}
