//! Handles the application holds: connections and timers, each a slot plus a
//! generation so a handle kept after its object died is refused, never misdirected.

use core::fmt;

/// A connection as libix names it: a dense slot index and that slot's generation.
///
/// Transports issue these; an application compares and stores them and may use
/// [`ConnId::index`] to index its own per-connection array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    index: u32,
    gen: u32,
}

impl ConnId {
    /// The id of slot `index` in generation `generation` (for transports).
    pub const fn new(index: u32, generation: u32) -> Self {
        ConnId {
            index,
            gen: generation,
        }
    }

    /// The slot index: dense, below the transport's connection limit.
    pub const fn index(self) -> usize {
        self.index as usize
    }

    /// The slot's generation when this id was issued.
    pub const fn generation(self) -> u32 {
        self.gen
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.index, self.gen)
    }
}

/// An armed application timer: a slot index and generation (stale ids are refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerId {
    index: u32,
    gen: u32,
}

impl TimerId {
    /// The id of timer slot `index` in generation `generation` (for transports).
    pub const fn new(index: u32, generation: u32) -> Self {
        TimerId {
            index,
            gen: generation,
        }
    }

    /// The slot index.
    pub const fn index(self) -> usize {
        self.index as usize
    }

    /// The slot's generation when armed.
    pub const fn generation(self) -> u32 {
        self.gen
    }
}
