//! The share of its core a role's busy-polling loop actually got.

use std::time::Instant;

/// How much CPU time this thread got over a span of wall time: the share of
/// its core a busy-polling loop actually ran (the rest it waited for other
/// work on the same core). From `/proc/thread-self/schedstat`.
pub(super) struct CpuMeter {
    cpu_ns: Option<u64>,
    wall: Instant,
}

impl CpuMeter {
    /// Starts measuring now, on the calling thread.
    pub(super) fn start() -> CpuMeter {
        CpuMeter {
            cpu_ns: thread_cpu_ns(),
            wall: Instant::now(),
        }
    }

    /// Percent of the wall time since `start` this thread ran; "-" if unknown.
    pub(super) fn percent(&self) -> String {
        let wall = self.wall.elapsed().as_nanos() as f64;
        match (self.cpu_ns, thread_cpu_ns()) {
            (Some(a), Some(b)) if wall > 0.0 => {
                format!("{:.1}", (b.saturating_sub(a)) as f64 * 100.0 / wall)
            }
            _ => "-".to_owned(),
        }
    }
}

/// Nanoseconds this thread has run on a CPU (first field of its schedstat).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
