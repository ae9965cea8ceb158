//! Ethernet II: which frames are ours, what they carry, and writing our header.
//!
//! A frame is taken only if it is addressed to us (our MAC or broadcast) and comes
//! from a station: its source is a single station's address other than ours. A group
//! or zero source names no sender, and our own is our frame reflected back or a
//! spoof; answering any of them (an echo reply goes straight back to the source MAC)
//! would send unicast IP to a group, to nobody, or to ourselves.

use crate::stats::DropReason;
use smoltcp::wire::{EthernetAddress, EthernetFrame, EthernetProtocol};

/// Bytes in an Ethernet II header (no VLAN tag: the NIC strips or we drop).
pub const HEADER_LEN: usize = 14;

/// The broadcast address.
pub const BROADCAST: [u8; 6] = [0xff; 6];

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;

/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;

/// The fields of a received Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthHeader {
    /// Destination address.
    pub dst: [u8; 6],
    /// Source address.
    pub src: [u8; 6],
    /// What the frame carries.
    pub ethertype: u16,
}

/// Reads the header of `frame`; `None` if it is shorter than a header.
pub fn parse(frame: &[u8]) -> Option<EthHeader> {
    let f = EthernetFrame::new_checked(frame).ok()?;
    Some(EthHeader {
        dst: f.dst_addr().0,
        src: f.src_addr().0,
        ethertype: u16::from(f.ethertype()),
    })
}

/// Whether a frame to `dst` is for a station whose address is `ours`: our unicast
/// address or broadcast; multicast and other stations' frames are dropped by reason.
pub fn accept(dst: [u8; 6], ours: [u8; 6]) -> Result<(), DropReason> {
    if dst == ours || dst == BROADCAST {
        Ok(())
    } else if is_multicast(dst) {
        Err(DropReason::EthMulticast)
    } else {
        Err(DropReason::EthNotForUs)
    }
}

/// Whether a frame from `src` can come from a station other than the one whose
/// address is `ours`: not a group (multicast or broadcast) address, not all zeros,
/// not ours. Each refusal has its own reason.
pub fn accept_source(src: [u8; 6], ours: [u8; 6]) -> Result<(), DropReason> {
    if is_multicast(src) {
        Err(DropReason::EthSourceMulticast)
    } else if src == [0; 6] {
        Err(DropReason::EthSourceZero)
    } else if src == ours {
        Err(DropReason::EthSourceOurs)
    } else {
        Ok(())
    }
}

/// Whether `mac` is a group (multicast or broadcast) address.
pub fn is_multicast(mac: [u8; 6]) -> bool {
    EthernetAddress(mac).is_multicast()
}

/// Writes an Ethernet header at the start of `buf`; does nothing if `buf` is shorter
/// than a header (callers reserve one first).
pub fn write_header(buf: &mut [u8], dst: [u8; 6], src: [u8; 6], ethertype: u16) {
    let Some(hdr) = buf.get_mut(..HEADER_LEN) else {
        return;
    };
    let mut f = EthernetFrame::new_unchecked(hdr);
    f.set_dst_addr(EthernetAddress(dst));
    f.set_src_addr(EthernetAddress(src));
    f.set_ethertype(EthernetProtocol::from(ethertype));
}

/// Rewrites just the destination address of the frame in `buf` (set once ARP has
/// resolved the next hop).
pub fn set_dst(buf: &mut [u8], dst: [u8; 6]) {
    if let Some(d) = buf.get_mut(..6) {
        d.copy_from_slice(&dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: [u8; 6] = [2, 0, 0, 0, 0, 1];

    #[test]
    fn accepts_ours_and_broadcast_only() {
        assert_eq!(accept(US, US), Ok(()));
        assert_eq!(accept(BROADCAST, US), Ok(()));
        assert_eq!(
            accept([0x01, 0x00, 0x5e, 0, 0, 1], US),
            Err(DropReason::EthMulticast)
        );
        assert_eq!(
            accept([0x33, 0x33, 0, 0, 0, 1], US),
            Err(DropReason::EthMulticast)
        );
        assert_eq!(accept([2, 0, 0, 0, 0, 9], US), Err(DropReason::EthNotForUs));
    }

    #[test]
    fn sources_must_be_another_single_station() {
        assert_eq!(accept_source([2, 0, 0, 0, 0, 9], US), Ok(()));
        // Locally administered and universal unicast alike.
        assert_eq!(accept_source([0x00, 0x1b, 0x21, 1, 2, 3], US), Ok(()));
        for group in [
            BROADCAST,
            [0x01, 0x00, 0x5e, 0, 0, 1],
            [0x33, 0x33, 0, 0, 0, 1],
            [0x03, 0, 0, 0, 0, 0],
        ] {
            assert_eq!(
                accept_source(group, US),
                Err(DropReason::EthSourceMulticast),
                "{group:02x?}"
            );
        }
        assert_eq!(accept_source([0; 6], US), Err(DropReason::EthSourceZero));
        assert_eq!(accept_source(US, US), Err(DropReason::EthSourceOurs));
    }

    #[test]
    fn header_round_trip_and_short_frames() {
        let mut buf = [0u8; 20];
        write_header(&mut buf, BROADCAST, US, ETHERTYPE_ARP);
        let h = parse(&buf).unwrap();
        assert_eq!(
            h,
            EthHeader {
                dst: BROADCAST,
                src: US,
                ethertype: ETHERTYPE_ARP
            }
        );
        set_dst(&mut buf, [9; 6]);
        assert_eq!(parse(&buf).unwrap().dst, [9; 6]);
        assert!(parse(&buf[..13]).is_none());
        let mut short = [0u8; 5];
        write_header(&mut short, BROADCAST, US, ETHERTYPE_IPV4);
        assert_eq!(short, [0; 5], "too short: untouched, no panic");
    }
}
