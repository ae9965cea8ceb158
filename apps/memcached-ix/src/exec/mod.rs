//! Executing requests: typed commands against the store, responses into the
//! connection's [`Out`]. One file per protocol; this one holds what they share,
//! the storage command whose value is being received ([`Pending`]).

mod admin;
mod bin;
mod meta;
mod stats;
mod text;

pub use bin::{bin_error, binary};
pub use text::text_line;

use crate::binary::Header;
use crate::out::Out;
use crate::stats::{Stats, ThreadStats};
use crate::store::ops::StoreReq;
use crate::store::{Mode, Store, StoreOutcome, ValueBuilder};
use ix_nic::BufPool;

/// What one request needs: the store, the response queue and its pool, counters,
/// the time.
pub struct Ctx<'a, P: BufPool, SP: BufPool<Shared = P::Shared>> {
    /// The shared store.
    pub store: &'a Store<SP>,
    /// The transport's pool (response text buffers).
    pub pool: &'a P,
    /// The connection's responses.
    pub out: &'a mut Out<P>,
    /// Server-wide counters and settings.
    pub stats: &'a Stats,
    /// This thread's counters.
    pub thread: &'a ThreadStats,
    /// The store's relative time now.
    pub now: u32,
}

impl<P: BufPool, SP: BufPool<Shared = P::Shared>> core::fmt::Debug for Ctx<'_, P, SP> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ctx")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl<P: BufPool, SP: BufPool<Shared = P::Shared>> Ctx<'_, P, SP> {
    /// Queues `s` (a failure marks the queue failed: the connection closes).
    pub fn put(&mut self, s: &[u8]) {
        let _ = self.out.text(self.pool, s);
    }

    /// Queues `s` and "\r\n".
    pub fn line(&mut self, s: &str) {
        self.put(s.as_bytes());
        self.put(b"\r\n");
    }

    /// Queues formatted text.
    pub fn fmt(&mut self, args: core::fmt::Arguments<'_>) {
        let _ = self.out.fmt(self.pool, args);
    }
}

/// What the connection does after a request.
#[derive(Debug)]
pub enum Next<SP: BufPool> {
    /// Read the next request.
    Continue,
    /// Close once the responses are sent.
    Close,
    /// Skip this many bytes (a refused value and its "\r\n").
    Swallow(usize),
    /// Receive a value.
    Data(Box<Pending<SP>>),
    /// Read this many bytes of a binary body.
    BinBody(Header, usize),
}

impl<SP: BufPool> Next<SP> {
    /// The same, but closing afterwards.
    pub fn then_close(self) -> Self {
        Next::Close
    }
}

/// Where a storage command came from (how to answer it).
#[derive(Debug)]
pub enum Origin {
    /// Text protocol.
    Text {
        /// No reply wanted.
        noreply: bool,
        /// It was `cas`.
        is_cas: bool,
    },
    /// Meta `ms`: its request line (flags are echoed from it).
    Meta {
        /// The request line.
        line: Vec<u8>,
    },
    /// Binary protocol.
    Binary {
        /// The request header.
        header: Header,
        /// Success is not answered.
        quiet: bool,
    },
}

/// A storage command whose value is arriving.
#[derive(Debug)]
pub struct Pending<SP: BufPool> {
    origin: Origin,
    key: Vec<u8>,
    mode: Mode,
    flags: u32,
    exptime: u32,
    cas: u64,
    builder: Option<ValueBuilder<SP>>,
    value_left: usize,
    crlf: [u8; 2],
    crlf_got: usize,
    crlf_want: usize,
    nomem: bool,
    invalidate: bool,
}

impl<SP: BufPool> Pending<SP> {
    /// A command expecting `len` value bytes (plus "\r\n" unless binary).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        origin: Origin,
        key: &[u8],
        mode: Mode,
        flags: u32,
        exptime: u32,
        cas: u64,
        len: usize,
        block: usize,
    ) -> Box<Self> {
        let crlf_want = if matches!(origin, Origin::Binary { .. }) {
            0
        } else {
            2
        };
        Box::new(Pending {
            origin,
            key: key.to_vec(),
            mode,
            flags,
            exptime,
            cas,
            builder: Some(ValueBuilder::new(len, block)),
            value_left: len,
            crlf: [0; 2],
            crlf_got: 0,
            crlf_want,
            nomem: false,
            invalidate: false,
        })
    }

    /// Meta `ms I`: a lower CAS stores the value as stale
    /// ([`Store::store_invalidating`]).
    pub fn invalidate(&mut self, on: bool) {
        self.invalidate = on;
    }

    /// Whether everything has arrived.
    pub fn complete(&self) -> bool {
        self.value_left == 0 && self.crlf_got == self.crlf_want
    }

    /// Takes value bytes from `data` into store buffers (evicting when the store's
    /// pool is dry); returns (bytes consumed, complete).
    pub fn take<P: BufPool<Shared = SP::Shared>>(
        &mut self,
        data: &[u8],
        cx: &mut Ctx<'_, P, SP>,
    ) -> (usize, bool) {
        let k = self.value_left.min(data.len());
        let mut chunk = &data[..k];
        // The store's one copy of a value (received segments into its buffers):
        // reported where the runtime counts payload copies, so that a GET-only
        // phase showing no copies says something.
        while let Some(b) = self.builder.as_mut() {
            match b.push(cx.store.pool(), chunk) {
                Ok(()) => {
                    ix_nic::copy::count(chunk.len());
                    break;
                }
                Err((n, _)) => {
                    ix_nic::copy::count(n);
                    chunk = &chunk[n..];
                    if !cx.store.free_buffers(cx.now) {
                        self.nomem = true;
                        self.builder = None;
                    }
                }
            }
        }
        self.value_left -= k;
        let mut used = k;
        while self.value_left == 0 && self.crlf_got < self.crlf_want && used < data.len() {
            self.crlf[self.crlf_got] = data[used];
            self.crlf_got += 1;
            used += 1;
        }
        (used, self.complete())
    }
}

/// Stores a completed value and answers.
pub fn finish_store<P, SP>(p: Pending<SP>, cx: &mut Ctx<'_, P, SP>) -> Next<SP>
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    ThreadStats::add(&cx.thread.cmd_set, 1);
    let bad_chunk = p.crlf_want == 2 && &p.crlf != b"\r\n";
    let outcome = match (&p.builder, bad_chunk) {
        (_, true) => None,
        (None, false) => Some(StoreOutcome::NoMemory),
        (Some(_), false) => {
            let value = p.builder.map(ValueBuilder::finish).unwrap_or_default();
            Some(cx.store.store_invalidating(
                StoreReq {
                    mode: p.mode,
                    key: &p.key,
                    flags: p.flags,
                    exptime: p.exptime,
                    value,
                    cas: p.cas,
                },
                p.invalidate,
                cx.now,
            ))
        }
    };
    if p.cas != 0 {
        let c = match outcome {
            Some(StoreOutcome::Stored(_)) => Some(&cx.thread.cas_hits),
            Some(StoreOutcome::Exists) => Some(&cx.thread.cas_badval),
            Some(StoreOutcome::NotFound) => Some(&cx.thread.cas_misses),
            _ => None,
        };
        if let Some(c) = c {
            ThreadStats::add(c, 1);
        }
    }
    match p.origin {
        Origin::Text { noreply, is_cas } => {
            text::store_reply(outcome, noreply, is_cas, cx);
            Next::Continue
        }
        Origin::Meta { line } => {
            meta::store_reply(&line, &p.key, outcome, cx);
            Next::Continue
        }
        Origin::Binary { header, quiet } => bin::store_reply(&header, p.mode, quiet, outcome, cx),
    }
}
