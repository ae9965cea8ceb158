//! A connection's windows and sequence space: what the peer's SYN options set (MSS,
//! window scaling, SACK, timestamps), what is outstanding and in the pipe, where
//! our FIN is, and the receive window we advertise (with receiver SWS avoidance).

use crate::cc::NewReno;
use crate::config::TcpConfig;
use crate::conn::tcb::Tcb;
use crate::options::{TcpOptions, MAX_WSCALE};
use crate::seq::Seq;
use ix_nic::{BufPool, Instant};

/// Bytes TSopt takes in every segment once negotiated (10, padded to 12).
const TSOPT_LEN: u16 = 12;

/// What our side offers (active open) or accepts (passive open) of the peer's
/// SYN options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Offer {
    /// Window scaling (RFC 7323 2).
    pub wscale: bool,
    /// SACK (RFC 2018).
    pub sack: bool,
    /// Timestamps (RFC 7323 3).
    pub timestamps: bool,
}

impl Offer {
    /// What `cfg` offers.
    pub fn of(cfg: &TcpConfig) -> Offer {
        Offer {
            wscale: cfg.window_scaling,
            sack: cfg.sack,
            timestamps: cfg.timestamps,
        }
    }

    /// Nothing (SYN cookies: the cookie remembers only the MSS).
    pub const NONE: Offer = Offer {
        wscale: false,
        sack: false,
        timestamps: false,
    };
}

impl<P: BufPool> Tcb<P> {
    /// Applies the options of the peer's SYN (received at `now`): MSS, window
    /// scaling, SACK, timestamps, each only if our side offers it (`offer`).
    pub(crate) fn negotiate(
        &mut self,
        cfg: &TcpConfig,
        opts: &TcpOptions,
        mtu: usize,
        offer: Offer,
        now: Instant,
    ) {
        let Offer {
            wscale: offer_ws,
            sack: offer_sack,
            timestamps: offer_ts,
        } = offer;
        let path_mss = mtu.saturating_sub(40).clamp(64, usize::from(u16::MAX)) as u16;
        // RFC 9293 3.7.1: without the option, assume 536.
        let peer = opts.mss.unwrap_or(536).max(64);
        self.ts.negotiate(offer_ts, opts.timestamps, now);
        // The MSS counts no TCP options (RFC 6691): TSopt's 12 bytes come off every
        // segment's payload, as Linux does.
        let ts_len = if self.ts.ok { TSOPT_LEN } else { 0 };
        self.mss = cfg
            .mss
            .min(peer)
            .min(path_mss)
            .saturating_sub(ts_len)
            .max(64);
        match (offer_ws, opts.wscale) {
            (true, Some(s)) => {
                self.snd_wscale = s;
                self.rcv_wscale = wscale_for(cfg.recv_buf);
                self.ws_agreed = true;
            }
            _ => {
                self.snd_wscale = 0;
                self.rcv_wscale = 0;
                self.ws_agreed = false;
            }
        }
        self.sack_ok = offer_sack && opts.sack_permitted;
        self.cc = NewReno::new(self.mss, cfg.initial_window);
    }

    /// Bytes sent and not acknowledged, whatever their fate.
    pub fn outstanding(&self) -> u32 {
        self.snd_max.since(self.snd_una)
    }

    /// RFC 6675's pipe, the bytes in the network: sent and not acknowledged, less
    /// what the peer SACKed and what is deemed lost, plus retransmissions in flight.
    pub fn pipe(&self) -> u32 {
        self.rtxq.pipe()
    }

    /// The sequence number of our FIN (valid once the application closed).
    pub fn fin_seq(&self) -> Seq {
        self.sendq.end_seq()
    }

    /// Whether our FIN was sent and acknowledged.
    pub fn fin_acked(&self) -> bool {
        self.app_closed && self.snd_una.gt(self.fin_seq())
    }

    /// The receive window we can offer now: buffer minus what the application holds,
    /// at most what the window field can say (65535 without window scaling). Past
    /// that, `rcv_adv` would run ahead of the edge the peer was told, and every
    /// release of credit would look like a window update worth sending.
    pub fn free_window(&self, cfg: &TcpConfig) -> u32 {
        let most = u32::from(u16::MAX) << self.rcv_wscale;
        cfg.recv_buf.saturating_sub(self.unreleased).min(most)
    }

    /// The window field to send, moving `rcv_adv` forward as far as it advertises.
    /// Receiver SWS avoidance (RFC 9293 3.8.6.2.2): the right edge moves only by at
    /// least min(buffer/2, MSS), and never back.
    pub fn advertise(&mut self, cfg: &TcpConfig, syn: bool) -> u16 {
        let free = self.free_window(cfg);
        let want = self.rcv_nxt.add(free);
        let step = (cfg.recv_buf / 2).min(u32::from(self.mss));
        if want.gt(self.rcv_adv)
            && (want.since(self.rcv_adv) >= step || self.rcv_adv.le(self.rcv_nxt))
        {
            self.rcv_adv = want;
        }
        if self.rcv_adv.lt(self.rcv_nxt) {
            self.rcv_adv = self.rcv_nxt;
        }
        let wnd = self.rcv_adv.since(self.rcv_nxt);
        if syn {
            // Never scaled in a SYN (RFC 7323 2.2).
            let w = wnd.min(u32::from(u16::MAX));
            self.rcv_adv = self.rcv_nxt.add(w);
            return w as u16;
        }
        // RFC 7323 2.4: SEG.WND = RCV.WND >> Rcv.Wind.Shift, rounded down. The edge
        // the peer computes may then lie up to 2^shift - 1 bytes left of rcv_adv (a
        // retraction RFC 7323 2.4 and appendix F allow). Rounding up instead would
        // promise bytes past the buffer, and more with every segment of a length
        // not a multiple of 2^shift: the window would never close.
        let shift = u32::from(self.rcv_wscale);
        (wnd >> shift).min(u32::from(u16::MAX)) as u16
    }

    /// Whether a window update is worth an ACK of its own: the edge can move by
    /// min(buffer/2, 2*MSS), or the advertised window was below one MSS.
    pub fn window_update_due(&self, cfg: &TcpConfig) -> bool {
        let want = self.rcv_nxt.add(self.free_window(cfg));
        if !want.gt(self.rcv_adv) {
            return false;
        }
        let grow = want.since(self.rcv_adv);
        let open = self.rcv_adv.since(self.rcv_nxt);
        grow >= (cfg.recv_buf / 2).min(2 * u32::from(self.mss))
            || (open < u32::from(self.mss) && grow >= u32::from(self.mss).min(cfg.recv_buf / 2))
    }
}

/// The window shift that lets a 16-bit field describe `buf` bytes.
pub(crate) fn wscale_for(buf: u32) -> u8 {
    let mut s = 0u8;
    while s < MAX_WSCALE && (buf >> s) > u32::from(u16::MAX) {
        s += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_shift_covers_the_buffer() {
        assert_eq!(wscale_for(65535), 0);
        assert_eq!(wscale_for(65536), 1);
        assert_eq!(wscale_for(256 * 1024), 3);
        assert_eq!(wscale_for(1 << 30), 14);
    }
}
