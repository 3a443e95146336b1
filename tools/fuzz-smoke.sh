#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-16 (ASan + UBSan) and gives each a short smoke run
# starting from the committed seed corpus in tests/fuzz/corpus/<name>/. Any crash, leak, hang
# (-timeout) or sanitizer report fails the run.
#
#   tools/fuzz-smoke.sh [seconds-per-target]   (default 20)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-20}
build=${SLUICE_FUZZ_BUILD_DIR:-build-fuzz}

CC=clang-16 CXX=clang++-16 cmake -S . -B "$build" -G Ninja -DSLUICE_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"

status=0
for fuzzer in "$build"/tests/fuzz/fuzz_*; do
  [ -x "$fuzzer" ] || continue
  name=$(basename "$fuzzer"); name=${name#fuzz_}
  seeds=tests/fuzz/corpus/$name
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
  echo "fuzz-smoke: $name for ${seconds}s"
  if ! "$fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 "$work" >"$work.log" 2>&1; then
    echo "fuzz-smoke: $name FAILED"; tail -n 60 "$work.log"; status=1
  else
    grep -E 'stat::number_of_executed_units' "$work.log" || true
  fi
  rm -rf "$work" "$work.log"
done
exit $status
