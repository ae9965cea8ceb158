//! States of outgoing connections between the `connect` call and its completion,
//! in a fixed table indexed by the connect cookie.

/// A bounded table of states waiting for their connection id.
#[derive(Debug)]
pub struct Pending<S> {
    slots: Vec<Option<S>>,
    free: Vec<u32>,
}

impl<S> Pending<S> {
    /// A table for `n` connects in progress at once; allocates now.
    pub(crate) fn new(n: usize) -> Self {
        Pending {
            slots: (0..n).map(|_| None).collect(),
            free: (0..n as u32).rev().collect(),
        }
    }

    /// Stores `state`; its cookie, or `None` when the table is full.
    pub(crate) fn put(&mut self, state: S) -> Option<u64> {
        let i = self.free.pop()?;
        if let Some(s) = self.slots.get_mut(i as usize) {
            *s = Some(state);
        }
        Some(u64::from(i))
    }

    /// Takes the state stored under `cookie`.
    pub(crate) fn take(&mut self, cookie: u64) -> Option<S> {
        let i = u32::try_from(cookie).ok()?;
        let s = self.slots.get_mut(i as usize)?.take()?;
        self.free.push(i);
        Some(s)
    }
}
