#!/usr/bin/env bash
# sluiced through the bakery on a generated ISP (issue 6), one run per circuit count, on veths in a
# private namespace:
#   1. start (build) to "ready";
#   2. reload with unchanged inputs (no-op);
#   3. queue_mode shape -> observe and observe -> shape: reload wall time and the bakery's own
#      transition time and op count (status.bakery.last_transition);
#   4. SIGKILL, restart to "ready": adopted without rebuilding (status.bakery.last_apply.mode).
# No traffic: the probe loss during transitions is measured by the lab test
# (tests/integration/daemon/BakeryLabTest.cpp).
#
#   bench/daemon/transitions.sh BUILD_DIR [CIRCUITS ...]      (default 10000; root)
set -euo pipefail
build=$(cd "${1:?build dir}" && pwd); shift || true
sizes=("${@:-10000}")
sluice=$build/src/cli/sluice sluiced=$build/src/daemon/sluiced gen=$build/tools/gen/sluice-gen
ns=sl-transitions-$$
work=$(mktemp -d /var/tmp/sluice-transitions.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
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
elapsed() { echo "$2 - $1" | bc; }

start_sluiced() {  # dir n logname
  ip netns exec "$ns" "$sluiced" --config "$1/lqos.conf" --foreground \
    --pin-dir "$work/bpffs/p$2" >>"$1/$3" 2>&1 &
  pid=$!
  until grep -q '"state": *"ready"' <<<"$("$sluice" status --socket "$1/sluiced.sock" --json 2>/dev/null)"; do
    kill -0 "$pid" 2>/dev/null || { cat "$1/$3"; exit 1; }
    sleep 0.05
  done
}
status() { "$sluice" status --socket "$1/sluiced.sock" --json; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

printf '%-9s %-9s %-9s %-26s %-26s %-10s %-12s\n' circuits build_s noop_ms \
  'shape->observe ms/bakery/ops' 'observe->shape ms/bakery/ops' restart_s restart_mode/ops
for n in "${sizes[@]}"; do
  dir=$work/isp-$n
  "$gen" --circuits "$n" --sites $((n / 500 + 2)) --seed 7 --out "$dir" --lqos-conf \
    --to-internet shp-inet --to-network shp-subs >/dev/null
  python3 - "$dir/lqos.conf" "$dir" <<'PY'
import sys
path, d = sys.argv[1], sys.argv[2]
text = open(path).read()
extra = (f'leaf_fallback = "pfifo"\nstate_directory = "{d}/state"\n'
         f'control_socket = "{d}/sluiced.sock"\n')
text = text.replace('[sluice]\n', '[sluice]\n' + extra, 1) if '[sluice]' in text else \
    text + '\n[sluice]\n' + extra + f'network_json = "{d}/network.json"\n' + \
    f'shaped_devices_csv = "{d}/ShapedDevices.csv"\n'
if 'queue_mode' not in text:
    text = text.replace('[queues]\n', '[queues]\nqueue_mode = "shape"\n', 1)
open(path, 'w').write(text)
PY
  t0=$(now); start_sluiced "$dir" "$n" sluiced.log; t1=$(now)
  noop=$("$sluice" reload --socket "$dir/sluiced.sock" | sed -n 's/.* in \([0-9.]*\) ms.*/\1/p')
  transition() {  # mode -> "wall_ms/bakery_ms/ops"
    sed -i "s/^queue_mode = .*/queue_mode = \"$1\"/" "$dir/lqos.conf"
    local a b
    a=$(now); "$sluice" reload --socket "$dir/sluiced.sock" >/dev/null; b=$(now)
    local t
    t=$(status "$dir" | field 'd["bakery"]["last_transition"]')
    python3 -c "import sys; t=$t; print('%.0f/%.1f/%d' % (($b-$a)*1000, t['duration_ms'], t['tc_ops']))"
  }
  obs=$(transition observe)
  shp=$(transition shape)
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=
  t2=$(now); start_sluiced "$dir" "$n" sluiced-restart.log; t3=$(now)
  mode=$(status "$dir" | field 'd["bakery"]["last_apply"]["mode"] + "/" + str(d["bakery"]["last_apply"]["tc_ops"]) + "ops" + ("/adopted" if d["adopted"] else "")')
  kill -TERM "$pid"; wait "$pid" || true; pid=
  printf '%-9d %-9.2f %-9s %-26s %-26s %-10.2f %-12s\n' "$n" "$(elapsed "$t0" "$t1")" "$noop" \
    "$obs" "$shp" "$(elapsed "$t2" "$t3")" "$mode"
done
