//! Tracing for replaying a crash: `IX_TCP_FUZZ_TRACE=1` prints every action,
//! injected segment, transmitted segment and event to stderr.

/// Whether to print every action, injected segment, transmitted segment and event
/// to stderr: set `IX_TCP_FUZZ_TRACE=1` when replaying a crash.
pub fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("IX_TCP_FUZZ_TRACE").is_some())
}

/// Prints a trace line if [`tracing`] is on.
#[macro_export]
macro_rules! trace_line {
    ($($arg:tt)*) => {
        if $crate::trace::tracing() {
            eprintln!($($arg)*);
        }
    };
}
