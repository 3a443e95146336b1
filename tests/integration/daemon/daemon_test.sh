#!/usr/bin/env bash
# Integration test of sluiced on a real kernel (root): a private namespace with the two shaping
# veths, the demo ISP, and the daemon's lifecycle end to end without traffic (rates are the lab's
# e2e tests). Usage: daemon_test.sh SLUICED SLUICE SOURCE_DIR
set -euo pipefail
sluiced=$1 sluice=$2 src=$3

ns=sl-dmn-$$
work=$(mktemp -d /tmp/sluice-daemon-test.XXXXXX)
bpf=$work/bpffs
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  umount "$bpf" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; echo "--- sluiced log"; tail -n 40 "$work"/log* 2>/dev/null || true; exit 1; }
pass() { echo "ok: $*"; }

# The inputs live in their own directory, apart from lqos.conf (so watching the config's directory
# alone would not see them change).
mkdir -p "$work/inputs"
cp "$src"/examples/lqos.conf "$work"/
cp "$src"/examples/{network.json,ShapedDevices.csv} "$work/inputs"/
python3 - "$work/lqos.conf" "$work" <<'PY'
import sys
path, work = sys.argv[1], sys.argv[2]
text = open(path).read().replace('network_json = "network.json"', 'network_json = "inputs/network.json"')
text = text.replace('shaped_devices_csv = "ShapedDevices.csv"', 'shaped_devices_csv = "inputs/ShapedDevices.csv"')
text = text.replace('[sluice]\n', '[sluice]\nleaf_fallback = "pfifo"\n'
    f'state_directory = "{work}/state"\ncontrol_socket = "{work}/sluiced.sock"\n', 1)
open(path, 'w').write(text)
PY
mkdir -p "$bpf" && mount -t bpf bpf "$bpf"
ip netns add "$ns"
ip -n "$ns" link add shp-inet numtxqueues 8 numrxqueues 8 type veth peer name isp0
ip -n "$ns" link add shp-subs numtxqueues 8 numrxqueues 8 type veth peer name subs0
for i in shp-inet shp-subs isp0 subs0; do ip -n "$ns" link set "$i" up; done

sock=$work/sluiced.sock
start_daemon() {  # $1: log name; extra args follow
  local log=$work/$1; shift
  ip netns exec "$ns" "$sluiced" --config "$work/lqos.conf" --foreground --pin-dir "$bpf/pins" "$@" \
    >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 120); do
    if grep -q '"state": *"ready"' <<<"$("$sluice" status --socket "$sock" --json 2>/dev/null)"; then
      return 0
    fi
    sleep 0.5
  done
  fail "sluiced did not become ready ($log)"
}
status_field() {  # python expression over the status object d
  "$sluice" status --socket "$sock" --json | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}
class_count() { grep -c '^class htb' <<<"$(ip netns exec "$ns" tc class show dev shp-subs)" || true; }

# 1. Start: the tree, the fallback and the programs are there.
start_daemon log1
[ "$(status_field 'd["circuits"]')" = 50 ] || fail "status does not report 50 circuits"
[ "$(status_field 'd["leaf"]["fallback"]')" = True ] || fail "leaf fallback not reported"
grep -q 'LEAF FALLBACK ACTIVE' <<<"$("$sluice" status --socket "$sock")" || fail "fallback not loud"
classes=$(class_count)
[ "$classes" -gt 50 ] || fail "only $classes HTB classes on shp-subs"
grep -q 'xdp' <<<"$(ip -n "$ns" link show shp-subs)" || fail "no XDP program on shp-subs"
grep -q 'bpf' <<<"$(ip netns exec "$ns" tc filter show dev shp-subs egress)" || fail "no tc classifier"
# The test's ports are not bridged: sluiced must say that nothing is forwarded between them.
grep -q 'NOTICE: shp-inet is not a port of a Linux bridge and use_xdp_bridge = false' <<<"$("$sluice" status --socket "$sock")" \
  || fail "unbridged ports not reported"
pass "start: $classes classes, fallback reported, programs attached, unbridged ports reported"

# 2. Reload with unchanged inputs is a no-op.
grep -q unchanged <<<"$("$sluice" reload --socket "$sock")" || fail "reload of unchanged inputs"
pass "reload: unchanged"

# 3. A corrupt ShapedDevices.csv is refused with file:line; the tree is untouched.
cp "$work/inputs/ShapedDevices.csv" "$work/good.csv"
printf 'C-broken,Broken,D-broken,Broken,Nowhere,,100.127.0.1,,1,1,2,2,,\n' >> "$work/inputs/ShapedDevices.csv"
for _ in $(seq 1 20); do
  [ "$(status_field 'd["refused"] is not None')" = True ] && break
  sleep 0.5
done
grep -Eq 'ShapedDevices.csv:[0-9]+.*unknown-parent' <<<"$("$sluice" status --socket "$sock")" \
  || fail "refusal with file:line not shown"
[ "$(class_count)" = "$classes" ] || fail "tree changed after a refused input"
"$sluice" reload --socket "$sock" >/dev/null && fail "reload of invalid inputs exited 0"
pass "corrupt input refused with file:line; tree unchanged"

# 4. Fixing the file resumes reloads; a real change is applied.
cp "$work/good.csv" "$work/inputs/ShapedDevices.csv"
sed -i '0,/,25,/s//,26,/' "$work/inputs/ShapedDevices.csv"
for _ in $(seq 1 20); do
  [ "$(status_field 'd["refused"] is None and d["last_reload"]["outcome"]')" = applied ] && break
  sleep 0.5
done
[ "$(status_field 'd["last_reload"]["outcome"]')" = applied ] || fail "fixed input not applied"
pass "fixed input applied by the inotify reload"

# 5. SIGKILL: the tree stays; a restart adopts it (counters continue, no rebuild).
pid=$(status_field 'd["pid"]')
handles_before=$(ip netns exec "$ns" tc qdisc show dev shp-subs | sort | md5sum)
kill -9 "$pid"
sleep 1
[ "$(class_count)" = "$classes" ] || fail "tree gone after SIGKILL"
grep -q 'xdp' <<<"$(ip -n "$ns" link show shp-subs)" || fail "XDP detached by SIGKILL"
start_daemon log2
[ "$(status_field 'd["adopted"]')" = True ] || fail "restart did not adopt the live tree"
[ "$(ip netns exec "$ns" tc qdisc show dev shp-subs | sort | md5sum)" = "$handles_before" ] \
  || fail "qdisc handles changed across the restart"
grep -q 'epoch 1)' "$work/log2" && fail "restart did not reuse the pinned maps"
pass "SIGKILL + restart: adopted, same handles, pinned maps reused"

# 6. A restart with broken inputs comes up from the last-good copy and says so; fixing the
#    operator's file (not the last-good copy) must be noticed and applied.
restart_with_broken_devices() {  # $1: the ShapedDevices.csv to break, $2: circuits expected, $3: log
  kill -9 "$(status_field 'd["pid"]')"
  cp "$1" "$1.good"
  printf 'garbage without a header\n' > "$1"
  start_daemon "$3"
  [ "$(status_field 'd["refused"] is not None')" = True ] || fail "broken inputs not reported"
  [ "$(status_field 'd["circuits"]')" = "$2" ] || fail "last-good inputs not used (expected $2 circuits)"
  mv "$1.good" "$1"
  for _ in $(seq 1 20); do
    [ "$(status_field 'd["refused"] is None')" = True ] && break
    sleep 0.5
  done
  [ "$(status_field 'd["refused"] is None')" = True ] || fail "fixed file not picked up after a last-good start"
  [ "$(status_field 'd["circuits"]')" = "$2" ] || fail "fixed file: expected $2 circuits"
}
restart_with_broken_devices "$work/inputs/ShapedDevices.csv" 50 log3
pass "restart with broken inputs shapes the last-good inputs; fixing the file resumes reloads"

# 6b. A reload that points the config at other input files moves the watch to them: a later
#     edit of the new file is applied without a SIGHUP.
drop_last_circuit() {  # $1: ShapedDevices.csv; removes every row of its last circuit
  python3 - "$1" <<'PY'
import csv, sys
path = sys.argv[1]
rows = list(csv.reader(open(path, newline='')))
last = rows[-1][0]
with open(path + '.tmp', 'w', newline='') as f:
    csv.writer(f, lineterminator='\n').writerows(r for r in rows if r and r[0] != last)
PY
  mv "$1.tmp" "$1"
}
wait_circuits() {  # $1: expected circuit count
  for _ in $(seq 1 20); do
    [ "$(status_field 'd["circuits"]')" = "$1" ] && return 0
    sleep 0.5
  done
  return 1
}
mkdir -p "$work/inputs2"
cp "$work/inputs/network.json" "$work/inputs/ShapedDevices.csv" "$work/inputs2/"
drop_last_circuit "$work/inputs2/ShapedDevices.csv"
sed -i 's|"inputs/|"inputs2/|' "$work/lqos.conf"
wait_circuits 49 || fail "config change to new input paths not applied"
drop_last_circuit "$work/inputs2/ShapedDevices.csv"
wait_circuits 48 || fail "edit of the new input file not applied (the watch did not move)"
pass "changed input paths are watched after the reload"

# 6c. A devices overrides file is watched too, and the last-good copy includes it: a restart with
#     a broken ShapedDevices.csv still shapes base + overrides.
sed -i 's|^\[sluice\]$|[sluice]\ndevices_overrides = "inputs2/overrides.csv"|' "$work/lqos.conf"
sleep 2  # the config change reloads (no circuit change: the file does not exist yet)
first=$(sed -n 2p "$work/inputs2/ShapedDevices.csv" | cut -d, -f1)
{ echo "$(head -1 "$work/inputs2/ShapedDevices.csv"),Action"; echo "$first,,,,,,,,,,,,,,remove"; } \
  > "$work/inputs2/overrides.csv"
wait_circuits 47 || fail "an edit of the overrides file was not applied"
restart_with_broken_devices "$work/inputs2/ShapedDevices.csv" 47 log3b
pass "overrides file watched; last-good copy keeps the overrides"

# 7. SIGTERM removes everything.
pid=$(status_field 'd["pid"]')
kill -TERM "$pid"
for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
kill -0 "$pid" 2>/dev/null && fail "sluiced did not exit on SIGTERM"
[ "$(class_count)" = 0 ] || fail "tree left after SIGTERM"
grep -q 'xdp' <<<"$(ip -n "$ns" link show shp-subs)" && fail "XDP left after SIGTERM"
[ -e "$bpf/pins" ] && fail "pinned maps left after SIGTERM"
pass "SIGTERM: programs, tree and pins removed"

# 8. Without a leaf fallback the daemon refuses to start on a kernel that lacks the leaf kind.
cp "$work/good.csv" "$work/inputs/ShapedDevices.csv"
sed -i '/^leaf_fallback/d' "$work/lqos.conf"
if ! ip netns exec "$ns" tc qdisc add dev isp0 root cake 2>/dev/null; then
  if ip netns exec "$ns" "$sluiced" --config "$work/lqos.conf" --foreground \
      --pin-dir "$bpf/pins" >"$work/log4" 2>&1; then
    fail "started without a leaf fallback on a kernel without cake"
  fi
  grep -q 'leaf_fallback' "$work/log4" || fail "refusal does not name leaf_fallback"
  [ "$(class_count)" = 0 ] || fail "refused start left a tree"
  pass "no fallback: refused to start, nothing left behind"
fi
echo "daemon_test: all passed"
