#!/usr/bin/env bash
# The main job on the demo ISP (examples/, "Riverbend Wireless"): installs what it needs, builds,
# brings the namespace lab up (an Internet namespace and a subscriber namespace joined through a
# shaper namespace where sluiced classifies with XDP/tc BPF and shapes with mq -> HTB -> leaf),
# pushes iperf3 TCP traffic through four circuits of different ceilings, prints planned vs.
# measured rates, prints the web UI's address on the host's loopback and its login, and takes the
# lab down again (also on failure or Ctrl-C). Needs root.
#
#   tools/demo.sh                     # the demo
#   tools/demo.sh --keep              # leave the lab up afterwards to explore the web UI
#                                     # (`build/src/cli/sluice lab down` removes it)
#   SLUICE_DEMO_SECONDS=5 tools/demo.sh   # shorter iperf3 runs (default 8 s per direction)
#   SLUICE_DEMO_STICK=1 tools/demo.sh     # on a stick: one shaper port, two VLANs
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

keep=0
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    *) echo "usage: tools/demo.sh [--keep]" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env=SLUICE_BUILD_DIR,SLUICE_DEMO_SECONDS,SLUICE_DEMO_STICK "$0" "$@"
fi

tools/install-deps.sh
build=${SLUICE_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(sluice sluiced)
# The web UI (needs node/npm, which install-deps installs); without it sluiced serves the API only.
if cmake --build "$build" --target help | grep -q '^sluice_web:'; then targets+=(sluice_web); fi
cmake --build "$build" --target "${targets[@]}" -j"$(nproc)"
sluice=$build/src/cli/sluice
sluiced=$build/src/daemon/sluiced

echo "== sluice check (demo ISP)"
"$sluice" check --config examples/lqos.conf

# Whatever happens from here on, the lab goes away again (unless --keep and the lab came up).
lab_up=0
cleanup() {
  if [ "$keep" = 1 ] && [ "$lab_up" = 1 ]; then return; fi
  "$sluice" lab down >/dev/null || echo "demo: sluice lab down reported problems" >&2
}
trap cleanup EXIT
"$sluice" lab down >/dev/null 2>&1 || true  # a lab left behind by an earlier, killed run

up=(lab up --config examples/lqos.conf --sluiced "$sluiced")
if [ "${SLUICE_DEMO_STICK:-0}" = 1 ]; then up+=(--stick); fi
echo "== sluice ${up[*]}"
"$sluice" "${up[@]}"
lab_up=1
"$sluice" lab status

# Circuits 1001-1004 of the demo ISP: 5/1, 10/2, 25/5 and 50/10 Mbit/s.
echo "== sluice lab traffic 1001 1002 1003 1004 (downloads together, then uploads together)"
status=0
"$sluice" lab traffic 1001 1002 1003 1004 --seconds "${SLUICE_DEMO_SECONDS:-8}" || status=$?

echo "== sluice status"
"$sluice" status --socket /run/sluice-lab/sluiced.sock || true
if [ "$status" -ne 0 ]; then
  echo "demo: some circuits were not within tolerance of their ceilings (see the table)" >&2
fi

# The web UI, forwarded by `lab up` from the shaper namespace to this machine's loopback (over
# SSH: ssh -L 9180:127.0.0.1:9180 this-host, then open the same URL on your machine).
ui=/run/sluice-lab/ui.json
if [ -f "$ui" ]; then
  echo "== web UI: $(jq -r .url "$ui")  user $(jq -r .user "$ui")  password $(jq -r .password "$ui")"
  if [ "$keep" = 1 ]; then
    echo "   the lab stays up (--keep): try \`$sluice lab traffic 1001 1002 --seconds 30\` while"
    echo "   the UI is open; \`$sluice lab down\` removes everything"
  else
    echo "   (the lab goes down now; run tools/demo.sh --keep to explore it)"
  fi
fi
exit "$status"
