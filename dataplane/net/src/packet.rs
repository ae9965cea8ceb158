//! [`OutPacket`]: an IPv4 packet an upper layer is building, headers reserved.
//!
//! The frame's linear part starts with room for the Ethernet and IPv4 headers
//! (written by [`crate::TxContext::send`] once the route is known), then the L4
//! header the caller writes, then optionally a little copied data; payload proper is
//! attached by reference to [`ix_nic::SharedBuf`]s, so a retransmission or a
//! fan-out never copies it.

use crate::checksum::{self, Accumulator};
use crate::context::SendError;
use crate::{ethernet, ipv4};
use core::ops::Range;
use ix_nic::TxFrame;
use std::net::Ipv4Addr;

/// Where the L4 header starts in the frame: after the Ethernet and option-less IPv4
/// headers.
pub const L4_OFFSET: usize = ethernet::HEADER_LEN + ipv4::HEADER_LEN;

/// An IPv4 packet being built: the caller writes the L4 part, then hands it to
/// [`crate::TxContext::send`]. Dropping it instead releases the frame.
#[derive(Debug)]
pub struct OutPacket<F> {
    frame: F,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
}

impl<F: TxFrame> OutPacket<F> {
    /// Wraps `frame`, whose linear part already holds [`L4_OFFSET`] reserved bytes
    /// and the L4 header's.
    #[inline]
    pub(crate) fn new(frame: F, src: Ipv4Addr, dst: Ipv4Addr, protocol: u8) -> Self {
        OutPacket {
            frame,
            src,
            dst,
            protocol,
        }
    }

    /// The destination address.
    pub fn dst(&self) -> Ipv4Addr {
        self.dst
    }

    /// The source address (ours).
    pub fn src(&self) -> Ipv4Addr {
        self.src
    }

    /// The IP protocol number.
    pub fn protocol(&self) -> u8 {
        self.protocol
    }

    /// The linear L4 bytes written so far (the header, then any copied data).
    pub fn l4(&self) -> &[u8] {
        self.frame.linear().get(L4_OFFSET..).unwrap_or_default()
    }

    /// The linear L4 bytes, for writing the header; contents are unspecified until
    /// written.
    pub fn l4_mut(&mut self) -> &mut [u8] {
        self.frame
            .linear_mut()
            .get_mut(L4_OFFSET..)
            .unwrap_or_default()
    }

    /// Grows the linear L4 part by `len` bytes (more header, e.g. TCP options) and
    /// returns them; `None` if the linear part is full or payload is attached.
    pub fn append(&mut self, len: usize) -> Option<&mut [u8]> {
        self.frame.append(len)
    }

    /// Appends `bytes` to the linear part by copying them: for small payloads only,
    /// and counted as copied payload ([`ix_nic::copy`]). Must precede any attach.
    pub fn append_copy(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        let dst = self.frame.append(bytes.len()).ok_or(SendError::TooBig)?;
        ix_nic::copy::copy_payload(dst, bytes);
        Ok(())
    }

    /// Attaches `shared[range]` as payload by reference (no copy).
    pub fn attach(&mut self, shared: &F::Shared, range: Range<usize>) -> Result<(), SendError> {
        self.frame
            .attach(shared, range)
            .map_err(|_| SendError::NoBuffers)
    }

    /// Bytes of L4 header and payload so far.
    pub fn l4_len(&self) -> usize {
        self.frame.len().saturating_sub(L4_OFFSET)
    }

    /// The one's-complement sum of the IPv4 pseudo header and every L4 byte,
    /// attached payload included (reads the payload; copies nothing).
    pub fn l4_sum(&self, with_pseudo_header: bool) -> u16 {
        let mut acc = Accumulator::new();
        if with_pseudo_header {
            let len = u16::try_from(self.l4_len()).unwrap_or(u16::MAX);
            acc.add_sum(checksum::pseudo_header(
                self.src,
                self.dst,
                self.protocol,
                len,
            ));
        }
        let mut first = true;
        self.frame.for_each_segment(|seg| {
            if first {
                first = false;
                acc.add(seg.get(L4_OFFSET..).unwrap_or_default());
            } else {
                acc.add(seg);
            }
        });
        acc.sum()
    }

    /// Computes the UDP/TCP-style checksum (pseudo header included) and stores it in
    /// the 16-bit field at `offset` of the L4 header, which must be written already.
    /// A computed zero is stored as 0xffff, its equal in one's complement, since a
    /// zero UDP checksum means "none" (RFC 768).
    pub fn fill_l4_checksum(&mut self, offset: usize) {
        self.store_checksum(offset, true);
    }

    /// Computes a checksum over the L4 bytes alone (ICMP's) and stores it at `offset`.
    pub fn fill_plain_checksum(&mut self, offset: usize) {
        self.store_checksum(offset, false);
    }

    fn store_checksum(&mut self, offset: usize, pseudo: bool) {
        let Some(end) = offset.checked_add(2) else {
            return;
        };
        if let Some(field) = self.l4_mut().get_mut(offset..end) {
            field.fill(0);
        } else {
            return;
        }
        let c = !self.l4_sum(pseudo);
        let c = if pseudo && c == 0 { 0xffff } else { c };
        if let Some(field) = self.l4_mut().get_mut(offset..end) {
            field.copy_from_slice(&c.to_be_bytes());
        }
    }

    /// The frame as built so far (headers not yet written).
    pub fn frame(&self) -> &F {
        &self.frame
    }

    /// Takes the frame and addresses back out.
    #[inline]
    pub(crate) fn into_parts(self) -> (F, Ipv4Addr, Ipv4Addr, u8) {
        (self.frame, self.src, self.dst, self.protocol)
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use ix_nic::{SharedBuf, TxFrame};
    use smoltcp::wire::{IpAddress, UdpPacket};

    #[test]
    fn checksum_spans_linear_and_odd_offset_attachments() {
        let (mut i, _clock, pool) = iface();
        let a = pool.shared_from(b"attached, odd length").unwrap();
        let b = pool.shared_from(b"second piece!").unwrap();
        let mut ctx = i.tx();
        let mut pkt = ctx.packet(PEER, 17, 8).unwrap();
        pkt.append_copy(b"xyz").unwrap(); // 8 + 3: the attachment starts at an odd offset
        pkt.attach(&a, 0..a.len()).unwrap();
        pkt.attach(&b, 1..b.len()).unwrap();
        assert!(pkt.append(1).is_none(), "no linear growth after attaching");
        let len = pkt.l4_len() as u16;
        let h = pkt.l4_mut();
        h[0..2].copy_from_slice(&1u16.to_be_bytes());
        h[2..4].copy_from_slice(&2u16.to_be_bytes());
        h[4..6].copy_from_slice(&len.to_be_bytes());
        pkt.fill_l4_checksum(6);
        let mut wire = Vec::new();
        pkt.frame().for_each_segment(|s| wire.extend_from_slice(s));
        let udp = UdpPacket::new_checked(&wire[crate::packet::L4_OFFSET..]).unwrap();
        assert!(udp.verify_checksum(&IpAddress::Ipv4(US), &IpAddress::Ipv4(PEER)));
        assert_eq!(udp.payload(), b"xyzattached, odd lengthecond piece!");
    }
}
