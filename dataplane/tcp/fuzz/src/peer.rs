//! The peers' side of every flow: what a peer knows of its connection (its own next
//! sequence number, its last ACK, what the engine sent it), used to turn a
//! [`SegSpec`]'s relative choices into a concrete segment, and updated from every
//! segment the engine transmits.
//!
//! This is deliberately a peer's view, not the engine's: it is learned from the wire,
//! so it is right when the engine behaves and merely stale when a script confuses it.

use crate::addrs::{peer_index, PEER_IPS};
use crate::check::Out;
use crate::grammar::{
    AckChoice, OffsetChoice, OptItem, PayloadLen, SackBlock, SegSpec, SeqChoice, Target,
};
use crate::offers::offer_in;
use crate::sent::SentLog;
use crate::setup::PeerSyn;
use crate::tsopt::{tsopt_bytes, PeerTs};
use crate::wire::RawSeg;
use ix_tcp::seq::Seq;

/// SYN flag.
pub const SYN: u8 = 0x02;
/// FIN flag.
pub const FIN: u8 = 0x01;
/// RST flag.
pub const RST: u8 = 0x04;
/// ACK flag.
pub const ACK: u8 = 0x10;

/// A 4-tuple, from the engine's side: which peer, its port, our port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tuple {
    /// Index in [`PEER_IPS`].
    pub peer: usize,
    /// The peer's port.
    pub remote_port: u16,
    /// The engine's port.
    pub local_port: u16,
}

/// What a peer knows of one flow.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The 4-tuple.
    pub tuple: Tuple,
    /// The peer's next new sequence number.
    pub peer_nxt: Seq,
    /// The peer's last acknowledgment that was in range, if any.
    pub peer_una: Option<Seq>,
    /// The engine's initial sequence number (from its latest SYN or SYN-ACK).
    pub eng_iss: Option<Seq>,
    /// The highest sequence number the engine has sent, plus one.
    pub eng_max: Option<Seq>,
    /// The engine's latest acknowledgment (its RCV.NXT then).
    pub eng_ack: Option<Seq>,
    /// The acknowledgment of the engine's latest SYN-ACK: where a passive
    /// connection's received data starts.
    pub synack_ack: Option<Seq>,
    /// The MSS the engine advertised on its latest SYN or SYN-ACK.
    pub eng_mss: Option<u16>,
    /// The largest MSS any SYN the peer sent on this tuple let the engine use.
    pub mss_cap: Option<u16>,
    /// Whether any SYN the peer sent on this tuple offered SACK.
    pub offered_sack: bool,
    /// Whether any SYN the peer sent on this tuple offered window scaling.
    pub offered_ws: bool,
    /// The largest window shift any SYN the peer sent on this tuple offered (as
    /// the engine reads it: at most 14).
    pub ws_max: u8,
    /// The right edge of the largest window the peer advertised to the engine's
    /// current incarnation on this tuple (every window scaled by `ws_max`, each
    /// counted from its own ACK): the engine may send nothing beyond it.
    pub peer_edge: Option<Seq>,
    /// The data the peer sent to the engine's current incarnation on this tuple.
    pub sent: SentLog,
    /// Whether the peer sent a FIN on this tuple.
    pub peer_sent_fin: bool,
    /// Whether the application opened a connection on this tuple.
    pub app_connected: bool,
    /// The application's latest connection on this tuple (index into its list).
    pub conn: Option<usize>,
    /// RFC 7323 timestamps on this tuple, as the peer knows them.
    pub ts: PeerTs,
}

impl Flow {
    fn new(tuple: Tuple) -> Flow {
        // A peer ISN that depends on the tuple, well away from the set-up ones.
        let isn = (u32::from(tuple.remote_port) << 16 | u32::from(tuple.local_port))
            .wrapping_mul(0x9e37_79b1)
            .wrapping_add(tuple.peer as u32);
        Flow {
            tuple,
            peer_nxt: Seq(isn),
            peer_una: None,
            eng_iss: None,
            eng_max: None,
            eng_ack: None,
            synack_ack: None,
            eng_mss: None,
            mss_cap: None,
            offered_sack: false,
            offered_ws: false,
            ws_max: 0,
            peer_edge: None,
            sent: SentLog::default(),
            peer_sent_fin: false,
            app_connected: false,
            conn: None,
            ts: PeerTs::new(isn.rotate_left(16)),
        }
    }

    /// The engine's SND.MAX as the peer saw it (0 before anything was seen).
    fn max(&self) -> Seq {
        self.eng_max.unwrap_or(Seq(0))
    }

    /// The peer's previous ACK (SND.MAX if it never acknowledged anything).
    fn una(&self) -> Seq {
        self.peer_una.unwrap_or_else(|| self.max())
    }

    /// `from + n/256` of the way to SND.MAX (the previous ACK if that is not ahead).
    fn part(&self, n: u8) -> Seq {
        let (una, max) = (self.una(), self.max());
        let span = if max.ge(una) { max.since(una) } else { 0 };
        una.add((u64::from(span) * u64::from(n) / 256) as u32)
    }
}

/// The payload byte at sequence number `seq`: every peer sends this stream, so
/// whatever the engine delivers can be checked byte by byte.
pub fn peer_byte(seq: Seq) -> u8 {
    seq.0 as u8
}

/// Every flow the harness has used, in order of first use (at most one per action,
/// so the list stays short).
#[derive(Debug, Default)]
pub struct Flows {
    list: Vec<Flow>,
}

impl Flows {
    /// The flows, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Flow> {
        self.list.iter()
    }

    /// The index of `tuple`'s flow, made if new.
    pub fn index(&mut self, tuple: Tuple) -> usize {
        if let Some(i) = self.list.iter().position(|f| f.tuple == tuple) {
            return i;
        }
        self.list.push(Flow::new(tuple));
        self.list.len() - 1
    }

    /// The flow of `tuple`, if known.
    pub fn get(&self, tuple: Tuple) -> Option<&Flow> {
        self.list.iter().find(|f| f.tuple == tuple)
    }

    /// The flow of `tuple`, made if new.
    pub fn get_mut(&mut self, tuple: Tuple) -> &mut Flow {
        let i = self.index(tuple);
        &mut self.list[i]
    }

    /// Turns `spec` into a segment (the flow it targets is made if new), and
    /// records what the peer now knows it sent. `syn_opts` are the options put on
    /// a SYN whose spec has none. `unseen` bounds the bytes the engine may have
    /// sent on any flow that the wire has not shown yet (frames waiting in the
    /// interface's queues): an ACK that far beyond what the peer saw may be one
    /// the engine takes, and then the peer did acknowledge those bytes.
    pub fn resolve(&mut self, spec: &SegSpec, syn_opts: &PeerSyn, unseen: u32) -> (usize, RawSeg) {
        let i = match spec.target {
            Target::Flow(k) if !self.list.is_empty() => usize::from(k) % self.list.len(),
            Target::Flow(_) => self.index(Tuple {
                peer: 0,
                remote_port: crate::addrs::PEER_PORT_BASE,
                local_port: crate::addrs::LISTEN_PORT,
            }),
            Target::Fresh { peer, sport, dport } => self.index(Tuple {
                peer: usize::from(peer) % PEER_IPS.len(),
                remote_port: sport.resolve(),
                local_port: dport.resolve(),
            }),
        };
        let f = &mut self.list[i];
        let flags = spec.flags.bits();
        let syn = flags & SYN != 0;
        let seq = match spec.seq {
            SeqChoice::Next | SeqChoice::Ahead(0) => f.peer_nxt,
            SeqChoice::Rcv(off) => f.eng_ack.unwrap_or(f.peer_nxt).add(i32::from(off) as u32),
            SeqChoice::Ahead(n) => f.peer_nxt.add(u32::from(n)),
            SeqChoice::Behind(n) => f.peer_nxt.sub(u32::from(n)),
            SeqChoice::Wild(v) => Seq(v),
        };
        let ack = match spec.ack {
            AckChoice::All => f.max(),
            AckChoice::Same => f.una(),
            AckChoice::Part(n) => f.part(n),
            AckChoice::Beyond(n) => f.max().add(u32::from(n)),
            AckChoice::Before(n) => f.una().sub(u32::from(n)),
            AckChoice::Wild(v) => Seq(v),
        };
        let items: Vec<OptItem> = if syn && spec.options.0.is_empty() {
            syn_items(syn_opts)
        } else {
            spec.options.0.clone()
        };
        // TSopt first, where the 40-byte cut cannot reach it.
        let ts = f.ts.resolve(spec.ts);
        let mut options = ts.map_or_else(Vec::new, |t| tsopt_bytes(t).to_vec());
        option_bytes(&mut options, &items, f);
        let offset = match spec.offset {
            OffsetChoice::Exact => None,
            OffsetChoice::Raw(words) => Some(fit_offset(&mut options, words, seq)),
        };
        if syn {
            f.note_syn_options(&items, &options);
        }
        f.ts.record(&options, syn, syn && offer_in(&options).is_none());
        let len = match spec.payload {
            PayloadLen::Empty => 0,
            PayloadLen::Small(n) => u32::from(n),
            PayloadLen::Full => u32::from(f.eng_mss.unwrap_or(536)),
            PayloadLen::Any(n) => u32::from(n),
        };
        let first = seq.add(u32::from(syn));
        let payload = (0..len).map(|k| peer_byte(first.add(k))).collect();
        f.sent.record(first, len);
        // The peer's stream moves on when it sends at or past its next byte (not
        // for a gap: the bytes before it are still to be sent, by `Next`). Not for
        // a SYN either: no TCP takes data from one, and whether it starts a new
        // stream is learnt from the engine's answer ([`Flows::observe`]).
        let end = first.add(len + u32::from(flags & FIN != 0));
        let relative = !matches!(spec.seq, SeqChoice::Wild(_) | SeqChoice::Ahead(_));
        if relative && !syn && seq.le(f.peer_nxt) && end.gt(f.peer_nxt) {
            f.peer_nxt = end;
        }
        f.peer_sent_fin |= flags & FIN != 0;
        // The most the engine may have sent: what the wire showed, and what may
        // still wait in the interface's queues.
        let hi = f.max().add(unseen);
        if flags & ACK != 0 && ack.ge(f.una()) && ack.le(hi) {
            f.peer_una = Some(ack);
        }
        // Only an ACK the engine may take (not above SND.MAX, not far below it)
        // moves its window; the others would make the maximum meaningless.
        let acceptable = f.eng_max.is_some() && hi.since(ack) <= (1 << 30) + unseen;
        if flags & ACK != 0 && acceptable {
            let wnd = u32::from(spec.window.value()) << f.ws_max;
            let edge = ack.add(wnd);
            if f.peer_edge.is_none_or(|e| edge.gt(e)) {
                f.peer_edge = Some(edge);
            }
        }
        let seg = RawSeg {
            sport: f.tuple.remote_port,
            dport: f.tuple.local_port,
            seq: seq.0,
            ack: ack.0,
            flags,
            window: spec.window.value(),
            options,
            payload,
            offset,
            checksum: spec.checksum,
        };
        (f.tuple.peer, seg)
    }

    /// Learns from a segment the engine transmitted.
    pub fn observe(&mut self, out: &Out) {
        let Some(peer) = peer_index(out.dst) else {
            return;
        };
        let f = self.get_mut(Tuple {
            peer,
            remote_port: out.dport,
            local_port: out.sport,
        });
        if out.flags & RST != 0 {
            return;
        }
        let seq = Seq(out.seq);
        let syn = out.flags & SYN != 0;
        let end =
            seq.add(out.payload.len() as u32 + u32::from(syn) + u32::from(out.flags & FIN != 0));
        if syn {
            // Nothing beyond the SYN is sent before the handshake completes, so a
            // SYN (a new incarnation, or a retransmission) resets what was sent.
            if f.eng_iss != Some(seq) {
                f.peer_una = None;
                f.peer_edge = None;
                f.sent.clear();
            }
            f.eng_iss = Some(seq);
            f.eng_max = Some(end);
            f.eng_mss = out.mss;
            if out.flags & ACK != 0 {
                // The engine took one of the peer's SYNs: its stream starts there.
                f.synack_ack = Some(Seq(out.ack));
                f.peer_nxt = Seq(out.ack);
            }
        } else if f.eng_max.is_none_or(|m| end.gt(m)) {
            f.eng_max = Some(end);
        }
        if out.flags & ACK != 0 {
            let ack = Seq(out.ack);
            f.eng_ack = Some(ack);
            // Acknowledged past the peer's next byte: data it sent beyond a gap
            // was kept and the gap is filled; new data goes after it.
            if ack.gt(f.peer_nxt) && ack.since(f.peer_nxt) < 1 << 20 {
                f.peer_nxt = ack;
            }
        }
    }
}

impl Flow {
    /// Records what a SYN with these options lets the engine assume of the peer:
    /// what the bytes offer, read as a parser reads them; if the walk is in doubt,
    /// the most any item (or the 536 default) allows.
    fn note_syn_options(&mut self, items: &[OptItem], bytes: &[u8]) {
        let (mss, wscale, sack) = match offer_in(bytes) {
            Some(o) => (o.mss, o.wscale, o.sack),
            None => {
                let mut mss = 536;
                let (mut ws, mut sack) = (None, false);
                for o in items {
                    match *o {
                        OptItem::Mss(v) => mss = mss.max(v),
                        OptItem::Wscale(w) => ws = ws.max(Some(w.min(14))),
                        OptItem::SackPermitted => sack = true,
                        _ => {}
                    }
                }
                (mss, ws, sack)
            }
        };
        let mss = mss.max(64);
        self.mss_cap = Some(self.mss_cap.map_or(mss, |c| c.max(mss)));
        self.offered_sack |= sack;
        if let Some(w) = wscale {
            self.offered_ws = true;
            self.ws_max = self.ws_max.max(w);
        }
    }
}

/// The options put on SYNs at set-up (and on scripted SYNs without options).
pub fn syn_items(p: &PeerSyn) -> Vec<OptItem> {
    let mut v = Vec::new();
    if let Some(m) = p.mss {
        v.push(OptItem::Mss(m.value()));
    }
    if let Some(s) = p.wscale {
        v.push(OptItem::Wscale(s % 16));
    }
    if p.sack {
        v.push(OptItem::SackPermitted);
    }
    v
}

/// Lays out option items for flow `f` after the bytes already in `b` (TSopt, if
/// any): SACK edges resolved against what the engine has in flight, padded with
/// END to a multiple of 4, cut at 40 bytes. Behind TSopt a SACK option keeps only
/// the blocks that fit (as a sender's does); otherwise all, cut or not.
fn option_bytes(b: &mut Vec<u8>, items: &[OptItem], f: &Flow) {
    let behind_ts = !b.is_empty();
    for o in items {
        match o {
            OptItem::Mss(v) => b.extend_from_slice(&[2, 4, (v >> 8) as u8, *v as u8]),
            OptItem::Wscale(s) => b.extend_from_slice(&[3, 3, *s]),
            OptItem::SackPermitted => b.extend_from_slice(&[4, 2]),
            OptItem::Sack(blocks) => {
                let room = if behind_ts {
                    (40usize.saturating_sub(b.len() + 2) / 8).max(1)
                } else {
                    blocks.len()
                };
                let blocks = &blocks[..blocks.len().min(room)];
                b.extend_from_slice(&[5, 2 + 8 * blocks.len() as u8]);
                for blk in blocks {
                    let (l, r) = match *blk {
                        SackBlock::Span { from, to } => (f.part(from), f.part(to)),
                        SackBlock::Wild(l, r) => (Seq(l), Seq(r)),
                    };
                    b.extend_from_slice(&l.0.to_be_bytes());
                    b.extend_from_slice(&r.0.to_be_bytes());
                }
            }
            OptItem::Timestamps(v, e) => {
                b.extend_from_slice(&[8, 10]);
                b.extend_from_slice(&v.to_be_bytes());
                b.extend_from_slice(&e.to_be_bytes());
            }
            OptItem::Nop => b.push(1),
            OptItem::End => b.push(0),
            OptItem::Unknown { kind, len } => {
                // Kinds 9 and up: none the engine knows.
                b.extend_from_slice(&[9 + kind % 200, 2 + len]);
                b.extend(std::iter::repeat_n(0xaa, usize::from(*len)));
            }
            OptItem::BadLength { kind, len } => {
                b.extend_from_slice(&[*kind, *len]);
                b.extend(std::iter::repeat_n(
                    0x55,
                    usize::from(len.saturating_sub(2).min(4)),
                ));
            }
        }
    }
    b.truncate(40);
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
}

/// A data offset of `words` words: the option bytes are cut, or filled with bytes
/// a parser must make sense of (they follow the sequence number, like the
/// payload), so the header really is that long and the payload after it is still
/// the peer's stream. An offset below 5 words is left as it is (a header shorter
/// than its fixed part: the segment must be dropped). Returns the offset to write.
fn fit_offset(options: &mut Vec<u8>, words: u8, seq: Seq) -> u8 {
    let words = words & 0x0f;
    if let Some(room) = (usize::from(words) * 4).checked_sub(crate::wire::TCP_LEN) {
        options.truncate(room);
        while options.len() < room {
            options.push(seq.0.wrapping_add(options.len() as u32) as u8);
        }
    }
    words
}
