//! [`Value`]: an item's bytes as a chain of frozen buffer ranges, and
//! [`ValueBuilder`], which fills one from received bytes (the store's one copy).

use core::ops::Range;
use ix_nic::{BufPool, MutBuf, NoBuffers, SharedBuf};

/// An immutable value: ranges of shared buffers in order. Cloning takes references
/// (no byte is copied); a GET sends the pieces as they are.
#[derive(Debug, Clone)]
pub struct Value<S: SharedBuf> {
    pieces: Vec<(S, Range<usize>)>,
    len: usize,
}

impl<S: SharedBuf> Default for Value<S> {
    fn default() -> Self {
        Value {
            pieces: Vec::new(),
            len: 0,
        }
    }
}

impl<S: SharedBuf> Value<S> {
    /// The value's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pieces in order (buffer, range within it); empty ranges never appear.
    pub fn pieces(&self) -> &[(S, Range<usize>)] {
        &self.pieces
    }

    /// `a` followed by `b`, by reference (append/prepend copy nothing).
    pub fn concat(a: &Value<S>, b: &Value<S>) -> Value<S> {
        let mut pieces = Vec::with_capacity(a.pieces.len() + b.pieces.len());
        pieces.extend(a.pieces.iter().cloned());
        pieces.extend(b.pieces.iter().cloned());
        Value {
            pieces,
            len: a.len + b.len,
        }
    }

    /// Copies up to `dst.len()` leading bytes into `dst` (for incr/decr, which read
    /// at most 20 digits); returns how many.
    pub fn copy_prefix(&self, dst: &mut [u8]) -> usize {
        let mut n = 0;
        for (buf, r) in &self.pieces {
            if n == dst.len() {
                break;
            }
            let src = &buf.data()[r.clone()];
            let k = src.len().min(dst.len() - n);
            dst[n..n + k].copy_from_slice(&src[..k]);
            n += k;
        }
        n
    }

    /// The whole value as one vector (tests and diagnostics only: a copy).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len);
        for (buf, r) in &self.pieces {
            v.extend_from_slice(&buf.data()[r.clone()]);
        }
        v
    }

    /// Distinct pool buffers the value holds (for memory accounting).
    pub fn buffers(&self) -> usize {
        self.pieces.len()
    }
}

/// Fills a [`Value`] from byte slices, a pool buffer at a time.
pub struct ValueBuilder<P: BufPool> {
    pieces: Vec<(P::Shared, Range<usize>)>,
    cur: Option<P::Mut>,
    len: usize,
}

impl<P: BufPool> core::fmt::Debug for ValueBuilder<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ValueBuilder")
            .field("len", &self.len)
            .field("pieces", &self.pieces.len())
            .finish()
    }
}

impl<P: BufPool> ValueBuilder<P> {
    /// An empty builder expecting about `expected` bytes (reserves the piece list).
    pub fn new(expected: usize, block: usize) -> Self {
        ValueBuilder {
            pieces: Vec::with_capacity(expected.div_ceil(block.max(1)).min(4096)),
            cur: None,
            len: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `bytes`, taking new buffers from `pool` as they fill; on
    /// `NoBuffers` the bytes written before the failure stay written and the
    /// returned error says how many of `bytes` were taken.
    pub fn push(&mut self, pool: &P, mut bytes: &[u8]) -> Result<(), (usize, NoBuffers)> {
        let total = bytes.len();
        while !bytes.is_empty() {
            let full = self.cur.as_ref().is_none_or(|m| m.spare() == 0);
            if full {
                self.seal();
                match pool.alloc_mut() {
                    Ok(m) => self.cur = Some(m),
                    Err(e) => return Err((total - bytes.len(), e)),
                }
            }
            let Some(m) = self.cur.as_mut() else {
                return Err((total - bytes.len(), NoBuffers));
            };
            let n = m.extend_from_slice(bytes);
            if n == 0 {
                // A pool whose buffers hold nothing: refuse rather than spin.
                return Err((total - bytes.len(), NoBuffers));
            }
            self.len += n;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    fn seal(&mut self) {
        if let Some(m) = self.cur.take() {
            let n = m.data().len();
            if n > 0 {
                self.pieces.push((m.freeze(), 0..n));
            }
        }
    }

    /// The finished value.
    pub fn finish(mut self) -> Value<P::Shared> {
        self.seal();
        Value {
            pieces: self.pieces,
            len: self.len,
        }
    }

    /// A value holding `bytes` (one step: new, push, finish).
    pub fn from_bytes(pool: &P, bytes: &[u8]) -> Result<Value<P::Shared>, NoBuffers> {
        let mut b = ValueBuilder::<P>::new(bytes.len(), pool.buf_capacity());
        b.push(pool, bytes).map_err(|(_, e)| e)?;
        Ok(b.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ix_nic::heap::HeapPool;

    #[test]
    fn builds_across_buffers_and_concatenates_by_reference() {
        let pool = HeapPool::new(16, 4);
        let mut b = ValueBuilder::<HeapPool>::new(10, 4);
        b.push(&pool, b"hello").unwrap();
        b.push(&pool, b" world").unwrap();
        let v = b.finish();
        assert_eq!(v.len(), 11);
        assert_eq!(v.buffers(), 3);
        assert_eq!(v.to_vec(), b"hello world");
        let w = Value::concat(&v, &v);
        assert_eq!(w.to_vec(), b"hello worldhello world");
        assert_eq!(pool.stats().in_use(), 3, "concat shares the buffers");
        let mut d = [0u8; 7];
        assert_eq!(w.copy_prefix(&mut d), 7);
        assert_eq!(&d, b"hello w");
    }

    #[test]
    fn a_dry_pool_is_reported_not_hidden() {
        let pool = HeapPool::new(1, 4);
        let mut b = ValueBuilder::<HeapPool>::new(10, 4);
        let err = b.push(&pool, b"hello").unwrap_err();
        assert_eq!(err.0, 4);
        drop(b);
        assert_eq!(pool.stats().in_use(), 0);
    }
}
