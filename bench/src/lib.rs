//! ix-bench: benchmarks (being written).
