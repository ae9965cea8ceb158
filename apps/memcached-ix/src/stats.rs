//! The counters behind `stats`: one block of relaxed atomics per thread (each
//! thread writes only its own: no contention), summed when a client asks, plus the
//! settings `stats settings` reports.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

macro_rules! counters {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default)]
        pub struct $name { $($(#[$fm])* pub $f: AtomicU64,)* }
        impl $name {
            /// Every counter as (memcached's name, value).
            pub fn values(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($f), self.$f.load(Ordering::Relaxed)),)*]
            }
            /// Zeroes every counter except `curr_connections` (`stats reset`).
            pub fn reset(&self) {
                $(if stringify!($f) != "curr_connections" { self.$f.store(0, Ordering::Relaxed); })*
            }
        }
    };
}

counters!(
    /// One thread's counters (memcached's names).
    ThreadStats {
        /// Connections open now on this thread.
        curr_connections,
        /// Connections accepted.
        total_connections,
        /// Connections refused at the `-c` limit.
        rejected_connections,
        /// Keys requested by retrieval commands.
        cmd_get,
        /// Storage commands.
        cmd_set,
        /// flush_all commands.
        cmd_flush,
        /// touch/gat commands (per key).
        cmd_touch,
        /// Meta commands.
        cmd_meta,
        /// Keys found.
        get_hits,
        /// Keys not found.
        get_misses,
        /// delete of an absent key.
        delete_misses,
        /// delete of a present key.
        delete_hits,
        /// incr of an absent key.
        incr_misses,
        /// incr of a present key.
        incr_hits,
        /// decr of an absent key.
        decr_misses,
        /// decr of a present key.
        decr_hits,
        /// cas of an absent key.
        cas_misses,
        /// cas that stored.
        cas_hits,
        /// cas with a stale unique.
        cas_badval,
        /// touch of a present key.
        touch_hits,
        /// touch of an absent key.
        touch_misses,
        /// Storage commands refused as larger than `-I`.
        store_too_large,
        /// Bytes received from clients.
        bytes_read,
        /// Bytes handed to the transport for clients.
        bytes_written,
        /// Times a connection stopped reading because its responses were not taken
        /// (flow control).
        conn_yields,
        /// Payload bytes the transport copied on this thread (ix_nic::copy).
        ix_copied_bytes,
    }
);

impl ThreadStats {
    /// Adds `n` to counter `c`.
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
}

/// The settings `stats settings` reports (from the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `-m` in bytes.
    pub maxbytes: u64,
    /// `-c`.
    pub maxconns: usize,
    /// `-p`.
    pub tcpport: u16,
    /// `-l`.
    pub inter: String,
    /// `-t`.
    pub threads: usize,
    /// `-I`.
    pub item_size_max: usize,
    /// Bytes per value buffer.
    pub value_block: usize,
    /// Value buffers in the store's pool.
    pub value_blocks: usize,
}

/// Every thread's counters and the server-wide facts.
#[derive(Debug)]
pub struct Stats {
    /// One block per thread.
    pub threads: Box<[ThreadStats]>,
    /// The settings.
    pub settings: Settings,
    /// Current `verbosity`.
    pub verbosity: AtomicU32,
    /// Run-time settings (`lru_crawler`, `slabs automove`, `lru`).
    pub tunables: crate::tunables::Tunables,
    /// Per-prefix counters (`stats detail`).
    pub detail: crate::prefix::PrefixStats,
    /// The connections open now (`stats conns`).
    pub conns: std::sync::Arc<crate::conns::ConnTable>,
    started: Instant,
}

impl Stats {
    /// Counters for `threads` threads.
    pub fn new(settings: Settings) -> Self {
        Stats {
            threads: (0..settings.threads.max(1))
                .map(|_| ThreadStats::default())
                .collect(),
            settings,
            verbosity: AtomicU32::new(0),
            tunables: crate::tunables::Tunables::default(),
            detail: crate::prefix::PrefixStats::default(),
            conns: std::sync::Arc::default(),
            started: Instant::now(),
        }
    }

    /// Thread `t`'s block (the last one if `t` is out of range).
    pub fn thread(&self, t: usize) -> &ThreadStats {
        let i = t.min(self.threads.len() - 1);
        &self.threads[i]
    }

    /// Every counter summed over the threads, in memcached's order.
    pub fn totals(&self) -> Vec<(&'static str, u64)> {
        let mut sum = self.threads[0].values();
        for t in self.threads.iter().skip(1) {
            for (acc, (_, v)) in sum.iter_mut().zip(t.values()) {
                acc.1 += v;
            }
        }
        sum
    }

    /// Seconds since start.
    pub fn uptime(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}

/// The current Unix time in seconds.
pub fn unix_time() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// This process's (user, system) CPU seconds, from /proc (0 where unavailable).
pub fn rusage() -> (f64, f64) {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the command name (which may hold spaces) start after ')'.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    (tick(11), tick(12))
}
