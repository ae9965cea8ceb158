//! TCP settings a script's header asks for (`tcp-config syn-retries=1 ...`), stated
//! once and mapped by each target to its own knobs: namespace sysctls and socket
//! options on Linux, `TcpConfig` fields on ix. They exist so scripts about timeouts
//! run in seconds rather than in Linux's default minutes.

use crate::lex::Token;
use crate::parse_frame::ColError;
use std::time::Duration;

/// Keepalive timing: idle time before the first probe, time between probes, and how
/// many unanswered probes end the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before the first probe.
    pub idle: Duration,
    /// Time between unanswered probes.
    pub interval: Duration,
    /// Unanswered probes that end the connection.
    pub probes: u32,
}

/// Every setting a script may change; `None` leaves the target's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpSettings {
    /// `syn-retries=N`: SYN retransmissions before an active open gives up.
    pub syn_retries: Option<u32>,
    /// `synack-retries=N`: SYN-ACK retransmissions before a passive open gives up.
    pub synack_retries: Option<u32>,
    /// `retries2=N`: data retransmissions before an open connection gives up
    /// (Linux turns the count into a time, as if the RTO started at 200 ms).
    pub retries2: Option<u32>,
    /// `user-timeout=SECS`: how long data may stay unacknowledged (TCP_USER_TIMEOUT).
    pub user_timeout: Option<Duration>,
    /// `fin-timeout=SECS`: the FIN_WAIT_2 bound for a closed socket (whole seconds).
    pub fin_timeout: Option<Duration>,
    /// `keepalive=IDLE:INTERVAL:PROBES`: turns keepalive on for the app's sockets
    /// (whole seconds).
    pub keepalive: Option<Keepalive>,
    /// `syncookies=0|1|2`: never, when the SYN queue overflows, always.
    pub syncookies: Option<u8>,
    /// `timestamps=0|1`: whether the SUT offers RFC 7323 timestamps.
    pub timestamps: Option<bool>,
    /// `sack=0|1`: whether the SUT offers SACK.
    pub sack: Option<bool>,
    /// `wscale=0|1`: whether the SUT offers window scaling.
    pub window_scaling: Option<bool>,
}

/// What `tcp-config` accepts, for errors.
const KEYS: &str = "syn-retries=N synack-retries=N retries2=N user-timeout=SECS \
                    fin-timeout=SECS keepalive=IDLE:INTERVAL:PROBES syncookies=0|1|2 \
                    timestamps=0|1 sack=0|1 wscale=0|1";

impl TcpSettings {
    /// Applies the `KEY=VALUE` words of one `tcp-config` line.
    pub(crate) fn apply(&mut self, args: &[Token<'_>]) -> Result<(), ColError> {
        for tok in args {
            let (key, val) = tok
                .text
                .split_once('=')
                .ok_or_else(|| (tok.col, format!("want KEY=VALUE ({KEYS})")))?;
            let col = tok.col + key.len() + 1;
            let bad = |what: &str| (col, format!("bad {key} `{val}` (want {what})"));
            let count = || val.parse::<u32>().map_err(|_| bad("a count"));
            let flag = || match val {
                "0" => Ok(false),
                "1" => Ok(true),
                _ => Err(bad("0 or 1")),
            };
            match key {
                "syn-retries" => self.syn_retries = Some(count()?),
                "synack-retries" => self.synack_retries = Some(count()?),
                "retries2" => self.retries2 = Some(count()?),
                "user-timeout" => {
                    self.user_timeout = Some(secs(val).ok_or_else(|| bad("seconds"))?)
                }
                "fin-timeout" => self.fin_timeout = Some(secs(val).ok_or_else(|| bad("seconds"))?),
                "keepalive" => {
                    let parts: Vec<&str> = val.split(':').collect();
                    let [idle, interval, probes] = parts[..] else {
                        return Err(bad("IDLE:INTERVAL:PROBES"));
                    };
                    self.keepalive = Some(Keepalive {
                        idle: secs(idle).ok_or_else(|| bad("IDLE:INTERVAL:PROBES"))?,
                        interval: secs(interval).ok_or_else(|| bad("IDLE:INTERVAL:PROBES"))?,
                        probes: probes.parse().map_err(|_| bad("IDLE:INTERVAL:PROBES"))?,
                    });
                }
                "syncookies" => {
                    self.syncookies = Some(
                        val.parse::<u8>()
                            .ok()
                            .filter(|n| *n <= 2)
                            .ok_or_else(|| bad("0, 1 or 2"))?,
                    )
                }
                "timestamps" => self.timestamps = Some(flag()?),
                "sack" => self.sack = Some(flag()?),
                "wscale" => self.window_scaling = Some(flag()?),
                _ => return Err((tok.col, format!("unknown tcp-config key `{key}` ({KEYS})"))),
            }
        }
        Ok(())
    }
}

/// Non-negative decimal seconds.
fn secs(text: &str) -> Option<Duration> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e6)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokenize;

    fn settings(line: &str) -> Result<TcpSettings, ColError> {
        let mut s = TcpSettings::default();
        s.apply(&tokenize(line).unwrap())?;
        Ok(s)
    }

    #[test]
    fn keys_parse() {
        let s = settings(
            "syn-retries=1 retries2=3 user-timeout=1.5 keepalive=1:2:3 syncookies=2 sack=0",
        )
        .unwrap();
        assert_eq!(s.syn_retries, Some(1));
        assert_eq!(s.retries2, Some(3));
        assert_eq!(s.user_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(
            s.keepalive,
            Some(Keepalive {
                idle: Duration::from_secs(1),
                interval: Duration::from_secs(2),
                probes: 3
            })
        );
        assert_eq!(s.syncookies, Some(2));
        assert_eq!(s.sack, Some(false));
        assert_eq!(s.timestamps, None);
    }

    #[test]
    fn errors_point_at_the_value() {
        let e = settings("retries2=x").unwrap_err();
        assert_eq!(e.0, 10);
        assert!(e.1.contains("a count"));
        assert!(settings("keepalive=1:2")
            .unwrap_err()
            .1
            .contains("IDLE:INTERVAL"));
        assert!(settings("syncookies=3")
            .unwrap_err()
            .1
            .contains("0, 1 or 2"));
        assert!(settings("bogus=1")
            .unwrap_err()
            .1
            .contains("unknown tcp-config key"));
        assert!(settings("sack").unwrap_err().1.contains("KEY=VALUE"));
    }
}
