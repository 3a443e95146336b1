#!/usr/bin/env bash
# TreeGuard node virtualisation in the namespace lab on this kernel (HTB; leaves fall back to
# pfifo here), with sluiced's own telemetry as the signal (root). The demo ISP with its AP
# "Riverbend Water Tower AP1-N" at 20/10 Mbit/s, [treeguard.links] on for that AP only, no idle
# time or dwell, and the busiest core's % from SLUICE_TREEGUARD_TEST_CPU_FILE (test only) at 90:
#   1. the idle AP is virtualised: one incremental apply, its class gone from shp-subs;
#   2. traffic through one of its circuits (`sluice lab traffic 1002`) restores it;
#   3. a 1,000 packets/s probe through another of its circuits (1001) runs across both changes
#      and loses nothing.
# Holds /tmp/sluice-lab.lock for its whole run (the lab's namespace names are fixed).
#
#   treeguard_lab_test.sh SLUICE_BINARY SOURCE_DIR
set -uo pipefail
if [ "${SLUICE_TG_LAB_LOCKED:-}" != 1 ]; then
  export SLUICE_TG_LAB_LOCKED=1
  exec flock /tmp/sluice-lab.lock "$0" "$@"
fi
sluice=$1
src=$2
if [ "$(id -u)" != 0 ]; then
  echo "treeguard_lab_test: needs root"
  exit 77
fi
work=$(mktemp -d "/tmp/sluice-treeguard-lab-$$.XXXXXX")
sock=/run/sluice-lab/sluiced.sock
probe=
cleanup() {
  [ -n "$probe" ] && kill "$probe" 2>/dev/null
  "$sluice" lab down >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
rc=0
fail() { echo "treeguard_lab_test: FAIL: $*"; rc=1; }

cp "$src/examples/ShapedDevices.csv" "$work/"
jq '.Riverbend.children["Riverbend Water Tower"].children["Riverbend Water Tower AP1-N"]
      |= (.downloadBandwidthMbps = 20 | .uploadBandwidthMbps = 10)' \
  "$src/examples/network.json" > "$work/network.json"
cat "$src/examples/lqos.conf" - > "$work/lqos.conf" <<'EOF'

[treeguard]
enabled = true
tick_seconds = 1

[treeguard.circuits]
enabled = false

[treeguard.links]
enabled = true
all_nodes = false
nodes = ["Riverbend Water Tower AP1-N"]
idle_min_minutes = 0
min_state_dwell_minutes = 0
EOF
echo 90 > "$work/cpu"
export SLUICE_TREEGUARD_TEST_CPU_FILE=$work/cpu

status() { "$sluice" treeguard status --json --socket "$sock"; }
virtual() { status | jq -r '.nodes.virtual'; }
classes() { ip netns exec shaper tc class show dev shp-subs | grep -c .; }
wait_virtual() {  # wait_virtual WANT
  local i
  for i in $(seq 1 30); do
    [ "$(virtual)" = "$1" ] && return 0
    sleep 0.5
  done
  return 1
}

"$sluice" lab up --config "$work/lqos.conf" --no-ui || { fail "lab up"; exit 1; }
before=$(classes)
"$sluice" lab probe 1001 --pps 1000 --seconds 25 > "$work/probe.txt" 2>&1 &
probe=$!
if wait_virtual 1; then
  apply=$(status | jq -c '.last_apply')
  echo "virtualised: $apply"
  [ "$(echo "$apply" | jq -r '.apply_mode')" = incremental ] || fail "not an incremental apply"
  [ "$(classes)" = $((before - 1)) ] || fail "$(classes) classes on shp-subs, expected $((before - 1))"
else
  fail "the idle AP was not virtualised within 15 s at CPU 90 %"
fi
sleep 2
"$sluice" lab traffic 1002 --seconds 4 --tolerance 100 > "$work/traffic.txt" 2>&1
if wait_virtual 0; then
  echo "restored: $(status | jq -c '.last_apply')"
  [ "$(classes)" = "$before" ] || fail "$(classes) classes on shp-subs after the restore, expected $before"
else
  fail "traffic did not restore the AP within 15 s"
  cat "$work/traffic.txt"
fi
kill -0 "$probe" 2>/dev/null || fail "the probe ended before the restore: no loss measured across it"
wait "$probe"
probe_rc=$?
probe=
cat "$work/probe.txt"
[ "$probe_rc" = 0 ] || fail "the probe through circuit 1001 lost packets"
"$sluice" treeguard status --socket "$sock" --activity 4
[ $rc = 0 ] && echo "treeguard_lab_test: PASSED"
exit $rc
