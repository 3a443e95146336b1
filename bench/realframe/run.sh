#!/usr/bin/env bash
# Real-frame benchmark of Sluice's whole packet path (docs/dataplane.md, "Real-frame benchmark").
#
#   sudo bench/realframe/run.sh [BUILD_DIR] [bench_realframe options]
#   sudo bench/realframe/run.sh build --rounds 3 --seconds 2
#
# Builds bench_realframe in BUILD_DIR (default: build, through the shared build lock), runs it
# and prints its tables (Markdown). Exit status: the benchmark's (1 when the path is broken, e.g.
# frames outside their HTB classes or nothing forwarded), 2 when it cannot start.
# The benchmark's namespaces are rfi-PID, rfs-PID, rfb-PID; whatever it leaves behind (killed,
# interrupted) is removed here on exit, together with any trafgen still running in them.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
case $build in /*) ;; *) build="$root/$build" ;; esac

if [ "$(id -u)" -ne 0 ]; then
  echo "run.sh: needs root (network namespaces, XDP, BPF statistics): sudo $0" >&2
  exit 2
fi
if ! command -v trafgen > /dev/null; then
  echo "run.sh: trafgen not found: apt-get install netsniff-ng (listed in tools/install-deps.sh)" >&2
  exit 2
fi
if ! flock /tmp/sluice-build.lock cmake --build "$build" --target bench_realframe; then
  echo "run.sh: building bench_realframe in $build failed (configured with SLUICE_BUILD_BPF=ON?)" >&2
  exit 2
fi

bin="$build/bench/realframe/bench_realframe"
# The programs measured: the last commit that touched bpf/, and whether bpf/ has local edits.
echo "# bpf/ at $(git -C "$root" log -1 --format='%h %cd' --date=short -- bpf 2> /dev/null)$(
  git -C "$root" diff --quiet -- bpf 2> /dev/null || echo ' + uncommitted edits')"
"$bin" "$@" &
pid=$!

cleanup() {
  # A background job of a script ignores SIGINT, so the benchmark is stopped with SIGTERM.
  kill -TERM "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
  for ns in "rfi-$pid" "rfs-$pid" "rfb-$pid"; do
    if ip netns list | grep -qw "$ns"; then
      ip netns pids "$ns" 2> /dev/null | xargs -r kill -KILL 2> /dev/null
      ip netns del "$ns" 2> /dev/null
    fi
  done
  rm -rf "/tmp/sluice-realframe-$pid"
}
trap 'cleanup; exit 130' INT TERM

wait "$pid"
rc=$?
cleanup
exit "$rc"
