#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every Sluice test: unit, BPF (BPF_PROG_TEST_RUN),
# integration (root, network namespaces), fuzz smoke runs, and the guest-kernel suite (CAKE and
# fq_codel on Debian's stock kernel under qemu). Exit status 0 only when everything passed.
#
#   tools/test.sh                 # everything
#   SLUICE_SKIP_GUEST=1 tools/test.sh   # without the qemu guest suite (local iteration)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Each stage prints how long it took (CI's budget is 90 minutes on 2 cores; keep under 60).
# A failing stage is named again at the very end (after the skip report), with what it left to
# read: CI may show only the last lines of this output.
current_stage=
stage_times=()
stage() {
  local name=$1 t0=$SECONDS
  shift
  current_stage=$name
  echo "=== tools/test.sh: $name"
  "$@"
  echo "=== tools/test.sh: $name took $((SECONDS - t0)) s (total $SECONDS s)"
  stage_times+=("$name $((SECONDS - t0)) s")
  current_stage=
}

stage "install dependencies" tools/install-deps.sh

build=${SLUICE_BUILD_DIR:-build}
stage "configure" cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
stage "build" cmake --build "$build" -j"$(nproc)"

# Unit and BPF tests run in parallel; tests that build namespaces and trees run one at a time.
# Each run leaves a JUnit report; at the end (also after a failure) tools/skip-report.py prints how
# many tests were skipped and why, so a skip is never silent.
build_abs=$(cd "$build" && pwd)
reports=("$build_abs/ctest-unit.xml" "$build_abs/ctest-integration.xml")
rm -f "${reports[@]}"
finish() {
  local rc=$?
  python3 tools/skip-report.py "${reports[@]}"
  [ "$rc" = 0 ] && return
  echo "=== tools/test.sh: FAILED in stage \"${current_stage:-?}\" (exit $rc) at $SECONDS s;" \
    "stages before it: $(IFS=,; echo "${stage_times[*]:-none}")"
  case $current_stage in
    "guest-kernel suite")
      echo "=== the guest's scripts (full console: $build_abs/guest-console.log):"
      grep -E '^guest: (===|---)|still running|FAILED|^\[  FAILED ' "$build_abs/guest-console.log" \
        2>/dev/null | tail -n 20 ;;
    *integration*|*unit*)
      echo "=== failed tests:"
      grep -hoE 'name="[^"]+" [^>]*status="fail' "${reports[@]}" 2>/dev/null |
        sed -E 's/^name="([^"]+)".*/  \1/' | head -n 20 ;;
  esac
}
trap finish EXIT
stage "unit and BPF tests" ctest --test-dir "$build" --output-on-failure -j"$(nproc)" \
  -LE integration --output-junit "${reports[0]}"
stage "integration tests" ctest --test-dir "$build" --output-on-failure -L integration \
  --output-junit "${reports[1]}"

# The Debian package: cpack, lintian, install into a fresh debootstrap'd bookworm root, sluiced
# there, remove and purge (docs/packaging.md).
stage "Debian package" tools/deb-test.sh "$build"

stage "fuzz smoke runs" tools/fuzz-smoke.sh

if [ "${SLUICE_SKIP_GUEST:-0}" != 1 ] && [ -x tools/guest-tests.sh ]; then
  stage "guest-kernel suite" tools/guest-tests.sh "$build"
fi
echo "tools/test.sh: all tests passed"
