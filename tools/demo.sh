#!/usr/bin/env bash
# The main job on the demo ISP (examples/): installs, builds, validates the inputs and prints the
# queue plan. (Becomes the namespace lab shaping real traffic once sluiced lands.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/install-deps.sh
build=${SLUICE_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target sluice -j"$(nproc)"
sluice=$build/src/cli/sluice
echo "== sluice check (demo ISP)"
"$sluice" check --config examples/lqos.conf
echo "== sluice plan --format summary"
"$sluice" plan --config examples/lqos.conf --format summary
