//! The kernel transport's configuration: bounds, buffer sizes and batching.

use super::error::KernelError;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Most pool blocks one `readv` fills (the bound of [`KernelConfig::read_blocks`]).
pub const MAX_READ_BLOCKS: usize = 16;

/// Most `SharedBuf` ranges one `sendmsg` carries.
pub const MAX_WRITE_PIECES: usize = 64;

/// One kernel transport's configuration (and, for [`super::KernelRuntime`], the
/// instance's: `threads` and `cores`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelConfig {
    /// Address listeners bind to (`0.0.0.0`: every local address).
    pub addr: Ipv4Addr,
    /// Threads of a [`super::KernelRuntime`]: one transport and one handler each,
    /// sharing nothing; each listens with `SO_REUSEPORT`, so the kernel spreads the
    /// connections of a port over them.
    pub threads: usize,
    /// Cores to pin the threads to (thread `i` on `cores[i % len]`); empty: no pinning.
    pub cores: Vec<usize>,
    /// Connections one transport holds (ids index a table of this size).
    pub max_conns: usize,
    /// Ports one transport listens on at once.
    pub max_listeners: usize,
    /// Listen backlog handed to the kernel.
    pub backlog: i32,
    /// Events per batch (IX's bound B): epoll readiness reports gathered per round
    /// and events handed to the handler per invocation.
    pub batch: usize,
    /// Calls the handler can make per batch (at least `batch`).
    pub max_calls: usize,
    /// Application timers armed at once.
    pub max_timers: usize,
    /// Granularity of application timers (epoll waits in whole milliseconds, so a
    /// timer may fire up to ~1 ms late when the thread is idle).
    pub timer_tick: Duration,
    /// Blocks in the thread's buffer pool.
    pub pool_blocks: usize,
    /// Bytes per pool block: the largest received segment and payload buffer.
    pub block_size: usize,
    /// Receive window per connection: received bytes the application may hold
    /// unreleased; at the bound the transport stops reading the socket (the kernel's
    /// buffer then fills and TCP closes the peer's window) until segments are dropped.
    pub recv_window: usize,
    /// Bytes queued to send per connection (by reference) before sends come up short.
    pub send_buf: usize,
    /// Separate buffer ranges queued to send per connection.
    pub send_pieces: usize,
    /// Pool blocks filled per `readv` (1..=[`MAX_READ_BLOCKS`]).
    pub read_blocks: usize,
    /// `TCP_NODELAY` on every connection (small responses leave at once).
    pub nodelay: bool,
    /// How long a connection that closed its side waits for the peer's close before
    /// it is reset and reported `Dead { Timeout }` (Linux's `tcp_fin_timeout`).
    pub fin_timeout: Duration,
}

impl Default for KernelConfig {
    /// Listen on 127.0.0.1, one unpinned thread, 1024 connections and 16 listeners
    /// (ix-tcp's defaults), batches of 64 events and 4096 calls, 4096 timers at
    /// 100 µs, 4096 blocks of 16 KiB, 256 KiB receive window and send buffer (ix-tcp's),
    /// 1024 send pieces, 8 blocks per read, no Nagle, 60 s FIN timeout.
    fn default() -> Self {
        KernelConfig {
            addr: Ipv4Addr::LOCALHOST,
            threads: 1,
            cores: Vec::new(),
            max_conns: 1024,
            max_listeners: 16,
            backlog: 1024,
            batch: 64,
            max_calls: 4096,
            max_timers: 4096,
            timer_tick: Duration::from_micros(100),
            pool_blocks: 4096,
            block_size: 16 * 1024,
            recv_window: 256 * 1024,
            send_buf: 256 * 1024,
            send_pieces: 1024,
            read_blocks: 8,
            nodelay: true,
            fin_timeout: Duration::from_secs(60),
        }
    }
}

impl KernelConfig {
    /// Checks the configuration can work; names the first bad field.
    pub fn validate(&self) -> Result<(), KernelError> {
        let bad = |what: &'static str| Err(KernelError::Config(what));
        if self.threads == 0 {
            return bad("threads must be >= 1");
        }
        if self.max_conns == 0 || self.max_conns >= 1 << 31 {
            return bad("max_conns must be in 1..2^31");
        }
        if self.max_listeners == 0 || self.max_listeners >= 1 << 16 {
            return bad("max_listeners must be in 1..65536");
        }
        if self.batch == 0 || self.max_calls < self.batch {
            return bad("batch must be >= 1 and max_calls >= batch");
        }
        if self.max_timers == 0 || self.timer_tick.is_zero() {
            return bad("max_timers and timer_tick must be > 0");
        }
        if self.pool_blocks == 0 || self.block_size == 0 || self.block_size > u32::MAX as usize {
            return bad("pool_blocks and block_size must be > 0 (block_size < 4 GiB)");
        }
        if self.recv_window == 0 || self.send_buf == 0 || self.send_pieces == 0 {
            return bad("recv_window, send_buf and send_pieces must be > 0");
        }
        if self.read_blocks == 0 || self.read_blocks > MAX_READ_BLOCKS {
            return bad("read_blocks must be in 1..=16");
        }
        if self.backlog <= 0 {
            return bad("backlog must be > 0");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults validate; each kind of nonsense is refused as a `Config` error.
    #[test]
    fn defaults_are_valid_and_nonsense_is_named() {
        assert!(KernelConfig::default().validate().is_ok());
        for bad in [
            KernelConfig {
                threads: 0,
                ..KernelConfig::default()
            },
            KernelConfig {
                max_calls: 1,
                ..KernelConfig::default()
            },
            KernelConfig {
                read_blocks: 17,
                ..KernelConfig::default()
            },
            KernelConfig {
                block_size: 0,
                ..KernelConfig::default()
            },
        ] {
            assert!(matches!(bad.validate(), Err(KernelError::Config(_))));
        }
    }
}
