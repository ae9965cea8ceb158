//! epoll tokens of the kernel transport: which listener or connection slot (and
//! which generation of it) a readiness report is about, so a report for a slot
//! freed and reused since is recognised and dropped.

use mio::Token;

// Connection tokens carry a 32-bit slot index and a 32-bit generation.
const _: () = assert!(
    usize::BITS == 64,
    "the kernel transport needs 64-bit tokens"
);

/// The token of the thread's waker (the stop handle's way in).
pub(super) const WAKER: Token = Token(usize::MAX);

/// Tokens at or above this are connections (generation << 32 | slot); below it,
/// listener slots.
const CONN_TOKENS: usize = 1 << 32;

/// The token of connection slot `index` in generation `gen`; assumes `index` fits
/// in 32 bits (`KernelConfig::max_conns` < 2^31) and `gen` is never 0.
pub(super) fn conn_token(index: usize, gen: u32) -> Token {
    Token(((gen as usize) << 32) | index)
}

/// The slot index and generation a connection token names; `None` for the waker
/// and listener tokens (a listener's token is its slot index).
pub(super) fn token_conn(t: Token) -> Option<(usize, u32)> {
    (t.0 >= CONN_TOKENS && t != WAKER).then_some((t.0 & 0xffff_ffff, (t.0 >> 32) as u32))
}

/// The generation after `gen` (never 0, so a connection token is never below
/// [`CONN_TOKENS`]).
pub(super) fn next_gen(gen: u32) -> u32 {
    gen.wrapping_add(1).max(1)
}
