//! [`StopHandle`]: how loops of the kernel transport are told to stop from another
//! thread (a flag, and each loop's epoll waker so a sleeping loop notices at once).

use mio::Waker;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What clones of a [`StopHandle`] share: the flag and the wakers of the loops
/// registered so far.
#[derive(Default)]
struct StopInner {
    stopped: AtomicBool,
    wakers: Mutex<Vec<Arc<Waker>>>,
}

/// Stops kernel-transport loops from any thread: sets a flag and wakes every loop
/// registered with it out of `epoll_wait`. Clones share the flag.
#[derive(Clone, Default)]
pub struct StopHandle(Arc<StopInner>);

impl core::fmt::Debug for StopHandle {
    /// Whether it was stopped.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StopHandle")
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

impl StopHandle {
    /// A handle not yet stopped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells every loop to stop (each finishes its iteration first).
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        let wakers = self.0.wakers.lock().unwrap_or_else(|e| e.into_inner());
        for w in wakers.iter() {
            let _ = w.wake();
        }
    }

    /// Whether [`StopHandle::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    /// Registers a loop's waker (woken at once if already stopped).
    pub(super) fn register(&self, w: Arc<Waker>) {
        let mut wakers = self.0.wakers.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_stopped() {
            let _ = w.wake();
        }
        wakers.push(w);
    }
}
