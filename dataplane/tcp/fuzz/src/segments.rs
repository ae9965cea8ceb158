//! The checks on each TCP segment the engine transmits that depend on its flow:
//! what was negotiated, the MSS, the peer's window, and the bytes themselves.

use crate::addrs::peer_index;
use crate::app::{stream_byte, AppConn};
use crate::check::Out;
use crate::peer::{Flow, Tuple, ACK, FIN, RST, SYN};
use crate::world::World;
use ix_tcp::seq::Seq;

impl World {
    /// Checks one segment the engine sent against what its flow allows, then lets
    /// the peer learn from it.
    pub(crate) fn on_segment(&mut self, out: &Out) {
        crate::trace_line!(
            "  out {} -> {}:{} seq {} ack {} flags {:#04x} win {} mss {:?} ws {:?} sack {:?} ts {:?} len {}",
            out.sport, out.dst, out.dport, out.seq, out.ack, out.flags, out.window, out.mss,
            out.wscale, out.sack, out.ts, out.payload.len()
        );
        self.seen.segs += 1;
        self.seen.rsts += u64::from(out.flags & RST != 0);
        self.seen.bytes += out.payload.len() as u64;
        let peer = peer_index(out.dst).expect("checked: to a peer");
        let tuple = Tuple {
            peer,
            remote_port: out.dport,
            local_port: out.sport,
        };
        let flow = self
            .flows
            .get(tuple)
            .unwrap_or_else(|| panic!("segment to {tuple:?}, a tuple nobody used: {out:?}"))
            .clone();
        let (syn, ack) = (out.flags & SYN != 0, out.flags & ACK != 0);
        let cfg = &self.cfg;
        if syn {
            assert!(
                ack || flow.app_connected,
                "SYN on {tuple:?}, never connected"
            );
            let our_mss = cfg.mss.min(self.iface.config().mtu as u16 - 40);
            assert_eq!(out.mss, Some(our_mss), "SYN's MSS option: {out:?}");
            let ws_ok = cfg.window_scaling && (!ack || flow.offered_ws);
            assert!(
                out.wscale.is_none() || ws_ok,
                "window scale not offered: {out:?}"
            );
            let sack_ok = cfg.sack && (!ack || flow.offered_sack);
            assert!(!out.sack_permitted || sack_ok, "SACK not offered: {out:?}");
        }
        if !out.sack.is_empty() {
            assert!(
                cfg.sack && flow.offered_sack,
                "SACK blocks, not negotiated: {out:?}"
            );
            let dsack = dsack_of(&out.sack, Seq(out.ack));
            if let Some((l, r)) = dsack {
                assert!(cfg.dsack, "D-SACK block {l}..{r}, not configured: {out:?}");
                assert!(
                    flow.sent.twice(l, r),
                    "D-SACK block {l}..{r}: bytes the peer did not send twice: {out:?}"
                );
            }
            // Every other block reports data held beyond the cumulative ACK.
            for &(l, r) in out.sack.iter().skip(usize::from(dsack.is_some())) {
                assert!(
                    l.gt(Seq(out.ack)) && r.gt(l),
                    "SACK block {l}..{r} not above ACK {}: {out:?}",
                    out.ack
                );
            }
        }
        if !out.payload.is_empty() || out.flags & FIN != 0 {
            self.check_stream(&flow, out);
        }
        if syn {
            // An active open's ISS: its first SYN on the tuple.
            if let Some(c) = flow.conn.map(|i| &mut self.app.conns[i]) {
                if c.active && c.iss.is_none() {
                    c.iss = Some(Seq(out.seq));
                }
            }
        }
        self.check_tsopt(tuple, out);
        self.flows.observe(out);
    }

    /// Data and FIN: within the MSS and the peer's window, and the bytes and FIN
    /// of one of the application's connections on this tuple that started at the
    /// flow's current ISS (frames deferred by a full transmit queue may reach the
    /// wire after their connection died and the tuple's next one was announced:
    /// either may have sent them).
    fn check_stream(&self, flow: &Flow, out: &Out) {
        let len = out.payload.len();
        let Some(iss) = flow.eng_iss else {
            panic!("data or FIN on {:?} before any SYN: {out:?}", flow.tuple);
        };
        let mut cap = flow
            .mss_cap
            .expect("the peer sent a SYN on a connected tuple");
        if self.cfg.syncookies {
            // A cookie rounds the peer's MSS down to its table, whose least entry
            // is 536, whatever the peer offered (as Linux's cookies do).
            cap = cap.max(536);
        }
        let limit = self
            .cfg
            .mss
            .min(cap)
            .min(self.iface.config().mtu as u16 - 40);
        assert!(
            len <= usize::from(limit),
            "{len}-byte segment, MSS {limit}: {out:?}"
        );
        if len > 0 {
            let end = Seq(out.seq).add(len as u32);
            let edge = flow.peer_edge.expect("data before the peer's first ACK");
            assert!(
                end.le(edge),
                "sent up to {end}, beyond the peer's window edge {edge}: {out:?}"
            );
        }
        let mut verdicts = self
            .app
            .conns
            .iter()
            .rev()
            .filter(|c| c.tuple == flow.tuple && c.iss == Some(iss))
            .map(|c| stream_of(c, iss, out));
        let first = verdicts.next().unwrap_or_else(|| {
            panic!(
                "data or FIN on {:?}, no connection from ISS {iss}: {out:?}",
                flow.tuple
            )
        });
        if let Err(e) = first {
            assert!(verdicts.any(|v| v.is_ok()), "{e}");
        }
    }
}

/// The first of `blocks` if it is a D-SACK block (RFC 2883 4: one at or below the
/// cumulative acknowledgment `ack`, or inside the second block), not empty.
fn dsack_of(blocks: &[(Seq, Seq)], ack: Seq) -> Option<(Seq, Seq)> {
    let &(l, r) = blocks.first()?;
    let inside_next = blocks.get(1).is_some_and(|&(l2, r2)| l2.le(l) && r.le(r2));
    (l.lt(r) && (r.le(ack) || inside_next)).then_some((l, r))
}

/// Whether `out`'s bytes and FIN are connection `c`'s (started at `iss`): its
/// stream's bytes at their offsets, never past what it queued, FIN only after it
/// closed and exactly at the end.
fn stream_of(c: &AppConn, iss: Seq, out: &Out) -> Result<(), String> {
    let len = out.payload.len() as u64;
    let off = u64::from(Seq(out.seq).since(iss.add(1)));
    if off + len > c.queued {
        return Err(format!(
            "{}: bytes {off}..{} sent of {} queued",
            c.id,
            off + len,
            c.queued
        ));
    }
    for (k, &b) in out.payload.iter().enumerate() {
        let want = stream_byte(off + k as u64);
        if b != want {
            return Err(format!(
                "{}: sent byte {} (seq {}) is {b}, not {want}",
                c.id,
                off + k as u64,
                out.seq
            ));
        }
    }
    if out.flags & FIN != 0 {
        if !c.closed {
            return Err(format!("{}: FIN before the application closed", c.id));
        }
        if off + len != c.queued {
            return Err(format!(
                "{}: FIN at {}, not at the end ({})",
                c.id,
                off + len,
                c.queued
            ));
        }
    }
    Ok(())
}
