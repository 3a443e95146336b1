#!/usr/bin/env bash
# The namespace lab inside Debian's stock kernel under qemu (docs/lab.md, docs/qoe.md): the same
# `sluice lab`, but with real CAKE/fq_codel leaves and 802.1Q VLANs, which this machine's kernel
# lacks. Boots the guest (../shared/tools/guest-kernel/run-guest.sh), brings the lab up with
# sluiced from BUILD_DIR (refusing a lab whose leaves fell back to a FIFO), runs each COMMAND in
# order (a bash command line; `sluice` and `sluiced` are the build's), prints their output, takes
# the lab down and exits 1 when any step failed.
#
#   tools/guest-lab.sh [--build DIR] [--out DIR] [--timeout S] [--sluiced PATH] [--stick]
#                      [--config F] [--network F] [--devices F] -- COMMAND...
#
#   tools/guest-lab.sh -- 'sluice lab qoe 1002'
#   tools/guest-lab.sh --stick --config tests/data/e2e/small/lqos-stick.conf \
#     -- 'sluice lab traffic e2e-2 e2e-5 e2e-10' 'sluice tree --dev shp-stick --netns shaper'
#   tools/guest-lab.sh --out /var/tmp/qoe -- 'sluice lab qoe 1002 --json > $OUT/qoe.json'
#
# The commands run in the host's root (chroot, read-only) inside the guest; $OUT is the writable
# directory shared with the host (--out DIR, kept; default a temporary one under /var/tmp). Paths
# given to the lab must be readable there: anything outside /tmp (the guest has its own /tmp).
# Rates: qemu's emulated CPU forwards about 20 Mbit/s in total, so pick circuits of ≤ 10 Mbit/s.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
out=
timeout=1200
up_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift ;;
    --out) out=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    --stick) up_args+=(--stick) ;;
    --config|--network|--devices|--sluiced) up_args+=("$1" "$(realpath "$2")"); shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "guest-lab: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ $# -eq 0 ]; then
  echo "guest-lab: no COMMAND after -- (see --help)" >&2
  exit 2
fi
build=$(cd "$build" && pwd)
for b in "$build/src/cli/sluice" "$build/src/daemon/sluiced"; do
  [ -x "$b" ] || { echo "guest-lab: missing $b (ninja -C $build sluice sluiced)" >&2; exit 1; }
done
if [ -n "$out" ]; then
  mkdir -p "$out"
  share=$(cd "$out" && pwd)
else
  share=$(mktemp -d /var/tmp/sluice-guest-lab.XXXXXX)
  trap 'rm -rf "$share"' EXIT
fi
for path in "$build" "$share" "${up_args[@]}"; do
  case "$path" in
    /tmp/*) echo "guest-lab: $path is under /tmp, which the guest cannot see" >&2; exit 1 ;;
  esac
done
cp "$root/tools/guest/lab-run.sh" "$share/"
{
  printf 'build=%q\n' "$build"
  printf 'up_args=('; [ ${#up_args[@]} -eq 0 ] || printf '%q ' "${up_args[@]}"; printf ')\n'
  printf 'commands=('; printf '%q ' "$@"; printf ')\n'
} > "$share/lab-args.sh"
: > "$share/console.log"
echo "guest-lab: booting the guest kernel (about 10 s, then the lab; output follows)"
rc=0
KC_EXTRA_MODULES="8021q bridge" "$root/../shared/tools/guest-kernel/run-guest.sh" \
  --share "$share" --script lab-run.sh --hostroot --timeout "$timeout" --mem 2048 \
  --log "$share/console.log" --quiet || rc=$?
# The guest's console carries the commands' output; show it without the boot messages.
tr -d '\r' < "$share/console.log" | sed -n '/^guest-lab: /,/^KC-GUEST-EXIT=/p' | grep -v '^KC-GUEST-EXIT='
if [ $rc -ne 0 ]; then
  echo "guest-lab: FAILED (exit $rc; console log: $share/console.log)" >&2
  [ -n "$out" ] || tail -n 40 "$share/console.log" >&2
fi
exit $rc
