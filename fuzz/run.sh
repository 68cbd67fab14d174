#!/usr/bin/env bash
# Runs one fuzz target for a number of minutes on its seeded corpus:
#   fuzz/run.sh csv|onnx|image|trees [MINUTES]
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Crashes land in
# fuzz/artifacts/<target>/; replay one with `cargo +nightly fuzz run -s none -a <target> <file>`.
set -euo pipefail
target="$1"
minutes="${2:-10}"
fuzz="$(cd "$(dirname "$0")" && pwd)"
cd "$fuzz"
[[ -d "corpus/$target" ]] || ./seed.sh
# No sanitizer: Loupe is safe Rust, and what matters is panics, hangs and memory use, which
# debug assertions and overflow checks (-a) surface. Each input may take 10 s and 3 GB at most.
exec cargo +nightly fuzz run -s none -a "$target" "corpus/$target" -- \
    -max_total_time=$((minutes * 60)) -timeout=10 -rss_limit_mb=3072 -malloc_limit_mb=3072 \
    -max_len=131072 -print_final_stats=1
