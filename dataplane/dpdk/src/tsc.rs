//! The time-stamp counter: cheap cycle-accurate time.

use std::time::Duration;

/// Reads the TSC (`rte_rdtsc`); assumes nothing (works on any thread).
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: rte_rdtsc only executes the rdtsc instruction.
    unsafe { dpdk_sys::rte_rdtsc() }
}

/// Returns the TSC frequency in Hz as measured by the EAL; assumes the EAL is initialized.
pub fn hz() -> u64 {
    // SAFETY: reads a value the EAL computed at init (0 before init).
    unsafe { dpdk_sys::rte_get_tsc_hz() }
}

/// Converts a cycle count to a `Duration` at `hz` cycles per second; assumes `hz > 0`.
pub fn cycles_to_duration(cycles: u64, hz: u64) -> Duration {
    let nanos = u128::from(cycles) * 1_000_000_000 / u128::from(hz.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsc_advances_and_hz_is_known() {
        let _eal = crate::test_eal::eal();
        let a = rdtsc();
        std::thread::sleep(Duration::from_millis(2));
        let b = rdtsc();
        assert!(b > a);
        let hz = hz();
        assert!(hz > 1_000_000, "tsc hz {hz}");
        assert!(cycles_to_duration(b - a, hz) >= Duration::from_millis(1));
    }

    #[test]
    fn converts_cycles() {
        assert_eq!(
            cycles_to_duration(3_000, 3_000_000_000),
            Duration::from_nanos(1_000)
        );
    }
}
