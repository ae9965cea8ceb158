//! memcached's notion of time: seconds since the server started ("relative time"),
//! and how a client's exptime becomes an expiry on that clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// Client exptimes up to this many seconds (30 days) are relative to now; larger
/// ones are absolute Unix times.
pub const MAX_RELATIVE_EXPTIME: i64 = 60 * 60 * 24 * 30;

/// The server's clock: Unix time of its epoch, and the current relative time.
/// Relative time starts at 2 (as memcached's does), so expiry 1 is always past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Unix seconds at relative time 0.
    pub epoch_unix: u64,
}

impl Clock {
    /// A clock whose relative time is 2 now.
    pub fn system() -> Self {
        Clock {
            epoch_unix: unix_now().saturating_sub(2),
        }
    }

    /// The current relative time in seconds.
    pub fn now(&self) -> u32 {
        u32::try_from(unix_now().saturating_sub(self.epoch_unix)).unwrap_or(u32::MAX)
    }

    /// The Unix time of relative time `rel`.
    pub fn unix_of(&self, rel: u32) -> u64 {
        self.epoch_unix + u64::from(rel)
    }

    /// The expiry (relative time; 0 = never) of a client's `exptime` given at `now`:
    /// 0 never expires; negative is already expired; up to 30 days is relative;
    /// beyond is an absolute Unix time (one at or before the epoch is already past).
    pub fn expiry(&self, exptime: i64, now: u32) -> u32 {
        expiry(exptime, now, self.epoch_unix)
    }
}

/// See [`Clock::expiry`]; `epoch_unix` is the Unix time of relative time 0.
pub fn expiry(exptime: i64, now: u32, epoch_unix: u64) -> u32 {
    if exptime == 0 {
        return 0;
    }
    if exptime < 0 {
        return 1;
    }
    if exptime > MAX_RELATIVE_EXPTIME {
        let abs = exptime as u64;
        if abs <= epoch_unix {
            return 1;
        }
        return u32::try_from(abs - epoch_unix).unwrap_or(u32::MAX);
    }
    now.saturating_add(exptime as u32).max(1)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exptime_rules_match_memcached() {
        let epoch = 1_700_000_000;
        assert_eq!(expiry(0, 100, epoch), 0, "never");
        assert_eq!(expiry(-1, 100, epoch), 1, "negative: already expired");
        assert_eq!(expiry(10, 100, epoch), 110, "relative");
        assert_eq!(expiry(MAX_RELATIVE_EXPTIME, 100, epoch), 100 + 2_592_000);
        assert_eq!(
            expiry(MAX_RELATIVE_EXPTIME + 1, 100, epoch),
            1,
            "absolute in 1970: past"
        );
        assert_eq!(expiry(epoch as i64 + 500, 100, epoch), 500, "absolute");
    }
}
