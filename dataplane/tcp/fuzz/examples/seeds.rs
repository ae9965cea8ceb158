//! Writes the seed corpus of `tcp_segments`: 64 pseudo-random inputs of 1,000
//! bytes (`ix_tcp_fuzz::random::bytes`), each a set-up and about sixty actions, into
//! `seeds/tcp_segments/`, so a run from an empty corpus starts deep in live
//! connections instead of from one-action scripts.
//!
//! Run from `dataplane/tcp/fuzz`: `cargo run --example seeds`.

use ix_tcp_fuzz::random;
use std::fs;
use std::path::Path;

/// Seeds written.
const SEEDS: u64 = 64;
/// Bytes per seed.
const LEN: usize = 1000;

fn main() -> std::io::Result<()> {
    let dir = Path::new("seeds/tcp_segments");
    fs::create_dir_all(dir)?;
    for seed in 0..SEEDS {
        fs::write(
            dir.join(format!("random-{seed:02}")),
            random::bytes(seed, LEN),
        )?;
    }
    println!("wrote {SEEDS} seeds to {}", dir.display());
    Ok(())
}
