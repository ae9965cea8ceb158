//! The receive path of one frame: Ethernet, then ARP or IPv4, then ICMP, UDP or the
//! transport. Each step either hands the frame on or drops it with a counted reason.

use crate::context::TxContext;
use crate::ethernet::{self, ETHERTYPE_ARP, ETHERTYPE_IPV4};
use crate::ipv4::{self, PROTO_ICMP, PROTO_UDP};
use crate::stats::{DropReason, Event};
use crate::transport::Transport;
use crate::udp::UdpTable;
use crate::{arp, icmp, udp};
use ix_nic::{BufPool, RxBuf, RxSeg};

/// Takes one received frame as far up the stack as it goes.
pub(crate) fn frame<P: BufPool, T: Transport<P>>(
    ctx: &mut TxContext<'_, P>,
    udp_table: &mut UdpTable<P::Rx>,
    upper: &mut T,
    rx: P::Rx,
) {
    let Some(eth) = ethernet::parse(rx.data()) else {
        ctx.st().stats.drop(DropReason::EthTruncated);
        return;
    };
    let accepted = ethernet::accept(eth.dst, ctx.mac())
        .and_then(|()| ethernet::accept_source(eth.src, ctx.mac()));
    if let Err(reason) = accepted {
        ctx.st().stats.drop(reason);
        return;
    }
    match eth.ethertype {
        ETHERTYPE_IPV4 => ip(ctx, udp_table, upper, rx, eth.src),
        ETHERTYPE_ARP => arp::receive(ctx, rx),
        _ => ctx.st().stats.drop(DropReason::EthUnknownType),
    }
}

/// The IPv4 part of the receive path.
fn ip<P: BufPool, T: Transport<P>>(
    ctx: &mut TxContext<'_, P>,
    udp_table: &mut UdpTable<P::Rx>,
    upper: &mut T,
    rx: P::Rx,
    src_mac: [u8; 6],
) {
    let info = match ipv4::parse(rx.data(), src_mac, ctx.config()) {
        Ok(info) => info,
        Err(reason) => {
            ctx.st().stats.drop(reason);
            return;
        }
    };
    if info.header_len > ipv4::HEADER_LEN {
        ctx.st().stats.count(Event::Ipv4Options);
    }
    match info.protocol {
        PROTO_UDP => udp::receive(ctx, udp_table, rx, &info),
        PROTO_ICMP => icmp::receive(ctx, upper, rx, &info),
        p if upper.accepts(p) => {
            if info.broadcast {
                ctx.st().stats.drop(DropReason::TransportBroadcast);
                return;
            }
            let Some(seg) = RxSeg::new(rx, info.l4_range()) else {
                // Unreachable: parse() bounded the range by the frame.
                ctx.st().stats.drop(DropReason::Ipv4Truncated);
                return;
            };
            ctx.st().stats.count(Event::TransportDelivered);
            upper.receive(ctx, &info, seg);
        }
        _ => ctx.st().stats.drop(DropReason::Ipv4UnknownProtocol),
    }
}
