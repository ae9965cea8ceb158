//! The request schedule of one connection ([`ClientConn`]): which bytes request
//! `k` on connection `c` holds ([`fill_request`]), sending while fewer than
//! `pipeline` are outstanding, and checking every echoed byte against what was sent
//! ([`request_mismatches`]), timing each request once its last byte is back.
//!
//! Requests are built in pool buffers (one per request, filled from a stack block:
//! no heap allocation per request) and sent by reference.

use super::config::ClientConfig;
use super::stats::ClientStats;
use ix_nic::{BufPool, Instant, MutBuf};
use libix::ev::ConnCx;
use std::collections::VecDeque;
use std::time::Duration;

/// Retry delay after the pool ran dry.
const ALLOC_RETRY: Duration = Duration::from_millis(1);

/// The 64-bit seed of request `k` on connection `conn` (splitmix64).
fn request_word(conn: u32, k: u64) -> u64 {
    let mut z = (u64::from(conn) << 40 ^ k).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `out` with bytes `j0..j0 + out.len()` of request `k` on connection `conn`:
/// byte `j` is byte `j mod 8` of the request's word, xor `j / 8`.
pub fn fill_request(conn: u32, k: u64, j0: usize, out: &mut [u8]) {
    let w = request_word(conn, k).to_le_bytes();
    for (i, b) in out.iter_mut().enumerate() {
        let j = j0 + i;
        *b = w[j & 7] ^ (j >> 3) as u8;
    }
}

/// How many of `bytes`, which claim to be bytes `j0..` of request `k` on connection
/// `conn`, are wrong.
pub fn request_mismatches(conn: u32, k: u64, j0: usize, bytes: &[u8]) -> u64 {
    let mut want = [0u8; 256];
    let mut wrong = 0;
    for (c, chunk) in bytes.chunks(want.len()).enumerate() {
        let want = &mut want[..chunk.len()];
        fill_request(conn, k, j0 + c * 256, want);
        if want != chunk {
            wrong += want.iter().zip(chunk).filter(|(a, b)| a != b).count() as u64;
        }
    }
    wrong
}

/// One connection's progress.
#[derive(Debug)]
pub struct ClientConn {
    /// The connection's number (0..conns): part of every request's bytes.
    pub(super) index: u32,
    /// Requests handed to the transport.
    sent: u64,
    /// Echoed bytes received and checked.
    pub(super) received: u64,
    /// Send times of the outstanding requests, oldest first.
    sent_at: VecDeque<Instant>,
    /// Whether our close is queued.
    pub(super) closing: bool,
}

impl ClientConn {
    /// Connection number `index`, nothing sent yet, room for `pipeline` send times.
    pub(super) fn new(index: u32, pipeline: usize) -> Self {
        ClientConn {
            index,
            sent: 0,
            received: 0,
            sent_at: VecDeque::with_capacity(pipeline),
            closing: false,
        }
    }

    /// Whether every byte of every request of `cfg` came back.
    pub(super) fn all_echoed(&self, cfg: &ClientConfig) -> bool {
        self.received >= cfg.bytes_per_conn()
    }

    /// Sends requests while fewer than `pipeline` are outstanding; counts pool
    /// shortages (and retries later) and short buffers (and aborts) in `stats`.
    pub(super) fn send_requests<P: BufPool>(
        &mut self,
        cfg: &ClientConfig,
        stats: &mut ClientStats,
        c: &mut ConnCx<'_, '_, P>,
    ) {
        let size = cfg.size;
        while self.sent < cfg.requests && self.sent_at.len() < cfg.pipeline && c.send_room() > 0 {
            let Ok(mut m) = c.pool().alloc_mut() else {
                stats.alloc_failed();
                let _ = c.wake_after(ALLOC_RETRY);
                return;
            };
            // Fill from a stack block: no heap allocation per request.
            let mut block = [0u8; 256];
            let mut j = 0;
            while j < size {
                let n = (size - j).min(block.len());
                fill_request(self.index, self.sent, j, &mut block[..n]);
                if m.extend_from_slice(&block[..n]) != n {
                    break;
                }
                j += n;
            }
            if j < size {
                // Checked at start: cannot happen unless buffers shrink.
                stats.bytes_wrong((size - j) as u64);
                c.abort();
                return;
            }
            let buf = m.freeze();
            if c.send(&buf, 0..size).is_err() {
                return;
            }
            let now = c.now();
            self.sent += 1;
            self.sent_at.push_back(now);
            stats.request_sent(now);
        }
    }

    /// Checks `bytes`, echoed and received at `now`, against what was sent; counts
    /// wrong and extra bytes in `stats` and records the round trip of every request
    /// completed (past the warm-up).
    pub(super) fn check_echo(
        &mut self,
        cfg: &ClientConfig,
        stats: &mut ClientStats,
        mut bytes: &[u8],
        now: Instant,
    ) {
        let size = cfg.size;
        let size64 = size as u64;
        while !bytes.is_empty() {
            // Only what was sent can come back.
            let sent_bytes = self.sent * size64;
            if self.received >= sent_bytes {
                stats.bytes_extra(bytes.len() as u64);
                break;
            }
            let k = self.received / size64;
            let j = (self.received % size64) as usize;
            let n = bytes.len().min(size - j);
            let (this, rest) = bytes.split_at(n);
            stats.bytes_wrong(request_mismatches(self.index, k, j, this));
            self.received += n as u64;
            bytes = rest;
            if j + n == size {
                let sent_at = self.sent_at.pop_front();
                let rtt = sent_at
                    .filter(|_| k >= cfg.warmup)
                    .map(|t| now.saturating_since(t));
                stats.request_completed(now, rtt);
            }
        }
    }
}
