//! ix-loadgen: a mutilate-compatible load generator that measures latency honestly.

#![forbid(unsafe_code)]
