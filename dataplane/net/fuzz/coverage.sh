#!/usr/bin/env bash
# Line/region coverage of ix-net (and ix-nic, ix-fakenic) reached by a fuzz target's
# corpus. Usage, from anywhere: dataplane/net/fuzz/coverage.sh [TARGET] [show FILE...]
#   coverage.sh stack_frames            summary table per source file
#   coverage.sh stack_frames show dataplane/net/src/arp/cache.rs
#                                       that file, line by line, with hit counts
# Needs the corpus from a previous run (ci/fuzz.sh or cargo fuzz run) in
# corpus/TARGET, and the nightly's llvm-tools (installed here if missing; Debian's
# llvm-cov is too old to read the nightly's profiles).
set -euo pipefail
cd "$(dirname "$0")"

target="${1:-stack_frames}"
shift || true

if ! rustup +nightly component list --installed | grep '^llvm-tools' >/dev/null; then
    rustup component add llvm-tools-preview --toolchain nightly
fi
llvm="$(rustc +nightly --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin"

mkdir -p "corpus/$target"
log="target/coverage-$target.log"
mkdir -p target
if ! cargo +nightly fuzz coverage "$target" "corpus/$target" >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
fi

bin="target/x86_64-unknown-linux-gnu/coverage/x86_64-unknown-linux-gnu/release/$target"
args=(-instr-profile="coverage/$target/coverage.profdata" -ignore-filename-regex='/(\.cargo|rustc)/|/fuzz/')
if [ "${1:-}" = show ]; then
    shift
    files=()
    for f in "$@"; do files+=("$(cd ../../.. && realpath "$f")"); done
    "$llvm/llvm-cov" show "$bin" "${args[@]}" -show-line-counts-or-regions "${files[@]}"
else
    "$llvm/llvm-cov" report "$bin" "${args[@]}"
fi
