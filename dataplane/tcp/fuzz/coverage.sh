#!/usr/bin/env bash
# Line and region coverage of ix-tcp reached by the tcp_segments corpus.
#
# Usage, from anywhere:
#   dataplane/tcp/fuzz/coverage.sh                 summary per ix-tcp source file
#   dataplane/tcp/fuzz/coverage.sh show FILE...    those files line by line, with counts
#                                                  (paths from the repository root)
# Needs a corpus from earlier runs in corpus/tcp_segments. Builds the target with
# coverage instrumentation (cargo fuzz coverage) and reads the profile with the
# nightly's own llvm-cov (installed here if missing: Debian's is too old to read it).
set -euo pipefail
cd "$(dirname "$0")"
target=tcp_segments

if ! rustup +nightly component list --installed | grep -q '^llvm-tools'; then
    rustup component add llvm-tools-preview --toolchain nightly
fi
llvm="$(rustc +nightly --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin"

mkdir -p "corpus/$target" target
log="target/coverage-$target.log"
if ! cargo +nightly fuzz coverage "$target" "corpus/$target" >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
fi
bin="target/x86_64-unknown-linux-gnu/coverage/x86_64-unknown-linux-gnu/release/$target"
profile="coverage/$target/coverage.profdata"
src="$(cd .. && pwd)/src"
if [ "${1:-}" = show ]; then
    shift
    files=()
    for f in "$@"; do files+=("$(cd ../../.. && realpath "$f")"); done
    "$llvm/llvm-cov" show "$bin" -instr-profile="$profile" -show-line-counts-or-regions "${files[@]}"
else
    "$llvm/llvm-cov" report "$bin" -instr-profile="$profile" "$src"
fi
