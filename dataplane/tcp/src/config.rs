//! Engine configuration: every table size, buffer bound and timer, decided once.
//!
//! All tables are sized from here when the [`crate::TcpEngine`] is made; nothing grows
//! afterwards past these bounds.

use std::time::Duration;

/// Keepalive probing (RFC 9293 3.8.4; off by default as the RFC requires).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepaliveConfig {
    /// Idle time before the first probe.
    pub idle: Duration,
    /// Time between unanswered probes.
    pub interval: Duration,
    /// Unanswered probes before the connection is declared dead.
    pub probes: u32,
}

/// The per-core TCP engine's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    /// Connections (any state but TIME_WAIT) that can exist at once.
    pub max_conns: usize,
    /// Ports that can listen at once.
    pub max_listeners: usize,
    /// Per listener: connections in SYN_RECEIVED (the SYN queue). Past this, SYN
    /// cookies answer (if [`TcpConfig::syncookies`]) or the SYN is dropped.
    pub syn_backlog: usize,
    /// Per listener: established connections not yet accepted by the application.
    /// Past this, the handshake's final ACK is dropped (the peer retries).
    pub accept_backlog: usize,
    /// Whether to answer SYNs statelessly with SYN cookies when the SYN queue (or the
    /// connection table) is full.
    pub syncookies: bool,
    /// TIME_WAIT entries kept at once; when full, the oldest is recycled early.
    pub time_wait_max: usize,
    /// Maximum segment lifetime; TIME_WAIT lasts twice this.
    pub msl: Duration,
    /// Our MSS, advertised and used as the upper bound of what we send (clamped to
    /// the interface MTU - 40).
    pub mss: u16,
    /// Per-connection send buffer: bytes queued and not yet acknowledged.
    pub send_buf: u32,
    /// Per-connection limit on separate application buffers queued to send.
    pub send_pieces: usize,
    /// Per-connection receive buffer: the window advertised is this minus what the
    /// application holds and has not released. At most 2^30.
    pub recv_buf: u32,
    /// Per-connection limit on in-order segments waiting for the application.
    pub recv_segments: usize,
    /// Per-connection limit on out-of-order segments kept.
    pub ooo_segments: usize,
    /// Per-connection limit on segments sent and not yet acknowledged (each has a
    /// record for loss detection); new data waits while it is reached.
    pub inflight_segments: usize,
    /// Engine-wide limit on out-of-order payload bytes kept (all connections).
    pub ooo_bytes_total: usize,
    /// Initial congestion window in segments (RFC 6928: 10).
    pub initial_window: u32,
    /// Lower bound of the retransmission timeout (Linux: 200 ms).
    pub rto_min: Duration,
    /// Upper bound of the retransmission timeout (backoff included).
    pub rto_max: Duration,
    /// Retransmission timeout before any RTT sample (RFC 6298: 1 s).
    pub rto_initial: Duration,
    /// Retransmissions of a SYN before an active open fails.
    pub syn_retries: u32,
    /// Retransmissions of a SYN-ACK before a half-open connection is dropped.
    pub synack_retries: u32,
    /// Retransmissions of one segment before the connection is declared dead (R2).
    pub max_retransmits: u32,
    /// If set, a connection whose sent data stays unacknowledged this long dies
    /// (RFC 5482-style user timeout), whatever the retransmission count.
    pub user_timeout: Option<Duration>,
    /// Longest wait for an ACK owed to received data (delayed ACK bound).
    pub delack_timeout: Duration,
    /// Full-sized segments received before an ACK is sent at once (RFC 5681: 2).
    pub delack_segments: u32,
    /// Keepalive probing, if any.
    pub keepalive: Option<KeepaliveConfig>,
    /// Longest stay in FIN_WAIT_2 (after our FIN was acknowledged) before giving up.
    pub fin_wait2_timeout: Duration,
    /// Whether to offer and use SACK (RFC 2018; loss detection by RACK, RFC 8985,
    /// and recovery per RFC 6675).
    pub sack: bool,
    /// Whether to send tail loss probes (RFC 8985 7) on SACK connections.
    pub tlp: bool,
    /// Whether to report duplicate segments with a D-SACK block (RFC 2883) on SACK
    /// connections, as Linux does; a peer's D-SACKs are used either way (undo of a
    /// recovery reordering caused, RACK's reordering window). Off by default: RFC
    /// 2883 makes it optional, and checkers of our segments (the fuzz harness in
    /// `dataplane/tcp/fuzz`) take every SACK block to lie above the ACK.
    pub dsack: bool,
    /// Whether to offer window scaling (RFC 7323).
    pub window_scaling: bool,
    /// Whether to offer RFC 7323 timestamps in our SYNs and accept them in the
    /// peer's: then every non-RST segment carries TSopt (12 bytes off each
    /// segment's payload), old duplicates are dropped by PAWS, and every ACK that
    /// advances SND.UNA gives an RTT sample (see [`crate::timestamps`]). SYN-cookie
    /// SYN-ACKs never offer them. Off by default: on a request/response path they
    /// cost instructions and bytes for what Karn's sampling and RACK already give.
    pub timestamps: bool,
    /// Granularity of the timer wheel.
    pub timer_tick: Duration,
    /// Local ports for active opens without an explicit port.
    pub ephemeral_ports: (u16, u16),
    /// Key of the ISN and SYN cookie hashes; `None` draws a random one (the normal
    /// case; tests fix it for reproducibility).
    pub secret: Option<[u8; 16]>,
    /// For tests only: every connection's initial send sequence number (predictable,
    /// hence insecure). `None` uses RFC 6528 ISNs.
    pub fixed_isn: Option<u32>,
}

impl Default for TcpConfig {
    /// Linux-like timers, 1024 connections, 256 KiB buffers, SACK and window scaling
    /// on, keepalive off, a 500 µs delayed-ACK bound.
    fn default() -> Self {
        TcpConfig {
            max_conns: 1024,
            max_listeners: 16,
            syn_backlog: 256,
            accept_backlog: 256,
            syncookies: true,
            time_wait_max: 1024,
            msl: Duration::from_secs(30),
            mss: 1460,
            send_buf: 256 * 1024,
            send_pieces: 1024,
            recv_buf: 256 * 1024,
            recv_segments: 1024,
            ooo_segments: 256,
            inflight_segments: 1024,
            ooo_bytes_total: 64 << 20,
            initial_window: 10,
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(60),
            rto_initial: Duration::from_secs(1),
            syn_retries: 6,
            synack_retries: 5,
            max_retransmits: 15,
            user_timeout: None,
            delack_timeout: Duration::from_micros(500),
            delack_segments: 2,
            keepalive: None,
            fin_wait2_timeout: Duration::from_secs(60),
            sack: true,
            tlp: true,
            dsack: false,
            window_scaling: true,
            timestamps: false,
            timer_tick: Duration::from_micros(100),
            ephemeral_ports: (49152, 65535),
            secret: None,
            fixed_isn: None,
        }
    }
}

/// A configuration that cannot work, by field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A size that must be at least 1 is 0 (the field is named).
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// A size past what the engine can index (the field is named).
    #[error("{0} is too large")]
    TooLarge(&'static str),
    /// `mss` must be at least 64.
    #[error("mss must be at least 64")]
    Mss,
    /// `recv_buf` must be between 1 MSS and 2^30.
    #[error("recv_buf must be between one mss and 2^30")]
    RecvBuf,
    /// The timers are inconsistent (zero, or `rto_min > rto_max`, ...).
    #[error("inconsistent timers: {0}")]
    Timers(&'static str),
    /// The ephemeral port range is empty or includes 0.
    #[error("bad ephemeral port range")]
    Ports,
}

impl TcpConfig {
    /// Checks the configuration describes a usable engine.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let nonzero = [
            ("max_conns", self.max_conns),
            ("max_listeners", self.max_listeners),
            ("syn_backlog", self.syn_backlog),
            ("accept_backlog", self.accept_backlog),
            ("time_wait_max", self.time_wait_max),
            ("send_pieces", self.send_pieces),
            ("recv_segments", self.recv_segments),
            ("inflight_segments", self.inflight_segments),
            ("initial_window", self.initial_window as usize),
            ("delack_segments", self.delack_segments as usize),
            ("send_buf", self.send_buf as usize),
        ];
        for (name, v) in nonzero {
            if v == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        // Slots and TIME_WAIT indices share a u32 space with a tag bit.
        if self.max_conns >= 1 << 30 || self.time_wait_max >= 1 << 30 {
            return Err(ConfigError::TooLarge("max_conns/time_wait_max"));
        }
        if self.mss < 64 {
            return Err(ConfigError::Mss);
        }
        if self.recv_buf < u32::from(self.mss) || self.recv_buf > 1 << 30 {
            return Err(ConfigError::RecvBuf);
        }
        if self.rto_min.is_zero() || self.rto_min > self.rto_max {
            return Err(ConfigError::Timers(
                "rto_min must be in 0 < rto_min <= rto_max",
            ));
        }
        if self.rto_initial < self.rto_min || self.rto_initial > self.rto_max {
            return Err(ConfigError::Timers(
                "rto_initial must be within rto_min..=rto_max",
            ));
        }
        if self.timer_tick.is_zero() || self.delack_timeout.is_zero() {
            return Err(ConfigError::Timers(
                "timer_tick and delack_timeout must be > 0",
            ));
        }
        if let Some(k) = self.keepalive {
            if k.idle.is_zero() || k.interval.is_zero() || k.probes == 0 {
                return Err(ConfigError::Timers("keepalive fields must be > 0"));
            }
        }
        let (lo, hi) = self.ephemeral_ports;
        if lo == 0 || lo > hi {
            return Err(ConfigError::Ports);
        }
        Ok(())
    }

    /// TIME_WAIT's duration: 2 * MSL.
    pub fn time_wait(&self) -> Duration {
        self.msl.saturating_mul(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_values_are_named() {
        assert_eq!(TcpConfig::default().validate(), Ok(()));
        let c = TcpConfig {
            max_conns: 0,
            ..TcpConfig::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::Zero("max_conns")));
        let c = TcpConfig {
            rto_min: Duration::from_secs(100),
            ..TcpConfig::default()
        };
        assert!(matches!(c.validate(), Err(ConfigError::Timers(_))));
        let c = TcpConfig {
            recv_buf: 10,
            ..TcpConfig::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::RecvBuf));
        let c = TcpConfig {
            ephemeral_ports: (10, 5),
            ..TcpConfig::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::Ports));
    }
}
