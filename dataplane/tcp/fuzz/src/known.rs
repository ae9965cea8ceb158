//! Defects these targets found in `ix-tcp` that are not fixed yet.
//!
//! Each is tolerated, narrowly, so that fuzzing goes on past it instead of stopping
//! at the same crash every run; `src/regressions.rs` reproduces each as an ignored
//! test that asserts the right behaviour (the tolerance is off there). When one is
//! fixed: set its flag to `false` and un-ignore its test.

/// Out-of-order data held beyond a gap is kept, and reported in SACK blocks, after
/// a FIN below it is processed: the peer sends 20 bytes at RCV.NXT + 9 (held, SACKed
/// as `[RCV.NXT+9, RCV.NXT+29)`), then 8 bytes at RCV.NXT with FIN. The FIN takes
/// RCV.NXT to the held data's first byte, and every later ACK carries ACK = N with
/// the SACK block `[N, N+20)`, a block that is not above the cumulative ACK (RFC
/// 2018 blocks describe data received beyond it), for bytes that can never be
/// delivered (they lie after the FIN); the held buffers stay until the connection
/// dies. Tolerated: a SACK block whose left edge equals the ACK, on a flow where
/// the peer sent a FIN.
pub const SACKS_DATA_PAST_FIN: bool = true;

/// A window update is taken from an ACK below SND.UNA, and applied from SND.UNA:
/// `process_ack` updates SND.WND whenever the SND.WL1/WL2 rule passes, but RFC
/// 9293 3.10.7.4 updates the window only if SND.UNA =< SEG.ACK =< SND.NXT (an older
/// ACK "can be ignored"). The window a segment advertises is relative to its own
/// ACK, so the engine then sends up to SND.UNA + SEG.WND, beyond the right edge the
/// peer advertised (SEG.ACK + SEG.WND). Seen: the peer sends new data with an ACK
/// 200 below SND.UNA and a 255-byte window; the engine sends 255 bytes from SND.UNA,
/// 200 past the peer's edge. Tolerated: data up to the peer's latest in-range ACK
/// plus the window of such an old ACK.
pub const WINDOW_FROM_OLD_ACK: bool = true;
