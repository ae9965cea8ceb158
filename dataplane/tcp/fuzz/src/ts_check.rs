//! RFC 7323 on every segment the engine sends: TSopt only if configured; on a
//! bare SYN exactly when configured, its TSecr 0; on a SYN-ACK only if the peer
//! offered it, and missing (while every SYN offered it) only from a SYN cookie;
//! on every other non-RST segment of an incarnation exactly when it negotiated
//! them; each TSecr on an ACK a TSval the peer sent (4.3); TSvals on a tuple
//! never going back, nor on faster than the engine's clock (one millisecond clock
//! and one offset per 4-tuple).

use crate::check::Out;
use crate::peer::{Tuple, ACK, RST, SYN};
use crate::world::World;
use ix_nic::Clock;
use ix_tcp::Counter;

impl World {
    /// Checks `out`'s TSopt against what its flow on `tuple` allows, and learns
    /// from it (the engine's latest TSval, whether the incarnation uses TSopt).
    pub(crate) fn check_tsopt(&mut self, tuple: Tuple, out: &Out) {
        let configured = self.cfg.timestamps;
        let syncookies = self.cfg.syncookies;
        let cookies_sent = self.tcp.stats().get(Counter::SynCookiesSent);
        let now_ms = self.clock.now().as_nanos() / 1_000_000;
        let ts = &mut self.flows.get_mut(tuple).ts;
        let (syn, ack, rst) = (
            out.flags & SYN != 0,
            out.flags & ACK != 0,
            out.flags & RST != 0,
        );
        if let Some((val, ecr)) = out.ts {
            assert!(configured, "TSopt, timestamps not configured: {out:?}");
            if let Some(last) = ts.eng_last {
                // Both read one clock, the later no earlier: the later is ahead by
                // at most the time since the clock started (frames may leave late,
                // so no tighter bound holds), as long as that is below 2^32 ms.
                let ahead = u64::from(val.wrapping_sub(last));
                assert!(
                    now_ms >= 1 << 32 || ahead <= now_ms,
                    "TSval {val} after {last} on {tuple:?}: {ahead} ms on, at {now_ms} ms: {out:?}"
                );
            }
            ts.eng_last = Some(val);
            if ack {
                assert!(
                    ts.sent.contains(&ecr),
                    "TSecr {ecr} is no TSval the peer sent on {tuple:?}: {out:?}"
                );
            } else {
                assert_eq!(ecr, 0, "TSecr without ACK: {out:?}");
            }
        }
        if rst {
            return; // RFC 7323 3.2 leaves TSopt on a RST to the sender
        }
        let has = out.ts.is_some();
        match (syn, ack) {
            (true, false) => {
                assert_eq!(has, configured, "a SYN's TSopt: {out:?}");
                ts.eng_uses = None;
            }
            (true, true) => {
                assert!(
                    !has || ts.offered_any(),
                    "SYN-ACK with TSopt, not offered: {out:?}"
                );
                if !has && configured && ts.offered_all() {
                    // Only a cookie answers a TSopt offer without one.
                    let bare = out.wscale.is_none() && !out.sack_permitted;
                    assert!(
                        syncookies && bare,
                        "SYN-ACK without TSopt, though offered: {out:?}"
                    );
                    self.seen.cookie_like += 1;
                    assert!(
                        self.seen.cookie_like <= cookies_sent,
                        "{} SYN-ACKs without TSopt, though offered; {cookies_sent} cookies sent: {out:?}",
                        self.seen.cookie_like
                    );
                }
                ts.eng_uses = Some(has);
            }
            _ => match ts.eng_uses {
                Some(uses) => assert_eq!(
                    has, uses,
                    "TSopt on {tuple:?} (negotiated: {uses}): {out:?}"
                ),
                None => {
                    // An active open's first segment after its SYN: the SYN-ACK it
                    // took decided, one of the peer's.
                    assert!(!has || ts.offered_any(), "TSopt, not offered: {out:?}");
                    assert!(
                        has || !(configured && ts.offered_all()),
                        "no TSopt, though both offered: {out:?}"
                    );
                    ts.eng_uses = Some(has);
                }
            },
        }
    }
}
