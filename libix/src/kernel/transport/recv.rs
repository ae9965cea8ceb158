//! The read path and the receive window: one `readv` straight into pool blocks,
//! each filled block a `Recv` carrying a credit; a connection whose application
//! holds a full window of unreleased segments is not read until credits come back.

use super::table::enqueue;
use super::KernelTransport;
use crate::event::{Event, EventBatch};
use crate::id::ConnId;
use crate::kernel::config::MAX_READ_BLOCKS;
use crate::kernel::conn::Phase;
use crate::kernel::error::{close_reason, interrupted, would_block};
use arrayvec::ArrayVec;
use ix_nic::heap::{HeapPool, HeapRx};
use ix_nic::{RxBuf, RxSeg};
use mio::net::TcpStream;
use std::io::{IoSliceMut, Read};

/// What one read came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadOutcome {
    /// Nothing (more) to read now.
    Idle,
    /// Read a full set of blocks (or the peer's FIN is pending): read again later.
    More,
    /// The batch is full.
    Full,
    /// The connection failed (its phase is `Ending`).
    Failed,
}

impl KernelTransport {
    /// Segments the application dropped give their bytes back to their connections'
    /// windows; a connection stalled on its window is read again.
    pub(super) fn drain_credits(&mut self) {
        let window = self.cfg.recv_window;
        let conns = &mut self.conns;
        let attention = &mut self.attention;
        self.ledger.drain(|slot, gen, bytes| {
            let i = slot as usize;
            let Some(c) = conns.get_mut(i) else {
                return;
            };
            if c.credit_gen != gen || c.phase == Phase::Free {
                return;
            }
            let was_full = c.outstanding >= window;
            c.outstanding = c.outstanding.saturating_sub(bytes as usize);
            if was_full && c.outstanding < window && c.readable && c.phase == Phase::Open {
                enqueue(c, i, attention);
            }
        });
    }

    /// One `readv` into pool blocks; each filled block becomes a `Recv`.
    pub(super) fn read(
        &mut self,
        i: usize,
        conn: ConnId,
        batch: &mut EventBatch<HeapPool>,
    ) -> ReadOutcome {
        let bs = self.cfg.block_size;
        let window = self.cfg.recv_window;
        let c = &mut self.conns[i];
        if c.outstanding >= window {
            self.stats.window_stalls += 1;
            return ReadOutcome::Idle;
        }
        let room = batch.room();
        if room == 0 {
            return ReadOutcome::Full;
        }
        let want = room
            .min(self.cfg.read_blocks)
            .min((window - c.outstanding).div_ceil(bs))
            .max(1);
        while self.spares.len() < want {
            // The heap pool hands out receive blocks only as copies of given bytes:
            // a fresh block is written once with zeros, then the kernel reads into it.
            match self.pool.rx_from(&self.zeros) {
                Ok(rx) => self.spares.push(rx),
                Err(_) => break,
            }
        }
        if self.spares.is_empty() {
            self.stats.rx_no_buffers += 1;
            self.retry_soon = true;
            return ReadOutcome::More;
        }
        let k = want.min(self.spares.len());
        let first = self.spares.len() - k;
        let mut blocks: ArrayVec<HeapRx, MAX_READ_BLOCKS> = self.spares.drain(first..).collect();
        let Some(sock) = c.sock.as_ref() else {
            self.spares.extend(blocks);
            return ReadOutcome::Idle;
        };
        let result = {
            let mut iov: ArrayVec<IoSliceMut<'_>, MAX_READ_BLOCKS> = blocks
                .iter_mut()
                .map(|b| IoSliceMut::new(b.data_mut()))
                .collect();
            let mut r: &TcpStream = sock;
            r.read_vectored(&mut iov)
        };
        match result {
            Ok(0) => {
                self.stats.reads += 1;
                self.spares.extend(blocks);
                c.eof = true;
                c.readable = false;
                ReadOutcome::Idle
            }
            Ok(n) => {
                self.stats.reads += 1;
                self.stats.rx_bytes += n as u64;
                let mut left = n;
                let mut blocks = blocks.into_iter();
                while left > 0 {
                    let Some(rx) = blocks.next() else {
                        break;
                    };
                    let len = left.min(bs);
                    left -= len;
                    let credit = self.ledger.credit(i as u32, c.credit_gen, len as u32);
                    if let Some(seg) = RxSeg::new(rx, 0..len) {
                        self.stats.rx_segments += 1;
                        let _ = batch.push(Event::Recv {
                            conn,
                            cookie: c.cookie,
                            seg: seg.with_credit(credit),
                        });
                    }
                }
                self.spares.extend(blocks);
                c.outstanding += n;
                // A short read emptied the socket (a new arrival is a new edge),
                // unless the peer's FIN or an error is pending: read until it shows.
                if n < k * bs && !c.rdhup {
                    c.readable = false;
                    ReadOutcome::Idle
                } else {
                    ReadOutcome::More
                }
            }
            Err(e) if would_block(&e) => {
                self.spares.extend(blocks);
                c.readable = false;
                ReadOutcome::Idle
            }
            Err(e) if interrupted(&e) => {
                self.spares.extend(blocks);
                ReadOutcome::More
            }
            Err(e) => {
                self.spares.extend(blocks);
                self.fail(i, close_reason(&e));
                ReadOutcome::Failed
            }
        }
    }
}
