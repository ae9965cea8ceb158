//! Parsers for `ix-run`'s textual arguments: addresses, ARP entries, core lists.

use anyhow::{bail, Context, Result};
use echo_ix::vhost::parse_mac;
use std::net::Ipv4Addr;

/// Parses "A.B.C.D/N".
pub fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8)> {
    let (a, p) = s.split_once('/').context("expected ADDRESS/PREFIX")?;
    let prefix: u8 = p.parse().context("bad prefix length")?;
    if prefix > 32 {
        bail!("prefix length must be 0..=32");
    }
    Ok((a.parse().context("bad IPv4 address")?, prefix))
}

/// Parses "A.B.C.D" or "A.B.C.D/N".
pub fn parse_addr(s: &str) -> Result<(Ipv4Addr, Option<u8>)> {
    if s.contains('/') {
        let (a, p) = parse_cidr(s)?;
        Ok((a, Some(p)))
    } else {
        Ok((s.parse().context("bad IPv4 address")?, None))
    }
}

/// Parses "IP=MAC" (a `--static-arp` entry).
pub fn parse_arp(s: &str) -> Result<(Ipv4Addr, [u8; 6])> {
    let (ip, mac) = s.split_once('=').context("--static-arp wants IP=MAC")?;
    Ok((
        ip.parse().context("bad IPv4 address in --static-arp")?,
        parse_mac(mac)?,
    ))
}

/// Parses a core list: "1", "1,1", "0-3".
pub fn parse_cores(s: &str) -> Result<Vec<u32>> {
    let mut v = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse()?, b.trim().parse()?);
                if a > b {
                    bail!("core range {part}: start after end");
                }
                v.extend(a..=b);
            }
            None => v.push(part.trim().parse().context("bad core number")?),
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_lists_expand_ranges_and_keep_repeats() {
        assert_eq!(parse_cores("1").unwrap(), vec![1]);
        assert_eq!(parse_cores("1,1").unwrap(), vec![1, 1]);
        assert_eq!(parse_cores("2-5").unwrap(), vec![2, 3, 4, 5]);
        assert!(parse_cores("3-1").is_err());
        assert!(parse_cores("1,x").is_err());
    }

    #[test]
    fn addresses_take_an_optional_prefix() {
        let a = Ipv4Addr::new(10, 0, 0, 2);
        assert_eq!(parse_addr("10.0.0.2").unwrap(), (a, None));
        assert_eq!(parse_addr("10.0.0.2/24").unwrap(), (a, Some(24)));
        assert!(parse_addr("10.0.0.2/33").is_err());
        assert!(parse_cidr("10.0.0.2").is_err());
        assert!(parse_arp("10.0.0.2").is_err());
    }
}
