//! What every connection's code needs from its engine besides the connection itself:
//! configuration, counters, the time, the credit ledger, the timer wheel and the work
//! lists. Kept apart from the connection table so a connection and this can be
//! borrowed mutably at once.

use crate::config::TcpConfig;
use crate::events::SlotQueue;
use crate::stats::{Counter, TcpStats};
use ix_nic::{CreditLedger, Instant};
use ix_timer::TimerWheel;
use std::net::Ipv4Addr;
use std::rc::Rc;

/// Challenge ACKs sent per second at most (RFC 5961 section 7's global limit).
const CHALLENGE_ACKS_PER_SEC: u32 = 1000;

/// Engine-wide state shared by all connections of one core.
#[derive(Debug)]
pub(crate) struct Core {
    pub cfg: TcpConfig,
    pub stats: TcpStats,
    /// The time of the current step (from the interface's clock).
    pub now: Instant,
    /// Our address (learned from the interface on its first call).
    pub local: Ipv4Addr,
    pub ledger: Rc<CreditLedger>,
    pub wheel: TimerWheel<u64>,
    /// Slots with events for the application.
    pub ready: SlotQueue,
    /// Slots with something to transmit.
    pub txq: SlotQueue,
    /// Out-of-order payload bytes held by all connections.
    pub ooo_bytes: usize,
    challenge_window: u64,
    challenge_sent: u32,
}

impl Core {
    /// Engine state for `cfg` (validated), allocating every table now.
    pub fn new(cfg: TcpConfig) -> Self {
        let slots = cfg.max_conns;
        Core {
            stats: TcpStats::new(),
            now: Instant::ZERO,
            local: Ipv4Addr::UNSPECIFIED,
            ledger: CreditLedger::new(slots),
            // One timer per connection slot.
            wheel: TimerWheel::new(slots, cfg.timer_tick, Instant::ZERO),
            ready: SlotQueue::new(slots),
            txq: SlotQueue::new(slots),
            ooo_bytes: 0,
            challenge_window: 0,
            challenge_sent: 0,
            cfg,
        }
    }

    /// Counts `c`.
    #[inline]
    pub fn count(&mut self, c: Counter) {
        self.stats.count(c);
    }

    /// Whether another challenge ACK may go out now (and counts it if so).
    pub fn challenge_ok(&mut self) -> bool {
        let sec = self.now.as_nanos() / 1_000_000_000;
        if sec != self.challenge_window {
            self.challenge_window = sec;
            self.challenge_sent = 0;
        }
        if self.challenge_sent >= CHALLENGE_ACKS_PER_SEC {
            return false;
        }
        self.challenge_sent += 1;
        self.stats.count(Counter::ChallengeAcks);
        true
    }
}
