#!/usr/bin/env bash
# Deterministic cost check of ix-tcp's request/response path, by instruction count.
#
# Builds the release example dataplane/tcp/examples/rr_cost (client and server
# engines over a FakeLink, one thread, virtual clock, fixed secrets: the same work on
# every run), runs it under valgrind's callgrind with instructions collected only
# inside its `measured` function (the measured round trips; set-up and warm-up are
# not counted), and divides by the round trips: instructions per 64-byte
# request/response, both stacks included. The count is exact and repeatable for a
# given binary, so no noise margin is needed for the measurement itself; the 10%
# tolerance is for deliberate changes that cost a little.
#
# Compares with the committed baseline bench/baselines/tcp_rr_instructions.txt and
# exits 1 if the cost grew by more than 10% (printing baseline, measured, ratio).
# A different rustc than the baseline's changes the count by itself: the script says
# so; refresh the baseline when the toolchain changes on purpose.
#
# Usage: ci/cost-check.sh            check against the baseline
#        ci/cost-check.sh --update   measure and rewrite the baseline
# Installs valgrind with apt if it is missing. Takes well under a minute once built.
set -euo pipefail
cd "$(dirname "$0")/.."

BASELINE=bench/baselines/tcp_rr_instructions.txt
WARMUP=2000
MEASURE=20000
TOLERANCE_PCT=10
FUNCTION='rr_cost::measured'

update=false
case "${1:-}" in
    "") ;;
    --update) update=true ;;
    *) echo "usage: ci/cost-check.sh [--update]" >&2; exit 2 ;;
esac

if ! command -v valgrind >/dev/null 2>&1; then
    echo "ci/cost-check.sh: installing valgrind" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends valgrind
fi

cargo build --release --quiet -p ix-tcp --example rr_cost
bin="${CARGO_TARGET_DIR:-target}/release/examples/rr_cost"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    --collect-atstart=no --toggle-collect="$FUNCTION" \
    "$bin" --warmup "$WARMUP" --measure "$MEASURE" >"$work/log" 2>&1; then
    cat "$work/log" >&2
    echo "ci/cost-check.sh: the workload failed under valgrind" >&2
    exit 1
fi
ir="$(awk '/^summary:/ { print $2 }' "$work/callgrind.out")"
if ! [[ "$ir" =~ ^[0-9]+$ ]] || ((ir == 0)); then
    echo "ci/cost-check.sh: no instructions collected: is $FUNCTION still in the binary?" >&2
    exit 1
fi
measured=$(((ir + MEASURE / 2) / MEASURE))
toolchain="$(rustc -V)"
echo "ci/cost-check.sh: $ir instructions in $MEASURE round trips: $measured per 64-byte request/response"

if $update; then
    mkdir -p "$(dirname "$BASELINE")"
    cat >"$BASELINE" <<END
# Instructions per 64-byte request/response round trip over ix-tcp: client and
# server engines, both ix-net interfaces and the FakeLink copy, one connection, one
# request outstanding (dataplane/tcp/examples/rr_cost.rs).
# Produced by ci/cost-check.sh --update: valgrind --tool=callgrind, collecting only
# in $FUNCTION ($WARMUP warm-up then $MEASURE measured round trips), total
# instructions / $MEASURE, rounded. Exact and repeatable for a given binary.
# toolchain: $toolchain
# valgrind: $(valgrind --version); recorded $(date -u +%Y-%m-%d)
$measured
END
    echo "ci/cost-check.sh: baseline $BASELINE set to $measured"
    exit 0
fi

if [ ! -f "$BASELINE" ]; then
    echo "ci/cost-check.sh: no baseline $BASELINE; make one with --update" >&2
    exit 1
fi
baseline="$(grep -v '^#' "$BASELINE" | grep -m1 -E '^[0-9]+$' || true)"
if [ -z "$baseline" ] || ((baseline == 0)); then
    echo "ci/cost-check.sh: $BASELINE holds no instruction count" >&2
    exit 1
fi
recorded="$(sed -n 's/^# toolchain: //p' "$BASELINE")"
if [ -n "$recorded" ] && [ "$recorded" != "$toolchain" ]; then
    echo "ci/cost-check.sh: note: baseline made with '$recorded', this is '$toolchain';" \
        "compiler changes move the count by themselves" >&2
fi
ratio="$(awk -v m="$measured" -v b="$baseline" 'BEGIN { printf "%.3f", m / b }')"
echo "ci/cost-check.sh: baseline $baseline, measured $measured, ratio $ratio (limit $((100 + TOLERANCE_PCT))%)"
if ((measured * 100 > baseline * (100 + TOLERANCE_PCT))); then
    echo "ci/cost-check.sh: FAIL: the request/response path costs more than ${TOLERANCE_PCT}% over the baseline" >&2
    exit 1
fi
if ((measured * 100 < baseline * (100 - TOLERANCE_PCT))); then
    echo "ci/cost-check.sh: note: more than ${TOLERANCE_PCT}% cheaper than the baseline; consider --update" >&2
fi
echo "ci/cost-check.sh: ok"
