#!/usr/bin/env bash
# sluiced start-to-ready benchmark (issue 5): for each circuit count, on veths in a private
# namespace with the same generated ISP, in the same run:
#   1. bare tree apply: `sluice apply` (netlink Applier, no daemon), then `sluice apply --remove`;
#   2. sluiced from exec to status "ready" (inputs, probe, plan, data plane, tree, mappings),
#      and its peak RSS (VmHWM).
# Prints one line per size and the ratio ready / bare apply (target ≤ 1.2).
# With LAZY=Htb|Full the config gets `[queues] lazy_queues = "$LAZY"` (docs/lazy.md) and the bare
# apply is skipped ("-"): it would apply the full tree, which is what lazy queues avoid (and which
# one interface cannot hold at 100k circuits with leaves).
#
# After ready, sluiced runs HOLD seconds more (default 10: telemetry ticks, the lazy tracker) and
# rss_mb is its peak RSS (VmHWM) over the whole run; ready_rss_mb is VmHWM at ready.
# With HEAPTRACK=FILE sluiced runs under heaptrack, FILE.zst is kept, and the heap at its peak is
# printed by owner (bench/daemon/heap-owners.py); the RSS columns are then "-".
#
# With ROUNDS=N each size is measured N times, bare apply and sluiced alternating (the kernel's
# per-class time drifts over minutes on a shared machine), and a last line gives the medians.
#
#   bench/daemon/startup.sh BUILD_DIR [CIRCUITS ...]      (default 10000; root)
#   ROUNDS=3 bench/daemon/startup.sh BUILD_DIR 10000
#   LAZY=Full bench/daemon/startup.sh BUILD_DIR 100000
#   HEAPTRACK=/var/tmp/sluiced-heap LAZY=Full bench/daemon/startup.sh BUILD_DIR 100000
set -euo pipefail
lazy=${LAZY:-No} hold=${HOLD:-10} heap=${HEAPTRACK:-} rounds=${ROUNDS:-1}
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?build dir}" && pwd); shift || true
sizes=("${@:-10000}")
sluice=$build/src/cli/sluice sluiced=$build/src/daemon/sluiced gen=$build/tools/gen/sluice-gen
ns=sl-bench-$$
work=$(mktemp -d /var/tmp/sluice-startup.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  pkill -KILL -f -- "--config $work/" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  umount "$work/bpffs" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link add shp-inet numtxqueues 8 numrxqueues 8 type veth peer name isp0
ip -n "$ns" link add shp-subs numtxqueues 8 numrxqueues 8 type veth peer name subs0
for i in shp-inet shp-subs isp0 subs0; do ip -n "$ns" link set "$i" up; done
mkdir -p "$work/bpffs" && mount -t bpf bpf "$work/bpffs"
now() { date +%s.%N; }

printf '%-9s %-12s %-12s %-8s %-13s %-10s\n' circuits apply_s ready_s ratio ready_rss_mb rss_mb
for n in "${sizes[@]}"; do
  dir=$work/isp-$n
  "$gen" --circuits "$n" --sites $((n / 500 + 2)) --seed 7 --out "$dir" --lqos-conf \
    --to-internet shp-inet --to-network shp-subs >/dev/null
  python3 - "$dir/lqos.conf" "$dir" "$lazy" <<'PY'
import sys
path, d, lazy = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
extra = (f'leaf_fallback = "pfifo"\nstate_directory = "{d}/state"\n'
         f'control_socket = "{d}/sluiced.sock"\n')
text = text.replace('[sluice]\n', '[sluice]\n' + extra, 1) if '[sluice]' in text else \
    text + '\n[sluice]\n' + extra + f'network_json = "{d}/network.json"\n' + \
    f'shaped_devices_csv = "{d}/ShapedDevices.csv"\n'
if lazy != 'No':
    line = f'lazy_queues = "{lazy}"\n'
    text = text.replace('[queues]\n', '[queues]\n' + line, 1) if '[queues]' in text else \
        text + '\n[queues]\n' + line
open(path, 'w').write(text)
PY
  applies=() readies=()
  for round in $(seq 1 "$rounds"); do
  rm -rf "$dir/state"
  t0=$(now) t1=
  if [ "$lazy" = No ]; then
    "$sluice" apply --config "$dir/lqos.conf" --netns "$ns" --no-verify >/dev/null
    t1=$(now)
    "$sluice" apply --config "$dir/lqos.conf" --netns "$ns" --remove >/dev/null
  fi

  t2=$(now)
  wrap=()
  [ -n "$heap" ] && wrap=(heaptrack -o "$heap")
  ip netns exec "$ns" "${wrap[@]}" "$sluiced" --config "$dir/lqos.conf" --foreground \
    --pin-dir "$work/bpffs/p$n-$round" >"$dir/sluiced.log" 2>&1 &
  pid=$!
  until grep -q '"state": *"ready"' <<<"$("$sluice" status --socket "$dir/sluiced.sock" --json 2>/dev/null)"; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/sluiced.log"; exit 1; }
    sleep 0.05
  done
  t3=$(now)
  hwm() { if [ -n "$heap" ]; then echo -; else awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; fi; }
  readyRss=$(hwm)
  sleep "$hold"
  rss=$(hwm)
  kill -TERM "$pid"
  # Under heaptrack, $pid is heaptrack's script and sluiced its child: stop sluiced itself too.
  pkill -TERM -f -- "--config $dir/lqos.conf" 2>/dev/null || true
  wait "$pid" || true; pid=
  apply=- ratio=- ready=$(echo "$t3 - $t2" | bc)
  if [ -n "$t1" ]; then
    apply=$(echo "$t1 - $t0" | bc)
    ratio=$(awk -v a="$apply" -v r="$ready" 'BEGIN { printf "%.2f", r / a }')
  fi
  printf '%-9d %-12s %-12.2f %-8s %-13s %-10s lazy_queues=%s\n' "$n" "$apply" "$ready" "$ratio" \
    "$readyRss" "$rss" "$lazy"
  applies+=("$apply") readies+=("$ready")
  if [ -n "$heap" ]; then
    sleep 1
    python3 "$here/heap-owners.py" "$heap.zst"
  fi
  done
  if [ "$rounds" -gt 1 ]; then
    python3 - "$n" "${applies[*]}" "${readies[*]}" <<'PY'
import statistics, sys
n, applies, readies = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
ready = statistics.median(float(r) for r in readies)
if "-" in applies:
    print(f"{n:<9} median of {len(readies)}: ready {ready:.2f} s")
else:
    apply = statistics.median(float(a) for a in applies)
    print(f"{n:<9} median of {len(readies)}: bare apply {apply:.2f} s, ready {ready:.2f} s, "
          f"ratio {ready / apply:.2f}")
PY
  fi
done
