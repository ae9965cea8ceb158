//! TIME_WAIT: a connection whose both FINs are done hands its 4-tuple to a compact
//! entry in the TIME_WAIT table (its slot is freed once the application heard), and
//! segments for that 4-tuple are answered from the entry.

use super::{TcpEngine, TW_TAG};
use crate::api::CloseReason;
use crate::conn::output::send_control;
use crate::flow_table::FlowKey;
use crate::header::{Flags, Header};
use crate::options::TcpOptions;
use crate::stats::Counter;
use crate::timestamps::clock_ms;
use ix_net::TxContext;
use ix_nic::{BufPool, RxSeg};

impl<P: BufPool> TcpEngine<P> {
    /// Both sides closed: a TIME_WAIT entry takes over the 4-tuple, the final ACK goes
    /// out if one is owed, and the application is told the connection closed.
    ///
    /// The ACK is owed when the peer's FIN is what ended it (from FIN_WAIT_1 or 2),
    /// or when it is still unsent; from CLOSING the peer's FIN was acknowledged
    /// already, and the segment that ends it, the ACK of our FIN, needs no answer.
    pub(super) fn enter_time_wait(&mut self, ctx: &mut TxContext<'_, P>, slot: u32) {
        let t = &mut self.conns[slot as usize];
        let key = t.key;
        let window = t.advertise(&self.core.cfg, false);
        let (snd, rcv) = (t.snd_nxt, t.rcv_nxt);
        let ts = t.ts.ok.then_some((t.ts.offset, t.ts.recent));
        if t.ack_now {
            let options = tw_options(ts, self.core.now);
            send_control(
                ctx,
                &mut self.core,
                key,
                snd,
                rcv,
                Flags::ACK,
                window,
                options,
            );
        }
        let expires = self.core.now + self.core.cfg.time_wait();
        let (idx, recycled) = self.tw.push(key, snd, rcv, window, ts, expires);
        if let Some(old) = recycled {
            self.flows.remove(old);
            self.core.count(Counter::TimeWaitRecycled);
        }
        self.core.count(Counter::TimeWaitEntered);
        // Replaces the slot's entry (the table has room: same key).
        let _ = self.flows.insert(key, idx | TW_TAG);
        let t = &mut self.conns[slot as usize];
        t.listen_port = None;
        t.bury(&mut self.core, CloseReason::Closed);
        self.core.ready.push(slot);
    }

    /// A segment for a 4-tuple in TIME_WAIT (RFC 9293 3.10.7.4 for TIME-WAIT, RFC
    /// 1337: RSTs ignored; RFC 6191-style reuse by a SYN beyond the old sequence).
    pub(super) fn time_wait_input(
        &mut self,
        ctx: &mut TxContext<'_, P>,
        key: FlowKey,
        idx: u32,
        hdr: &Header,
        payload: RxSeg<P::Rx>,
    ) {
        let Some(e) = self.tw.get(idx).copied() else {
            self.flows.remove(key);
            return self.listen_input(ctx, key, hdr, payload, None);
        };
        let f = hdr.flags;
        if f.has(Flags::RST) {
            self.core.count(Counter::RstIgnored);
            return;
        }
        if f.has(Flags::SYN) && !f.has(Flags::ACK) && hdr.seq.gt(e.rcv_nxt) {
            self.tw.kill(idx);
            self.flows.remove(key);
            self.core.count(Counter::TimeWaitReused);
            // The new incarnation's ISN lies beyond anything the old one sent.
            let floor = e.snd_nxt.add(u32::from(u16::MAX) + 2);
            return self.listen_input(ctx, key, hdr, payload, Some(floor));
        }
        if !payload.is_empty() || f.has(Flags::FIN) || f.has(Flags::SYN) {
            let options = tw_options(e.ts, self.core.now);
            let (seq, ack) = (e.snd_nxt, e.rcv_nxt);
            send_control(
                ctx,
                &mut self.core,
                key,
                seq,
                ack,
                Flags::ACK,
                e.window,
                options,
            );
        }
        // The peer's FIN again (our ACK was lost): acknowledged above, and 2*MSL
        // starts over (RFC 9293 3.10.7.4), so a third copy still finds us here.
        let fin_end = hdr.seq.add(payload.len() as u32 + 1);
        if f.has(Flags::FIN) && !f.has(Flags::SYN) && fin_end == e.rcv_nxt {
            let expires = self.core.now + self.core.cfg.time_wait();
            if let Some((new_idx, recycled)) = self.tw.restart(idx, expires) {
                if let Some(old) = recycled {
                    self.flows.remove(old);
                    self.core.count(Counter::TimeWaitRecycled);
                }
                if new_idx != idx {
                    // Replaces the entry of this key: the table has room.
                    let _ = self.flows.insert(key, new_idx | TW_TAG);
                }
            }
        }
    }
}

/// The options of an ACK sent for a connection in TIME_WAIT at `now`: TSopt if it
/// negotiated timestamps (`ts`: our offset and TS.Recent), else none.
fn tw_options(ts: Option<(u32, u32)>, now: ix_nic::Instant) -> TcpOptions {
    TcpOptions {
        timestamps: ts.map(|(offset, recent)| (clock_ms(now).wrapping_add(offset), recent)),
        ..TcpOptions::default()
    }
}
