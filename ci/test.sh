#!/usr/bin/env bash
# The whole default test suite, as CI runs it (.ci/run calls the README's command).
# Needs root: tests create network namespaces, tap devices and DPDK processes, and
# clean up after themselves. Long runs (soaks, long fuzzing) are separate: see README.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh

step() { printf '\n== %s\n' "$*" >&2; }

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
cargo test --workspace --locked --release

step "fuzz harnesses' own tests (regression scripts, pseudo-random scripts)"
for crate in dataplane/net/fuzz dataplane/tcp/fuzz apps/memcached-ix/fuzz; do
    [ -f "$crate/src/lib.rs" ] || continue
    (cd "$crate" && cargo test --release --locked)
done

step "fuzz (bounded: 30 s per target; longer runs: ci/fuzz.sh SECONDS)"
bash ci/fuzz.sh 30

step "cost check (callgrind instructions per TCP request/response vs bench/baselines)"
bash ci/cost-check.sh
