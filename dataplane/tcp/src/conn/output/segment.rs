//! Building and emitting one segment: each its own frame, header written here,
//! payload attached by reference from the send queue; our header's ACK fields,
//! window and options (SYN options, TSopt, SACK and D-SACK blocks) for a connection; RSTs
//! and control segments for no connection.

use crate::api::State;
use crate::conn::tcb::Tcb;
use crate::conn::window::wscale_for;
use crate::core::Core;
use crate::flow_table::FlowKey;
use crate::header::{Flags, Header};
use crate::options::TcpOptions;
use crate::sendq::SendQueue;
use crate::seq::Seq;
use crate::stats::Counter;
use ix_net::ipv4::PROTO_TCP;
use ix_net::TxContext;
use ix_nic::BufPool;

/// Offset of the flags byte in the TCP header.
const FLAGS_OFFSET: usize = 13;
/// Offset of the checksum field in the TCP header.
const CHECKSUM_OFFSET: usize = 16;
/// An IPv4 header without options (what ix-net sends).
const IPV4_HEADER_LEN: usize = 20;

/// Builds and queues one segment to `key`'s peer: `hdr`, then up to `len` bytes of
/// `payload` from sequence `from` attached by reference. If fewer bytes could be
/// attached (the frame ran out of attachment slots) the segment carries fewer and
/// loses its FIN. Returns the payload bytes sent; `Err` if nothing was sent.
pub(crate) fn emit<P: BufPool>(
    ctx: &mut TxContext<'_, P>,
    core: &mut Core,
    key: FlowKey,
    hdr: &Header,
    payload: Option<(&mut SendQueue<P::Shared>, Seq, u32)>,
) -> Result<u32, ()> {
    let remote = key.remote();
    let Ok(mut pkt) = ctx.packet(*remote.ip(), PROTO_TCP, hdr.emitted_len()) else {
        core.count(Counter::TxFailed);
        return Err(());
    };
    hdr.emit(pkt.l4_mut());
    let mut sent = 0;
    if let Some((q, from, len)) = payload {
        sent = q.for_range(from, len, |buf, r| pkt.attach(buf, r).is_ok());
        if sent < len {
            if let Some(f) = pkt.l4_mut().get_mut(FLAGS_OFFSET) {
                *f &= !Flags::FIN.0;
            }
        }
    }
    pkt.fill_l4_checksum(CHECKSUM_OFFSET);
    if ctx.send(pkt).is_err() {
        core.count(Counter::TxFailed);
        return Err(());
    }
    core.count(Counter::SegsOut);
    core.stats.add(Counter::BytesOut, u64::from(sent));
    Ok(sent)
}

/// Sends a RST to `key`'s peer (RFC 9293 3.10.7.1's two shapes: with `ack`, the
/// <SEQ=0><ACK=..><CTL=RST,ACK> form; without, <SEQ=seq><CTL=RST>).
pub(crate) fn send_rst<P: BufPool>(
    ctx: &mut TxContext<'_, P>,
    core: &mut Core,
    key: FlowKey,
    seq: Seq,
    ack: Option<Seq>,
) {
    let hdr = Header {
        src_port: key.local_port(),
        dst_port: key.remote().port(),
        seq,
        ack: ack.unwrap_or(Seq(0)),
        flags: if ack.is_some() {
            Flags::RST.with(Flags::ACK)
        } else {
            Flags::RST
        },
        window: 0,
        header_len: 0,
        options: TcpOptions::default(),
    };
    if emit(ctx, core, key, &hdr, None).is_ok() {
        core.count(Counter::RstsOut);
    }
}

/// Sends a segment without payload and without a TCB (TIME_WAIT answers, SYN
/// cookie SYN-ACKs): every header field is the caller's.
#[allow(clippy::too_many_arguments)] // a header's fields, spelled out at call sites
pub(crate) fn send_control<P: BufPool>(
    ctx: &mut TxContext<'_, P>,
    core: &mut Core,
    key: FlowKey,
    seq: Seq,
    ack: Seq,
    flags: Flags,
    window: u16,
    options: TcpOptions,
) {
    let hdr = Header {
        src_port: key.local_port(),
        dst_port: key.remote().port(),
        seq,
        ack,
        flags,
        window,
        header_len: 0,
        options,
    };
    let _ = emit(ctx, core, key, &hdr, None);
}

/// The MSS we advertise: configured, clamped to the interface MTU.
pub(crate) fn our_mss(core: &Core, mtu: usize) -> u16 {
    let path = mtu.saturating_sub(40).clamp(64, usize::from(u16::MAX)) as u16;
    core.cfg.mss.min(path)
}

impl<P: BufPool> Tcb<P> {
    /// Builds our header for a segment at `seq` with `flags` (ACK fields, window,
    /// options filled in).
    fn header(&mut self, core: &mut Core, mtu: usize, seq: Seq, flags: Flags) -> Header {
        let syn = flags.has(Flags::SYN);
        let window = self.advertise(&core.cfg, syn);
        let mut options = TcpOptions::default();
        if syn {
            options.mss = Some(our_mss(core, mtu));
            let active = self.state == State::SynSent;
            if active {
                if core.cfg.window_scaling {
                    options.wscale = Some(wscale_for(core.cfg.recv_buf));
                }
                options.sack_permitted = core.cfg.sack;
            } else {
                // Answer only what the peer offered (negotiate() decided).
                if self.ws_agreed {
                    options.wscale = Some(self.rcv_wscale);
                }
                options.sack_permitted = self.sack_ok;
            }
        } else if self.sack_ok && (self.dsack.is_some() || !self.ooo.is_empty()) {
            // A D-SACK block first (RFC 2883), then the block holding it if it is
            // out-of-order data, then what the out-of-order queue holds.
            let blocks = self.ooo.sack_blocks(4);
            let mut holder = None;
            if let Some((l, r)) = self.dsack.take() {
                holder = blocks.iter().position(|&(a, b)| a.le(l) && r.le(b));
                // A sender tells a D-SACK block by its place (at or below the ACK,
                // or inside the next block: RFC 2883 4). One that is neither now
                // (the data it duplicated was released since, past a FIN) would
                // read as data held: it is left out.
                if r.le(self.rcv_nxt) || holder.is_some() {
                    options.sack.push((l, r));
                    core.count(Counter::DsacksOut);
                }
                if let Some(i) = holder {
                    options.sack.push(blocks[i]);
                }
            }
            for (i, &b) in blocks.iter().enumerate() {
                if Some(i) != holder && !options.sack.is_full() {
                    options.sack.push(b);
                }
            }
        }
        // TSopt on every segment once negotiated, and in our SYN if configured
        // (RFC 7323 3.2; its TSecr is then 0).
        if self.ts.ok || (syn && self.state == State::SynSent && core.cfg.timestamps) {
            options.timestamps = Some(self.ts.option(core.now));
        }
        Header {
            src_port: self.key.local_port(),
            dst_port: self.key.remote().port(),
            seq,
            ack: if flags.has(Flags::ACK) {
                self.rcv_nxt
            } else {
                Seq(0)
            },
            flags,
            window,
            header_len: 0,
            options,
        }
    }

    /// Sends one segment of this connection: up to `len` payload bytes from `seq`.
    /// Options (SACK blocks) take room from the payload, as they do from the MSS
    /// (RFC 6691): fewer bytes go, and then no FIN. Returns the payload bytes sent.
    pub(super) fn send_seg(
        &mut self,
        core: &mut Core,
        ctx: &mut TxContext<'_, P>,
        seq: Seq,
        len: u32,
        flags: Flags,
    ) -> Result<u32, ()> {
        let mut hdr = self.header(core, ctx.mtu(), seq, flags);
        let mut len = len;
        if len > 0 && !hdr.options.sack.is_empty() {
            let room = u32::try_from(ctx.mtu())
                .unwrap_or(u32::MAX)
                .saturating_sub((IPV4_HEADER_LEN + hdr.emitted_len()) as u32);
            if len > room {
                hdr.flags = Flags(hdr.flags.0 & !Flags::FIN.0);
                len = room;
            }
        }
        let payload = if len > 0 {
            Some((&mut self.sendq, seq, len))
        } else {
            None
        };
        let n = emit(ctx, core, self.key, &hdr, payload)?;
        if flags.has(Flags::ACK) {
            // RFC 7323 4.3's Last.ACK.sent.
            self.ts.last_ack_sent = hdr.ack;
            self.ack_now = false;
            self.ack_at_once = false;
            self.unacked_segs = 0;
            self.dl.delack = None;
        }
        Ok(n)
    }
}
