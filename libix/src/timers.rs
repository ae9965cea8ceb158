//! Application timers, shared by every transport: libix [`TimerId`]s over one
//! `ix-timer` wheel, in a slab of fixed size (arming never allocates; a full table
//! refuses).

use crate::error::CallError;
use crate::event::{Event, EventBatch};
use crate::id::TimerId;
use ix_nic::{BufPool, Instant};
use ix_timer::TimerWheel;
use std::time::Duration;

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    gen: u32,
    armed: Option<ix_timer::TimerId>,
    token: u64,
}

/// The application's timers (one table per elastic or kernel thread).
#[derive(Debug)]
pub struct AppTimers {
    wheel: TimerWheel<u32>,
    slots: Vec<Entry>,
    free: Vec<u32>,
}

impl AppTimers {
    /// Room for `n` armed timers at resolution `tick`, time starting at `now`.
    pub fn new(n: usize, tick: Duration, now: Instant) -> Self {
        AppTimers {
            wheel: TimerWheel::new(n, tick, now),
            slots: vec![Entry::default(); n],
            free: (0..n as u32).rev().collect(),
        }
    }

    /// Arms a timer firing at `deadline` with `token`.
    pub fn arm(&mut self, token: u64, deadline: Instant) -> Result<TimerId, CallError> {
        let slot = self.free.pop().ok_or(CallError::TooManyTimers)?;
        let Some(e) = self.slots.get_mut(slot as usize) else {
            return Err(CallError::TooManyTimers);
        };
        match self.wheel.arm(deadline, slot) {
            Ok(id) => {
                e.armed = Some(id);
                e.token = token;
                Ok(TimerId::new(slot, e.gen))
            }
            Err(_) => {
                self.free.push(slot);
                Err(CallError::TooManyTimers)
            }
        }
    }

    /// Disarms `id`; `NoSuchTimer` if it fired or was cancelled already.
    pub fn cancel(&mut self, id: TimerId) -> Result<(), CallError> {
        let e = self
            .slots
            .get_mut(id.index())
            .filter(|e| e.gen == id.generation())
            .ok_or(CallError::NoSuchTimer)?;
        let armed = e.armed.take().ok_or(CallError::NoSuchTimer)?;
        self.wheel.cancel(armed);
        e.gen = e.gen.wrapping_add(1);
        self.free.push(id.index() as u32);
        Ok(())
    }

    /// The next timer due at `now`, with its token (it is disarmed).
    pub fn poll(&mut self, now: Instant) -> Option<(TimerId, u64)> {
        loop {
            let (wid, slot) = self.wheel.poll(now)?;
            let Some(e) = self.slots.get_mut(slot as usize) else {
                continue;
            };
            if e.armed != Some(wid) {
                continue;
            }
            e.armed = None;
            let id = TimerId::new(slot, e.gen);
            e.gen = e.gen.wrapping_add(1);
            self.free.push(slot);
            return Some((id, e.token));
        }
    }

    /// Moves the timers due at `now` into `batch` as `Timer` events while it has
    /// room (the rest stay due for the next call); returns how many.
    pub fn fire_into<P: BufPool>(&mut self, now: Instant, batch: &mut EventBatch<P>) -> usize {
        let mut n = 0;
        while batch.room() > 0 {
            let Some((id, token)) = self.poll(now) else {
                break;
            };
            let _ = batch.push(Event::Timer { id, token });
            n += 1;
        }
        n
    }

    /// When the next timer may be due (a lower bound), if any is armed.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.wheel.next_deadline()
    }

    /// Timers armed now.
    pub fn armed(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timers fire once, cancel once, refuse stale ids, and a full table refuses.
    #[test]
    fn fire_cancel_and_refuse_stale_ids() {
        let mut t = AppTimers::new(2, Duration::from_micros(100), Instant::ZERO);
        let a = t.arm(7, Instant::from_millis(1)).unwrap();
        let b = t.arm(8, Instant::from_millis(2)).unwrap();
        assert_eq!(
            t.arm(9, Instant::from_millis(3)),
            Err(CallError::TooManyTimers)
        );
        assert!(t.next_deadline().is_some());
        t.cancel(b).unwrap();
        assert_eq!(t.cancel(b), Err(CallError::NoSuchTimer));
        assert_eq!(t.poll(Instant::from_millis(5)), Some((a, 7)));
        assert_eq!(t.poll(Instant::from_millis(5)), None);
        assert_eq!(t.cancel(a), Err(CallError::NoSuchTimer));
        assert_eq!(t.armed(), 0);
        assert_eq!(t.next_deadline(), None);
    }

    /// `fire_into` moves due timers only while the batch has room; the rest stay due.
    #[test]
    fn fire_into_moves_due_timers_while_the_batch_has_room() {
        use ix_nic::heap::HeapPool;
        let mut t = AppTimers::new(4, Duration::from_micros(100), Instant::ZERO);
        let ids: Vec<TimerId> = (0..3)
            .map(|k| t.arm(k, Instant::from_millis(1)).unwrap())
            .collect();
        t.arm(9, Instant::from_millis(50)).unwrap();
        let mut batch = EventBatch::<HeapPool>::new(2, 1);
        assert_eq!(t.fire_into(Instant::from_millis(5), &mut batch), 2);
        let mut fired: Vec<(TimerId, u64)> = batch
            .drain()
            .map(|ev| match ev {
                Event::Timer { id, token } => (id, token),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            t.fire_into(Instant::from_millis(5), &mut batch),
            1,
            "the rest stayed due"
        );
        assert_eq!(
            t.fire_into(Instant::from_millis(5), &mut batch),
            0,
            "batch full"
        );
        for ev in batch.drain() {
            if let Event::Timer { id, token } = ev {
                fired.push((id, token));
            }
        }
        fired.sort_by_key(|&(_, token)| token);
        assert_eq!(fired, vec![(ids[0], 0), (ids[1], 1), (ids[2], 2)]);
        assert_eq!(t.armed(), 1, "the later timer is still armed");
    }
}
