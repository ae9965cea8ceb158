//! Defects these targets found in `ix-net`, and whether each is still open.
//!
//! An open one (`true`) is tolerated, narrowly, so that fuzzing goes on past it
//! instead of stopping at the same crash every run. When one is fixed in `ix-net`,
//! its flag is set to `false`: the check it relaxes then applies again and catches
//! any regression. Every defect listed here is fixed; the entries stay as a record
//! of what the fuzzer found, and as the switch to reopen one.

/// `Interface::udp_send` and `udp_send_copy` transmit datagrams to destination port
/// 0, which ix-net's own receive path drops as malformed (Linux's `sendto` refuses
/// it with EINVAL). Tolerated by not asking for such sends.
///
/// Fixed: both refuse it with `SendError::PortZero` (counted as `tx_port_zero`).
pub const SENDS_TO_PORT_ZERO: bool = false;

/// `ipv4::parse` accepts packets from the wire whose source is a loopback address
/// (127.0.0.0/8), which RFC 1122 3.2.1.3 says must never appear outside a host, and
/// the stack then answers them (ICMP port unreachable or echo reply to 127.x.x.x,
/// routed through the gateway) and hands them to the transport. Tolerated by
/// letting answers go to loopback addresses.
///
/// Fixed: `ipv4::parse` drops them (counted as `ipv4_loopback_source`).
pub const ACCEPTS_LOOPBACK_SOURCE: bool = false;

/// `ipv4::parse` accepts packets from the wire whose source is our own address, and
/// the stack answers them: the echo reply to a spoofed request goes out with our
/// address as its destination (to the Ethernet address the request came from).
/// Linux drops such packets as martians. Tolerated by letting answers go to our own
/// address.
///
/// Fixed: `ipv4::parse` drops them (counted as `ipv4_own_source`).
pub const ACCEPTS_OWN_SOURCE: bool = false;

/// The echo reply's incremental checksum update (`checksum::update`, RFC 1624
/// eqn. 3) yields 0x0000 where only 0xFFFF is right: when every byte of the reply's
/// ICMP message other than the checksum is zero (identifier 0, sequence 0, data all
/// zero), the request's checksum is 0xF7FF and the update gives 0x0000, which fails
/// verification (ix-net's own `checksum::is_valid` included). Writing 0xFFFF
/// whenever the update gives 0x0000 is right in every case. Tolerated for exactly
/// that all-zero reply.
///
/// Fixed: `checksum::update` returns 0xFFFF where eqn. 3 gives 0x0000.
pub const ECHO_REPLY_ZERO_CHECKSUM: bool = false;

/// The Ethernet source address of a received frame is never validated, and an echo
/// reply goes "straight back to the MAC the request came from": a request from a
/// broadcast, multicast, zero or our own source MAC is answered to that address
/// (a unicast IP reply broadcast on the link, or sent to ourselves). Tolerated by not
/// checking the Ethernet destination of echo replies.
///
/// Fixed: ingress drops frames from a group, zero or our own source MAC (counted
/// as `eth_source_multicast`, `eth_source_zero`, `eth_source_ours`).
pub const ECHO_REPLY_TO_ANY_SOURCE_MAC: bool = false;

/// Echo replies are sent whatever their size: an echo request larger than the
/// configured MTU (which `Config::mtu` documents as the largest IPv4 packet "we
/// emit", with no fragmentation) is answered with a reply of the same size, over the
/// MTU. Tolerated by not checking the size of echo replies.
///
/// Fixed: such requests are dropped unanswered (counted as `icmp_echo_too_big`);
/// ix-net never fragments.
pub const ECHO_REPLY_IGNORES_MTU: bool = false;
