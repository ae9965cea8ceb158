//! The benchmark's Ethernet frames: `dst | src | 0x88b5 | seq (u64 LE) | zeros`.
//!
//! Frame sizes are the bytes handed to the NIC. Virtual NICs carry no FCS,
//! so a "64-byte frame" here is 64 bytes of data (on a wire it would be 68
//! with the FCS); the smallest accepted is 60, Ethernet's minimum without FCS.

use anyhow::{bail, Result};

/// A MAC address.
pub type Mac = [u8; 6];

/// Ethertype of benchmark frames (IEEE 802 local experimental 1).
pub const ETHERTYPE: u16 = 0x88b5;
/// Length of the Ethernet header.
pub const HEADER_LEN: usize = 14;
/// Offset of the sequence number.
pub const SEQ_OFFSET: usize = HEADER_LEN;
/// Smallest frame the benchmark builds (Ethernet minimum without FCS).
pub const MIN_FRAME: usize = 60;
/// Largest frame (a 1500-byte MTU plus the header, no FCS).
pub const MAX_FRAME: usize = 1514;

/// Parses `aa:bb:cc:dd:ee:ff` (case-insensitive).
pub fn parse_mac(s: &str) -> Result<Mac> {
    let mut mac = [0u8; 6];
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        bail!("{s:?} is not a MAC address (expected six hex bytes separated by ':')");
    }
    for (byte, part) in mac.iter_mut().zip(&parts) {
        if part.len() != 2 {
            bail!("{s:?} is not a MAC address ({part:?} is not two hex digits)");
        }
        *byte = u8::from_str_radix(part, 16)
            .map_err(|_| anyhow::anyhow!("{s:?} is not a MAC address ({part:?} is not hex)"))?;
    }
    Ok(mac)
}

/// Formats a MAC as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: Mac) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A locally administered unicast MAC for a tap's kernel side, different
/// from the port's own `port` MAC (the tap PMD gives the kernel side the
/// port's MAC, and two ends sharing one address confuse both).
pub fn kernel_side_mac(port: Mac) -> Mac {
    [0x02, 0x00, port[2], port[3], port[4], port[5] ^ 0x01]
}

/// Writes a benchmark frame into `buf` (its whole length): header, `seq`,
/// zero padding. Assumes `buf.len() >= MIN_FRAME` (shorter buffers get as
/// much of the header as fits).
pub fn write_frame(buf: &mut [u8], dst: Mac, src: Mac, seq: u64) {
    let mut header = [0u8; SEQ_OFFSET + 8];
    header[..6].copy_from_slice(&dst);
    header[6..12].copy_from_slice(&src);
    header[12..14].copy_from_slice(&ETHERTYPE.to_be_bytes());
    header[SEQ_OFFSET..].copy_from_slice(&seq.to_le_bytes());
    let n = header.len().min(buf.len());
    buf[..n].copy_from_slice(&header[..n]);
    if buf.len() > n {
        buf[n..].fill(0);
    }
}

/// The sequence number of a benchmark frame; `None` for any other frame.
pub fn read_seq(frame: &[u8]) -> Option<u64> {
    if frame.get(12..14)? != ETHERTYPE.to_be_bytes() {
        return None;
    }
    let seq = frame.get(SEQ_OFFSET..SEQ_OFFSET + 8)?;
    Some(u64::from_le_bytes(seq.try_into().ok()?))
}

/// Swaps the destination and source MACs in place (a reflector's work).
pub fn swap_macs(frame: &mut [u8]) {
    if frame.len() >= 12 {
        let (dst, rest) = frame.split_at_mut(6);
        dst.swap_with_slice(&mut rest[..6]);
    }
}

/// Counts frames lost or reordered in a stream of sequence numbers that
/// should arrive as `0, 1, 2, ...`: each jump forward adds the gap to
/// `missing`, each step backwards counts one `reordered`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeqTracker {
    next: u64,
    /// Frames skipped over (lost, or still to come out of order).
    pub missing: u64,
    /// Frames that arrived below the highest sequence number seen.
    pub reordered: u64,
}

impl SeqTracker {
    /// Accounts for the arrival of `seq`.
    pub fn see(&mut self, seq: u64) {
        if seq >= self.next {
            self.missing += seq - self.next;
            self.next = seq + 1;
        } else {
            self.reordered += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_and_format() {
        let mac = parse_mac("02:00:Ab:cd:EF:01").unwrap();
        assert_eq!(mac, [0x02, 0x00, 0xab, 0xcd, 0xef, 0x01]);
        assert_eq!(format_mac(mac), "02:00:ab:cd:ef:01");
        for bad in [
            "",
            "02:00:ab:cd:ef",
            "02:00:ab:cd:ef:01:02",
            "0g:00:00:00:00:00",
            "2:0:0:0:0:0",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn kernel_mac_differs_and_is_local_unicast() {
        let port = [0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f];
        let k = kernel_side_mac(port);
        assert_ne!(k, port);
        assert_eq!(k[0] & 0x03, 0x02, "locally administered, unicast");
    }

    #[test]
    fn frames_round_trip() {
        let mut buf = vec![0xffu8; 64];
        let dst = [1, 2, 3, 4, 5, 6];
        let src = [7, 8, 9, 10, 11, 12];
        write_frame(&mut buf, dst, src, 0x0102_0304_0506_0708);
        assert_eq!(&buf[..6], &dst);
        assert_eq!(&buf[6..12], &src);
        assert_eq!(&buf[12..14], &[0x88, 0xb5]);
        assert!(buf[22..].iter().all(|&b| b == 0));
        assert_eq!(read_seq(&buf), Some(0x0102_0304_0506_0708));
        swap_macs(&mut buf);
        assert_eq!(&buf[..6], &src);
        assert_eq!(&buf[6..12], &dst);
        buf[13] = 0xb6;
        assert_eq!(read_seq(&buf), None, "other ethertype");
        assert_eq!(read_seq(&buf[..20]), None, "too short");
    }

    #[test]
    fn sequence_gaps_and_reordering_are_counted() {
        let mut t = SeqTracker::default();
        for seq in [0, 1, 2, 5, 3, 6, 7, 10] {
            t.see(seq);
        }
        assert_eq!(t.missing, 2 + 2);
        assert_eq!(t.reordered, 1);
    }
}
