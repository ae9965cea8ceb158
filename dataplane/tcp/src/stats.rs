//! Counters: everything the engine dropped or refused, by reason, and the events
//! worth watching (retransmissions, timeouts, recoveries).
//!
//! An enum-indexed array of plain `u64`s: bumping one is an add at a constant offset
//! (the engine is per core: no atomics). Read by name through [`TcpStats::iter`].

use core::fmt;

macro_rules! counters {
    ($($(#[doc = $doc:literal])* $variant:ident => $label:literal,)*) => {
        /// One TCP engine counter.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum Counter {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Counter {
            /// Every counter, in declaration order.
            pub const ALL: &'static [Counter] = &[$(Counter::$variant,)*];
            /// How many counters there are.
            pub const COUNT: usize = Self::ALL.len();

            /// The counter's name (snake_case, stable: the control plane shows it).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Counter::$variant => concat!("tcp_", $label),)*
                }
            }
        }
    };
}

counters! {
    /// Segments received (handed to the engine by IPv4).
    SegsIn => "segs_in",
    /// Segments sent (data, control and pure ACKs, retransmissions included).
    SegsOut => "segs_out",
    /// Payload bytes received in order.
    BytesIn => "bytes_in",
    /// Payload bytes sent (retransmissions included).
    BytesOut => "bytes_out",
    /// Dropped: bad checksum.
    BadChecksum => "drop_bad_checksum",
    /// Dropped: header or options malformed.
    Malformed => "drop_malformed",
    /// Dropped: a source or destination port 0.
    BadPort => "drop_bad_port",
    /// No connection or listener: answered with RST.
    NoListenerRst => "no_listener_rst",
    /// No connection or listener, segment was a RST: dropped silently.
    NoListenerDrop => "no_listener_drop",
    /// RSTs sent (all causes).
    RstsOut => "rsts_out",
    /// RSTs received that ended a connection.
    RstsIn => "rsts_in",
    /// RSTs ignored: out of window, or in TIME_WAIT (RFC 1337).
    RstIgnored => "rst_ignored",
    /// Challenge ACKs sent (RFC 5961).
    ChallengeAcks => "challenge_acks",
    /// Segments outside the receive window (answered with an ACK unless RST).
    OutOfWindow => "drop_out_of_window",
    /// ACKs for data never sent (answered with an ACK).
    AckTooNew => "drop_ack_too_new",
    /// ACKs below SND.UNA - MAX.SND.WND (RFC 5961 5.2), dropped.
    AckTooOld => "drop_ack_too_old",
    /// Segments without ACK in synchronized states, dropped.
    NoAckFlag => "drop_no_ack_flag",
    /// Duplicate segments (every byte already received).
    DupSegs => "dup_segs",
    /// SYNs received on listeners.
    SynsIn => "syns_in",
    /// SYN queue full: answered with a SYN cookie.
    SynCookiesSent => "syncookies_sent",
    /// Connections made from a valid SYN cookie.
    SynCookiesOk => "syncookies_ok",
    /// ACKs to a listener that were not a valid cookie: answered with RST.
    SynCookiesBad => "syncookies_bad",
    /// SYN queue full (and no cookies): SYN dropped.
    SynQueueFull => "drop_syn_queue_full",
    /// Accept backlog full: the handshake's final ACK dropped.
    AcceptBacklogFull => "drop_accept_backlog_full",
    /// Connection table full: SYN dropped (or answered with a cookie).
    ConnTableFull => "conn_table_full",
    /// Connections opened actively that completed.
    ActiveOpens => "active_opens",
    /// Connections opened passively that completed.
    PassiveOpens => "passive_opens",
    /// Connections refused by the peer (RST to our SYN).
    ConnRefused => "conn_refused",
    /// Connections rejected by the application.
    Rejected => "rejected",
    /// Connections aborted by the application.
    Aborted => "aborted",
    /// Segments retransmitted (all causes).
    Retransmits => "retransmits",
    /// Fast retransmits (entering recovery).
    FastRetransmits => "fast_retransmits",
    /// Recoveries run with SACK (RFC 6675).
    SackRecoveries => "sack_recoveries",
    /// Recoveries run as NewReno (RFC 6582).
    NewRenoRecoveries => "newreno_recoveries",
    /// Retransmission timeouts.
    RtoFired => "rto_fired",
    /// Segments deemed lost by RACK (RFC 8985: a later segment was delivered and the
    /// reordering window passed).
    RackLost => "rack_lost",
    /// Of those, retransmissions deemed lost (resent again without waiting for the
    /// retransmission timer).
    LostRetransmits => "lost_retransmits",
    /// RACK reordering timer expiries (a loss decided once the window passed).
    RackTimeouts => "rack_timeouts",
    /// Tail loss probes sent (RFC 8985 7).
    TlpProbes => "tlp_probes",
    /// Probes sent during loss recovery after a PTO without ACKs (to find a lost
    /// retransmission without waiting for the retransmission timer).
    RecoveryProbes => "recovery_probes",
    /// Losses a tail loss probe repaired (the window is reduced for them).
    TlpRepaired => "tlp_repaired",
    /// D-SACK blocks received (RFC 2883): a segment reached the peer twice, usually
    /// a retransmission that was not needed.
    DsacksIn => "dsacks_in",
    /// Fast recoveries found unneeded (every retransmission came back as a D-SACK)
    /// and their window reduction undone (RFC 3708).
    RecoveriesUndone => "recoveries_undone",
    /// D-SACK blocks sent: a segment arrived that was held already.
    DsacksOut => "dsacks_out",
    /// The peer dropped data it had SACKed (RFC 2018 8): the SACK marks are forgotten.
    SackReneging => "sack_reneging",
    /// New data held back because every record of segments in flight was in use
    /// (`TcpConfig::inflight_segments`).
    RtxQueueFull => "rtx_queue_full",
    /// Duplicate ACKs received.
    DupAcks => "dupacks",
    /// Connections ended by retransmission give-up (R2).
    RetransmitTimeouts => "timeout_retransmit",
    /// Active opens ended by SYN retries.
    SynTimeouts => "timeout_syn",
    /// Half-open connections ended by SYN-ACK retries.
    SynAckTimeouts => "timeout_synack",
    /// Connections ended by the user timeout.
    UserTimeouts => "timeout_user",
    /// Connections ended by unanswered keepalives.
    KeepaliveTimeouts => "timeout_keepalive",
    /// Keepalive probes sent.
    KeepaliveProbes => "keepalive_probes",
    /// Connections ended by the FIN_WAIT_2 bound.
    FinWait2Timeouts => "timeout_fin_wait2",
    /// Zero-window probes sent.
    WindowProbes => "window_probes",
    /// Window updates sent because the application released data.
    WindowUpdates => "window_updates",
    /// ACKs delayed and sent by the delayed-ACK timer.
    DelayedAcks => "delayed_acks",
    /// Out-of-order segments kept.
    OooQueued => "ooo_queued",
    /// Out-of-order segments dropped: per-connection bound.
    OooDropConn => "drop_ooo_conn_limit",
    /// Out-of-order segments dropped: engine-wide byte bound.
    OooDropEngine => "drop_ooo_engine_limit",
    /// In-order segments dropped: too many waiting for the application.
    RecvQueueFull => "drop_recv_queue_full",
    /// Segments received with data the window had no room for (trimmed or dropped).
    WindowOverrun => "window_overrun",
    /// Data received at or after the peer's FIN (trimmed or dropped, out-of-order
    /// data held there included): the stream ends at the FIN.
    DataPastFin => "drop_data_past_fin",
    /// Data received after the application closed its side for reading (reset).
    DataAfterClose => "data_after_close",
    /// Entries put in TIME_WAIT.
    TimeWaitEntered => "time_wait_entered",
    /// TIME_WAIT entries recycled early because the table was full.
    TimeWaitRecycled => "time_wait_recycled",
    /// TIME_WAIT 4-tuples reused by a new SYN.
    TimeWaitReused => "time_wait_reused",
    /// Segments that could not be sent: no frame buffer or no room (retried later).
    TxFailed => "tx_failed",
    /// Segments deferred because the transmit queue was full.
    TxDeferred => "tx_deferred",
    /// Timer wheel refused a timer (full): the connection polls instead.
    TimerFull => "timer_full",
    /// Old duplicates dropped by PAWS (RFC 7323 5: TSval older than TS.Recent),
    /// each answered with an ACK.
    PawsDropped => "drop_paws",
    /// Non-RST segments without TSopt on a connection that negotiated timestamps:
    /// accepted (as Linux does; RFC 7323 3.2 says SHOULD drop).
    TsMissing => "ts_missing",
    /// RTT samples taken from a timestamp echo (RFC 7323 4).
    TsRttSamples => "ts_rtt_samples",
    /// Segments for a connection not yet accepted, beyond its window: dropped.
    NotAcceptedDrop => "drop_not_accepted",
}

/// The engine's counters.
#[derive(Clone, PartialEq, Eq)]
pub struct TcpStats {
    counts: [u64; Counter::COUNT],
}

impl Default for TcpStats {
    /// Every counter at zero.
    fn default() -> Self {
        TcpStats {
            counts: [0; Counter::COUNT],
        }
    }
}

impl TcpStats {
    /// All zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one to `c`.
    #[inline]
    pub fn count(&mut self, c: Counter) {
        self.counts[c as usize] += 1;
    }

    /// Adds `n` to `c`.
    #[inline]
    pub fn add(&mut self, c: Counter, n: u64) {
        self.counts[c as usize] += n;
    }

    /// The value of `c`.
    pub fn get(&self, c: Counter) -> u64 {
        self.counts[c as usize]
    }

    /// Every counter with its value, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (Counter, u64)> + '_ {
        Counter::ALL.iter().map(|&c| (c, self.get(c)))
    }
}

impl fmt::Debug for TcpStats {
    /// A map of the non-zero counters by name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (c, v) in self.iter().filter(|&(_, v)| v != 0) {
            m.entry(&c.name(), &v);
        }
        m.finish()
    }
}

impl fmt::Display for TcpStats {
    /// One `name value` line per non-zero counter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (c, v) in self.iter().filter(|&(_, v)| v != 0) {
            writeln!(f, "{} {v}", c.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_name() {
        let mut s = TcpStats::new();
        s.count(Counter::BadChecksum);
        s.add(Counter::Retransmits, 3);
        assert_eq!(s.get(Counter::BadChecksum), 1);
        assert_eq!(s.get(Counter::Retransmits), 3);
        assert_eq!(
            s.to_string(),
            "tcp_drop_bad_checksum 1\ntcp_retransmits 3\n"
        );
        let names: std::collections::HashSet<_> = Counter::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), Counter::COUNT, "names are unique");
    }
}
