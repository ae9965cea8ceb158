//! [`Out`]: one connection's queue of response pieces, all by reference: text
//! (headers, status lines) packed into small pool buffers, values as the store's
//! own buffers. Nothing of a value is ever copied here.

use crate::store::Value;
use core::ops::Range;
use ix_nic::{BufPool, MutBuf, NoBuffers, SharedBuf};
use std::collections::VecDeque;

/// Bytes queued and not yet handed to the transport beyond which a connection
/// stops reading requests (flow control: a client that does not read its
/// responses stops being served instead of growing the queue).
pub const OUT_BYTES_BOUND: usize = 256 * 1024;

/// Pieces queued beyond which the connection stops reading requests.
pub const OUT_PIECES_BOUND: usize = 4096;

/// The response queue of one connection.
pub struct Out<P: BufPool> {
    cur: Option<P::Mut>,
    queue: VecDeque<(P::Shared, Range<usize>)>,
    bytes: usize,
    failed: bool,
}

impl<P: BufPool> core::fmt::Debug for Out<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Out")
            .field("queued", &self.queue.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl<P: BufPool> Default for Out<P> {
    fn default() -> Self {
        Out {
            cur: None,
            queue: VecDeque::new(),
            bytes: 0,
            failed: false,
        }
    }
}

impl<P: BufPool> Out<P> {
    /// Appends text, packing it into the current text buffer (new ones from `pool`
    /// as needed). On `NoBuffers` the connection must be closed: a response lost
    /// part-way cannot be repaired.
    pub fn text(&mut self, pool: &P, mut bytes: &[u8]) -> Result<(), NoBuffers> {
        while !bytes.is_empty() {
            if self.cur.as_ref().is_none_or(|m| m.spare() == 0) {
                self.seal();
                match pool.alloc_mut() {
                    Ok(m) => self.cur = Some(m),
                    Err(e) => {
                        self.failed = true;
                        return Err(e);
                    }
                }
            }
            let Some(m) = self.cur.as_mut() else {
                return Err(NoBuffers);
            };
            let n = m.extend_from_slice(bytes);
            if n == 0 {
                self.failed = true;
                return Err(NoBuffers);
            }
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// Appends formatted text (no allocation: written straight into buffers).
    pub fn fmt(&mut self, pool: &P, args: core::fmt::Arguments<'_>) -> Result<(), NoBuffers> {
        struct W<'a, P: BufPool> {
            out: &'a mut Out<P>,
            pool: &'a P,
        }
        impl<P: BufPool> core::fmt::Write for W<'_, P> {
            fn write_str(&mut self, s: &str) -> core::fmt::Result {
                self.out
                    .text(self.pool, s.as_bytes())
                    .map_err(|_| core::fmt::Error)
            }
        }
        let mut w = W { out: self, pool };
        core::fmt::write(&mut w, args).map_err(|_| NoBuffers)
    }

    /// Appends a value by reference (its buffers, not a copy of its bytes).
    pub fn value<S>(&mut self, v: &Value<S>)
    where
        S: SharedBuf,
        P: BufPool<Shared = S>,
    {
        if v.is_empty() {
            return;
        }
        self.seal();
        for (buf, r) in v.pieces() {
            self.bytes += r.len();
            self.queue.push_back((buf.clone(), r.clone()));
        }
    }

    /// Freezes the current text buffer into the queue (call before sending).
    pub fn seal(&mut self) {
        if let Some(m) = self.cur.take() {
            let n = m.data().len();
            if n > 0 {
                self.bytes += n;
                self.queue.push_back((m.freeze(), 0..n));
            }
        }
    }

    /// Whether the queue is over its bounds (stop reading requests).
    pub fn over_bound(&self) -> bool {
        self.bytes > OUT_BYTES_BOUND || self.queue.len() > OUT_PIECES_BOUND
    }

    /// Whether a text buffer could not be had (the connection must close).
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Bytes queued (sealed) and not yet taken.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is queued or being written.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.cur.as_ref().is_none_or(|m| m.data().is_empty())
    }

    /// Takes the oldest sealed piece.
    pub fn pop(&mut self) -> Option<(P::Shared, Range<usize>)> {
        let p = self.queue.pop_front()?;
        self.bytes -= p.1.len();
        Some(p)
    }

    /// Puts a piece back at the front (the transport had no room for it).
    pub fn unpop(&mut self, piece: (P::Shared, Range<usize>)) {
        self.bytes += piece.1.len();
        self.queue.push_front(piece);
    }

    /// The sealed pieces' bytes in order (tests: what the peer would receive).
    pub fn drain_bytes(&mut self) -> Vec<u8> {
        self.seal();
        let mut v = Vec::new();
        while let Some((b, r)) = self.pop() {
            v.extend_from_slice(&b.data()[r]);
        }
        v
    }
}

/// Appends `format_args!` text to an [`Out`].
#[macro_export]
macro_rules! outf {
    ($out:expr, $pool:expr, $($arg:tt)*) => {
        $out.fmt($pool, format_args!($($arg)*))
    };
}
