//! The elastic thread's configuration: batching, idling, bookkeeping bounds.

use crate::error::RuntimeError;
use std::time::Duration;

/// How an idle elastic thread backs off (a core shared with others needs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdlePolicy {
    /// Empty polls spent spinning before yielding the core.
    pub spin_polls: u32,
    /// Further empty polls each followed by `std::thread::yield_now`.
    pub yield_polls: u32,
    /// After both, the sleep after every empty poll (zero: keep yielding).
    pub sleep: Duration,
}

impl IdlePolicy {
    /// Never yields: the thread owns its core (IX's dedicated-core mode).
    pub const SPIN: IdlePolicy = IdlePolicy {
        spin_polls: u32::MAX,
        yield_polls: 0,
        sleep: Duration::ZERO,
    };
}

impl Default for IdlePolicy {
    /// Spin 1024 empty polls, yield for 4096 more, then sleep 50 µs per poll.
    fn default() -> Self {
        IdlePolicy {
            spin_polls: 1024,
            yield_polls: 4096,
            sleep: Duration::from_micros(50),
        }
    }
}

/// What to do when the application panics in its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanicPolicy {
    /// Reset the connections of the batch, count and log it, carry on.
    ResetAndContinue,
    /// Reset them, mark the instance failed and stop the thread.
    FailInstance,
}

/// One elastic thread's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Index of this thread among the instance's (names it in logs and flow groups).
    pub thread: usize,
    /// Core to pin the thread to when spawned (`None`: leave the affinity alone).
    pub core: Option<usize>,
    /// Largest receive burst taken per iteration (bounded adaptive batching: what is
    /// queued, up to this, never waited for); 1..=64.
    pub batch: usize,
    /// Largest number of events handed to the application per iteration.
    pub max_events: usize,
    /// Largest number of calls the application can make per iteration (at least
    /// `max_events`: every event may need an answer).
    pub max_calls: usize,
    /// Application timers armed at once.
    pub max_timers: usize,
    /// Granularity of application timers.
    pub timer_tick: Duration,
    /// Flow groups (IX): a power of two; flows hash into them, groups map to threads.
    pub flow_groups: usize,
    /// Threads of the instance (groups are spread over them).
    pub threads: usize,
    /// Idle back-off.
    pub idle: IdlePolicy,
    /// How often statistics are published to outside readers.
    pub stats_interval: Duration,
    /// Iterations between checks of the control channel.
    pub control_every: u32,
    /// What a panicking handler costs.
    pub panic_policy: PanicPolicy,
}

impl Default for RuntimeConfig {
    /// Thread 0 of 1, unpinned, bursts of 64, 256 events and 4096 calls per batch,
    /// 4096 timers at 100 µs, 128 flow groups, default back-off, stats every 100 ms,
    /// control checked every 64 iterations, panics reset and continue.
    fn default() -> Self {
        RuntimeConfig {
            thread: 0,
            core: None,
            batch: ix_nic::BURST,
            max_events: 256,
            max_calls: 4096,
            max_timers: 4096,
            timer_tick: Duration::from_micros(100),
            flow_groups: 128,
            threads: 1,
            idle: IdlePolicy::default(),
            stats_interval: Duration::from_millis(100),
            control_every: 64,
            panic_policy: PanicPolicy::ResetAndContinue,
        }
    }
}

impl RuntimeConfig {
    /// Checks the configuration can work.
    pub fn validate(&self) -> Result<(), RuntimeError> {
        let bad = |what: &'static str| Err(RuntimeError::Config(what));
        if self.batch == 0 || self.batch > ix_nic::BURST {
            return bad("batch must be in 1..=64");
        }
        if self.max_events == 0 || self.max_calls < self.max_events {
            return bad("max_events must be >= 1 and max_calls >= max_events");
        }
        if self.max_timers == 0 || self.timer_tick.is_zero() {
            return bad("max_timers and timer_tick must be > 0");
        }
        if !self.flow_groups.is_power_of_two() || self.flow_groups > 1 << 16 {
            return bad("flow_groups must be a power of two up to 65536");
        }
        if self.threads == 0 || self.thread >= self.threads || self.threads > self.flow_groups {
            return bad("need thread < threads <= flow_groups");
        }
        if self.control_every == 0 {
            return bad("control_every must be >= 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_nonsense_is_named() {
        assert!(RuntimeConfig::default().validate().is_ok());
        for bad in [
            RuntimeConfig {
                batch: 65,
                ..RuntimeConfig::default()
            },
            RuntimeConfig {
                flow_groups: 100,
                ..RuntimeConfig::default()
            },
            RuntimeConfig {
                max_calls: 1,
                ..RuntimeConfig::default()
            },
            RuntimeConfig {
                thread: 1,
                ..RuntimeConfig::default()
            },
        ] {
            assert!(matches!(bad.validate(), Err(RuntimeError::Config(_))));
        }
    }
}
