//! One connection's send side on the raw libix interface: which bytes of the
//! connection's pending output are in send calls not yet completed, and whether a
//! short send means waiting for the peer's acknowledgement.
//!
//! Bytes are copied from the connection's output into pool buffers (one call per
//! buffer) and sent by reference; a completion says how many bytes the stack took,
//! and only those leave the connection's output. A short send blocks the link until
//! a `Sent` event (later sends of the same batch fail with `EarlierSendShort` and are
//! offered again).

use crate::conn::Connection;
use ix_nic::{BufPool, MutBuf};
use libix::{CallError, Calls, ConnId};

/// Calls kept free in every batch for connects and closes.
const CALL_RESERVE: usize = 64;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// `connect` called, not established yet.
    Connecting,
    /// Established.
    Open,
    /// Our close is called (or it failed): its end is expected.
    Closing,
    /// Gone (dead, failed, or never opened).
    Gone,
}

/// The send side of one connection.
#[derive(Debug)]
pub struct Link {
    /// The stack's id, once the connect call completed.
    pub id: Option<ConnId>,
    /// Where it is.
    pub state: LinkState,
    /// Bytes from the front of the connection's pending output in send calls not
    /// yet completed.
    offered: usize,
    /// Send calls not yet completed.
    in_flight: usize,
    /// A send was short: nothing more until the peer acknowledges.
    blocked: bool,
}

/// What a completed send means for the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// `n` bytes left the connection's output.
    Took(usize),
    /// The stack refused the connection's sends for good.
    Failed(CallError),
}

impl Link {
    /// A connection being opened.
    pub fn connecting() -> Self {
        Link {
            id: None,
            state: LinkState::Connecting,
            offered: 0,
            in_flight: 0,
            blocked: false,
        }
    }

    /// Offers the connection's pending output not yet in a send call, a pool buffer
    /// per call; stops when blocked, when the batch is short of calls or when the
    /// pool is dry (returns false then: try again next batch).
    pub fn pump<P: BufPool>(&mut self, conn: &Connection, calls: &mut Calls<'_, P>) -> bool {
        let Some(id) = self.id else {
            return true;
        };
        if self.state != LinkState::Open || self.blocked {
            return true;
        }
        loop {
            let pending = conn.tx_pending();
            if self.offered >= pending.len() || calls.room() <= CALL_RESERVE {
                return true;
            }
            let Ok(mut buf) = calls.pool().alloc_mut() else {
                return false;
            };
            let n = buf.extend_from_slice(&pending[self.offered..]);
            if n == 0 {
                return false;
            }
            let shared = buf.freeze();
            if calls.send(id, &shared, 0..n).is_err() {
                return true;
            }
            self.offered += n;
            self.in_flight += 1;
        }
    }

    /// A send call of `requested` bytes completed with `result`.
    pub fn completed(&mut self, requested: usize, result: Result<usize, CallError>) -> SendOutcome {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.offered = self.offered.saturating_sub(requested);
        match result {
            Ok(n) => {
                if n < requested {
                    self.blocked = true;
                }
                SendOutcome::Took(n)
            }
            Err(CallError::EarlierSendShort) => SendOutcome::Took(0),
            Err(e) => {
                self.blocked = true;
                SendOutcome::Failed(e)
            }
        }
    }

    /// The peer acknowledged bytes: a short send may be retried.
    pub fn unblock(&mut self) {
        if self.in_flight == 0 {
            self.blocked = false;
            self.offered = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::Connection;
    use crate::dist::Distribution;
    use crate::protocol::Protocol;
    use crate::workload::{value_pool, RequestGen, Workload};
    use ix_nic::heap::HeapPool;
    use ix_nic::{Instant, SharedBuf};
    use libix::{Call, CallQueue};

    /// A loader with 20 sets of 100-byte values queued in its output.
    fn loader() -> Connection {
        let gen = RequestGen::new(
            Workload {
                keysize: Distribution::Fixed(10.0),
                valuesize: Distribution::Fixed(100.0),
                records: 20,
                update: 1.0,
            },
            1,
            value_pool(1),
        );
        let mut c = Connection::loader(Protocol::Ascii, 20, 0, 20, gen);
        c.tick(0);
        c
    }

    /// The pump's send calls: (bytes, requested length).
    fn sends(q: &mut CallQueue<HeapPool>) -> Vec<Vec<u8>> {
        q.drain()
            .map(|c| match c {
                Call::Send { buf, range, .. } => buf.data()[range].to_vec(),
                other => panic!("not a send: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn short_sends_block_and_the_untaken_bytes_are_offered_again_in_order() {
        let mut conn = loader();
        let stream = conn.tx_pending().to_vec();
        assert!(stream.len() > 3 * 512, "{} bytes", stream.len());
        // 512-byte buffers: the output goes in several calls per batch.
        let pool = HeapPool::new(64, 512);
        let mut q = CallQueue::new(256);
        let mut link = Link::connecting();
        link.id = Some(ConnId::new(3, 1));
        link.state = LinkState::Open;

        link.pump(&conn, &mut Calls::new(&mut q, &pool, Instant::ZERO));
        let first = sends(&mut q);
        assert_eq!(first.concat(), stream, "everything offered, in order");
        assert!(first.len() >= 4 && first[0].len() == 512);
        // Nothing more to offer until completions come back.
        link.pump(&conn, &mut Calls::new(&mut q, &pool, Instant::ZERO));
        assert!(sends(&mut q).is_empty());

        // The stack takes the first call whole, 100 bytes of the second, and none of
        // the rest (EarlierSendShort).
        let took = |o: SendOutcome| match o {
            SendOutcome::Took(n) => n,
            SendOutcome::Failed(e) => panic!("{e}"),
        };
        let mut taken = took(link.completed(first[0].len(), Ok(first[0].len())));
        taken += took(link.completed(first[1].len(), Ok(100)));
        for s in &first[2..] {
            taken += took(link.completed(s.len(), Err(CallError::EarlierSendShort)));
        }
        assert_eq!(taken, 512 + 100);
        conn.tx_advance(taken);
        // Blocked until the peer acknowledges.
        link.pump(&conn, &mut Calls::new(&mut q, &pool, Instant::ZERO));
        assert!(sends(&mut q).is_empty(), "a short send blocks the link");

        link.unblock();
        link.pump(&conn, &mut Calls::new(&mut q, &pool, Instant::ZERO));
        let again = sends(&mut q).concat();
        assert_eq!(
            again,
            stream[taken..],
            "the rest, from the first untaken byte"
        );
    }

    #[test]
    fn a_failed_send_is_reported_and_nothing_is_sent_before_the_link_is_open() {
        let conn = loader();
        let pool = HeapPool::new(8, 4096);
        let mut q = CallQueue::new(256);
        let mut link = Link::connecting();
        link.pump(&conn, &mut Calls::new(&mut q, &pool, Instant::ZERO));
        assert!(sends(&mut q).is_empty(), "no id yet");
        link.id = Some(ConnId::new(0, 0));
        link.pump(&conn, &mut Calls::new(&mut q, &pool, Instant::ZERO));
        assert!(sends(&mut q).is_empty(), "still connecting");
        link.state = LinkState::Open;
        link.pump(&conn, &mut Calls::new(&mut q, &pool, Instant::ZERO));
        let n = sends(&mut q).concat().len();
        assert_eq!(n, conn.tx_pending().len());
        assert_eq!(
            link.completed(n, Err(CallError::NoSuchConnection)),
            SendOutcome::Failed(CallError::NoSuchConnection)
        );
    }
}
