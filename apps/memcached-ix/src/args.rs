//! memcached's command-line flags (the ones that make sense here), checked as
//! memcached checks them.

use crate::stats::{Settings, Stats};
use crate::store::StoreConfig;
use clap::Parser;
use std::net::Ipv4Addr;

/// A flag value memcached would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// `-I` unparsable or out of range.
    #[error("{0}")]
    ItemSize(String),
    /// UDP asked for.
    #[error("UDP is not supported: give -U 0")]
    Udp,
    /// A zero that cannot work.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// `-D` given an empty delimiter.
    #[error("-D needs a delimiter character")]
    Delimiter,
    /// `-m` needs more buffers than one pool can hold.
    #[error("-m {0} needs more value buffers than one pool can hold")]
    TooMuchMemory(u64),
}

/// memcached-ix's command line (memcached's names).
#[derive(Debug, Clone, Parser)]
#[command(name = "memcached-ix", version = crate::VERSION, about = "memcached on libix")]
pub struct Args {
    /// TCP port to listen on.
    #[arg(short = 'p', long = "port", default_value_t = 11211)]
    pub port: u16,
    /// UDP port: only 0 (off) is supported.
    #[arg(short = 'U', long = "udp-port", default_value_t = 0)]
    pub udp_port: u16,
    /// Interface to listen on.
    #[arg(short = 'l', long = "listen", default_value = "0.0.0.0")]
    pub listen: Ipv4Addr,
    /// Item memory in megabytes.
    #[arg(short = 'm', long = "memory-limit", default_value_t = 64)]
    pub memory_mb: u64,
    /// Largest item (bytes, or with a k/m suffix).
    #[arg(short = 'I', long = "max-item-size", default_value = "1m")]
    pub max_item_size: String,
    /// Most simultaneous connections.
    #[arg(short = 'c', long = "conn-limit", default_value_t = 1024)]
    pub conn_limit: usize,
    /// Threads.
    #[arg(short = 't', long = "threads", default_value_t = 4)]
    pub threads: usize,
    /// Verbose (repeat for more).
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// User to run as (accepted for compatibility; not acted on).
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Delimiter between key prefixes and the rest for per-prefix stats
    /// (`stats detail`); giving it turns the stats on, as in memcached.
    #[arg(short = 'D')]
    pub prefix_delimiter: Option<String>,
    /// Bytes per value buffer in the store.
    #[arg(long = "value-block", default_value_t = 2048)]
    pub value_block: usize,
    /// Lock stripes of the store (64: chosen by `benches/store`, see the README).
    #[arg(long = "shards", default_value_t = crate::store::DEFAULT_SHARDS)]
    pub shards: usize,
    /// Cores to pin the threads to (comma-separated); empty: no pinning.
    #[arg(long = "cores", value_delimiter = ',')]
    pub cores: Vec<usize>,
}

impl Args {
    /// `-I` in bytes, checked as memcached does (at least 1024, at most 1 GiB and
    /// half of `-m`).
    pub fn item_size(&self) -> Result<usize, ArgsError> {
        let s = self.max_item_size.trim();
        let (num, mult) = match s.as_bytes().last() {
            Some(b'k' | b'K') => (&s[..s.len() - 1], 1024),
            Some(b'm' | b'M') => (&s[..s.len() - 1], 1024 * 1024),
            _ => (s, 1),
        };
        let n: usize = num
            .parse()
            .map_err(|_| ArgsError::ItemSize(format!("Invalid value for -I: {s}")))?;
        let size = n.saturating_mul(mult);
        if size < 1024 {
            return Err(ArgsError::ItemSize(
                "Item max size cannot be less than 1024 bytes.".into(),
            ));
        }
        if size > 1 << 30 {
            return Err(ArgsError::ItemSize(
                "Cannot set item size limit higher than 1 gigabyte.".into(),
            ));
        }
        if size as u64 > self.memory_bytes() / 2 {
            return Err(ArgsError::ItemSize(
                "Cannot set item size limit higher than 1/2 of memory max.".into(),
            ));
        }
        Ok(size)
    }

    /// `-D`'s delimiter (its first byte, as memcached takes it); `None` when not
    /// given.
    pub fn delimiter(&self) -> Result<Option<u8>, ArgsError> {
        match &self.prefix_delimiter {
            None => Ok(None),
            Some(d) => d.bytes().next().map(Some).ok_or(ArgsError::Delimiter),
        }
    }

    /// Applies `-D` to `stats`: the delimiter, and per-prefix stats on.
    pub fn apply_detail(&self, stats: &Stats) -> Result<(), ArgsError> {
        if let Some(d) = self.delimiter()? {
            stats.detail.set_delimiter(d);
            stats.detail.set_enabled(true);
        }
        Ok(())
    }

    /// `-m` in bytes.
    pub fn memory_bytes(&self) -> u64 {
        self.memory_mb.saturating_mul(1 << 20)
    }

    /// Checks every flag.
    pub fn validate(&self) -> Result<(), ArgsError> {
        if self.udp_port != 0 {
            return Err(ArgsError::Udp);
        }
        for (v, name) in [
            (self.memory_mb as usize, "-m"),
            (self.conn_limit, "-c"),
            (self.threads, "-t"),
            (self.value_block, "--value-block"),
            (self.shards, "--shards"),
        ] {
            if v == 0 {
                return Err(ArgsError::Zero(name));
            }
        }
        self.delimiter()?;
        self.item_size().map(|_| ())
    }

    /// Value buffers in the store's pool: `-m` worth.
    pub fn value_blocks(&self) -> usize {
        (self.memory_bytes() / self.value_block as u64).max(1) as usize
    }

    /// The store's bounds (`-m`, `-I`, `--shards`); fails as [`Args::item_size`].
    pub fn store_config(&self) -> Result<StoreConfig, ArgsError> {
        Ok(StoreConfig {
            limit_bytes: self.memory_bytes(),
            item_max: self.item_size()?,
            shards: self.shards,
        })
    }

    /// What `stats settings` reports for `threads` threads listening on `inter`
    /// (the flags otherwise); fails as [`Args::item_size`].
    pub fn settings(&self, threads: usize, inter: String) -> Result<Settings, ArgsError> {
        Ok(Settings {
            maxbytes: self.memory_bytes(),
            maxconns: self.conn_limit,
            tcpport: self.port,
            inter,
            threads,
            item_size_max: self.item_size()?,
            value_block: self.value_block,
            value_blocks: self.value_blocks(),
        })
    }

    /// Buffers the store's pool needs as a dataplane instance with `threads`
    /// elastic threads: `-m` worth ([`Args::value_blocks`]), plus 1/16 for the
    /// partly filled last buffer of values, plus 512 per thread for buffers
    /// parked in per-core pool caches; refused past what a pool can hold.
    pub fn instance_pool_buffers(&self, threads: usize) -> Result<u32, ArgsError> {
        let blocks = self.value_blocks() as u64;
        let total = blocks + blocks / 16 + 512 * threads.max(1) as u64;
        u32::try_from(total)
            .ok()
            .filter(|&n| n < 1 << 30)
            .ok_or(ArgsError::TooMuchMemory(self.memory_mb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from([&["memcached-ix"], args].concat()).unwrap()
    }

    #[test]
    fn memcached_flags_and_their_checks() {
        let a = parse(&[
            "-p", "22122", "-U", "0", "-m", "128", "-I", "2m", "-c", "10", "-t", "2", "-vv",
        ]);
        assert_eq!(
            (a.port, a.memory_bytes(), a.conn_limit, a.threads, a.verbose),
            (22122, 128 << 20, 10, 2, 2)
        );
        assert_eq!(a.item_size(), Ok(2 << 20));
        assert!(a.validate().is_ok());
        assert_eq!(parse(&["-U", "11211"]).validate(), Err(ArgsError::Udp));
        assert!(parse(&["-I", "512"]).validate().is_err());
        assert!(parse(&["-m", "1", "-I", "1m"]).validate().is_err());
        assert_eq!(parse(&["-I", "4k"]).item_size(), Ok(4096));
        assert_eq!(parse(&["-D", "/"]).delimiter(), Ok(Some(b'/')));
        assert_eq!(parse(&[]).delimiter(), Ok(None));
        assert!(parse(&["-D", ""]).validate().is_err());
    }

    #[test]
    fn instance_pool_is_m_worth_of_buffers_plus_slack() {
        // 64 MiB of 2 KiB buffers, 1/16 more, 512 per thread.
        assert_eq!(
            parse(&["-m", "64"]).instance_pool_buffers(1),
            Ok(32768 + 2048 + 512)
        );
        assert_eq!(
            parse(&["-m", "64"]).instance_pool_buffers(2),
            Ok(32768 + 2048 + 1024)
        );
        assert_eq!(
            parse(&["-m", "100000000"]).instance_pool_buffers(1),
            Err(ArgsError::TooMuchMemory(100000000))
        );
        let c = parse(&["-m", "8", "-I", "2m", "--shards", "4"])
            .store_config()
            .unwrap();
        assert_eq!((c.limit_bytes, c.item_max, c.shards), (8 << 20, 2 << 20, 4));
    }
}
