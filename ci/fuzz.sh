#!/usr/bin/env bash
# Bounded fuzzing of ix-net: builds every target in dataplane/net/fuzz and runs each
# for SECONDS (default 30) in turn; exits non-zero on the first crash, invariant
# failure, leak report or timeout, leaving the input in
# dataplane/net/fuzz/artifacts/TARGET/. A longer run is the same command with a
# bigger number (the corpus in dataplane/net/fuzz/corpus/ grows across runs).
#
# Needs the nightly toolchain (installed here if missing) and cargo-fuzz (likewise).
# Seeds (dataplane/net/fuzz/seeds/TARGET) and dictionaries (dicts/TARGET.dict) are
# used when present; new corpus entries go to corpus/TARGET only.
# Usage: ci/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-30}"
shift || true
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "usage: ci/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2; }

CARGO_FUZZ_VERSION=0.13.2

cargo +nightly --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
if [[ "$(cargo +nightly fuzz --version 2>/dev/null)" != *"$CARGO_FUZZ_VERSION"* ]]; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

cd dataplane/net/fuzz
if (($#)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

for t in "${targets[@]}"; do
    printf '\n== fuzz %s for %ss\n' "$t" "$secs" >&2
    mkdir -p "corpus/$t"
    corpora=("corpus/$t")
    [ -d "seeds/$t" ] && corpora+=("seeds/$t")
    extra=()
    [ -f "dicts/$t.dict" ] && extra+=("-dict=dicts/$t.dict")
    # Release with debug assertions (overflow checks) and AddressSanitizer: the
    # cargo-fuzz defaults. -timeout: one input running 10 s is a hang, reported as
    # a failure like a crash.
    cargo +nightly fuzz run "$t" "${corpora[@]}" -- "${extra[@]}" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
printf '\nfuzz: %s passed, 0 failed\n' "${#targets[@]}"
