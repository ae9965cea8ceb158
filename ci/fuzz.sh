#!/usr/bin/env bash
# Bounded fuzzing: builds every target of every fuzz crate (dataplane/net/fuzz,
# dataplane/tcp/fuzz, apps/memcached-ix/fuzz) and runs each for SECONDS (default 30) in turn; exits non-zero
# on the first crash, invariant failure, leak report or timeout, leaving the input in
# CRATE/artifacts/TARGET/. A longer run is the same command with a bigger number (the
# corpus in CRATE/corpus/ grows across runs). Naming TARGETs runs only those.
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

# Runs TARGETS of the fuzz crate in the current directory for $secs each.
fuzz_crate() {
    local t corpora extra
    for t in "$@"; do
        printf '\n== fuzz %s for %ss\n' "$t" "$secs" >&2
        mkdir -p "corpus/$t"
        corpora=("corpus/$t")
        [ -d "seeds/$t" ] && corpora+=("seeds/$t")
        extra=()
        [ -f "dicts/$t.dict" ] && extra+=("-dict=dicts/$t.dict")
        # A target's own libFuzzer flags (e.g. -max_len), one line in options/TARGET.
        if [ -f "options/$t" ]; then
            read -ra more < "options/$t"
            extra+=("${more[@]}")
        fi
        # Release with debug assertions (overflow checks) and AddressSanitizer: the
        # cargo-fuzz defaults. -timeout: one input running 10 s is a hang, reported as
        # a failure like a crash.
        cargo +nightly fuzz run "$t" "${corpora[@]}" -- "${extra[@]}" \
            -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        ran=$((ran + 1))
    done
}

ran=0
for crate in dataplane/net/fuzz dataplane/tcp/fuzz apps/memcached-ix/fuzz; do
    [ -d "$crate/fuzz_targets" ] || continue
    pushd "$crate" >/dev/null
    mapfile -t available < <(cargo +nightly fuzz list)
    targets=()
    for t in "${available[@]}"; do
        if (($# == 0)) || [[ " $* " == *" $t "* ]]; then targets+=("$t"); fi
    done
    fuzz_crate "${targets[@]}"
    popd >/dev/null
done
printf '\nfuzz: %s passed, 0 failed\n' "$ran"
