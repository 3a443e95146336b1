#!/usr/bin/env bash
# StormGuard's persisted adjustments in sluiced on a real kernel (root; private namespace): an
# adjustment in <state dir>/stormguard/adjustments.json made under the plan in force is replayed
# in the first plan at start (the site's HTB class at the adjusted rate as soon as sluiced is
# ready, no StormGuard apply after the start's, and status says so); an operator
# reload with the same plan keeps it; a reload that re-plans the site discards it (the class at
# the new plan, the state file emptied, the discard in the events); leaving live mode returns
# the node to its plan. Usage: stormguard_replay_test.sh SLUICED SLUICE
set -euo pipefail
sluiced=$1 sluice=$2
ns=sl-sgr-$$
work=$(mktemp -d /tmp/sluice-stormguard-replay.XXXXXX)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && sleep 1
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  umount "$work/bpffs" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -n 30 "$work/log" 2>/dev/null || true; exit 1; }

conf() {  # $1 = dry_run value, $2 = extra [stormguard] keys
  cat >"$work/lqos.conf" <<CONF
version = "1.5"
lqos_directory = "$work"
[bridge]
use_xdp_bridge = false
to_internet = "sgr-inet"
to_network = "sgr-subs"
[queues]
default_sqm = "pfifo"
uplink_bandwidth_mbps = 1000
downlink_bandwidth_mbps = 1000
[ip_ranges]
allow_subnets = ["100.64.0.0/10"]
[sluice]
network_json = "network.json"
shaped_devices_csv = "ShapedDevices.csv"
state_directory = "$work/state"
control_socket = "$work/sluiced.sock"
webserver_listen = "127.0.0.1:9123"
users_file = "$work/users.json"
history_db = ""
[stormguard]
enabled = true
dry_run = $1
targets = ["Site"]
${2:-}
CONF
}
net() {
  echo "{\"Site\": {\"downloadBandwidthMbps\": $1, \"uploadBandwidthMbps\": 20}}" >"$work/network.json"
}
conf false
net 20
cat >"$work/ShapedDevices.csv" <<CSV
Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,Download Min Mbps,Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment
c1,c1,d1,d1,Site,,100.64.1.10,,1,1,20,20,
CSV
mkdir -p "$work/state/stormguard"
cat >"$work/state/stormguard/adjustments.json" <<JSON
{"version": 1, "adjustments": [{"node": "Site", "download_mbps": 12, "upload_mbps": null,
  "planned_download_mbps": 20, "planned_upload_mbps": 20,
  "operator_download_mbps": 20, "operator_upload_mbps": 20}]}
JSON
mkdir -p "$work/bpffs" && mount -t bpf bpf "$work/bpffs"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add sgr-inet numtxqueues 2 numrxqueues 2 type veth peer name sgr-x
ip -n "$ns" link add sgr-subs numtxqueues 2 numrxqueues 2 type veth peer name sgr-y
for i in sgr-inet sgr-subs sgr-x sgr-y; do ip -n "$ns" link set "$i" up; done
ip netns exec "$ns" "$sluiced" --config "$work/lqos.conf" --foreground --pin-dir "$work/bpffs/p" \
  >"$work/log" 2>&1 &
pid=$!
sg() { "$sluice" stormguard status --socket "$work/sluiced.sock" --json; }
# The site's download class ceil in Mbit/s (the HTB class under a root class X:1, not X:2).
site() {
  ip netns exec "$ns" tc class show dev sgr-subs | python3 -c '
import re,sys
u={"":1e-6,"K":1e-3,"M":1,"G":1e3}
r=[float(m.group(2))*u[m.group(3)] for l in sys.stdin for m in [re.search(r"class htb \w+:(\w+) parent \w+:1 .*ceil ([\d.]+)([KMG]?)bit", l)] if m and m.group(1) not in ("1","2")]
print(max(r) if r else "none")'
}
wait_for() {  # $1 = description, $2.. = command that must succeed
  local what=$1; shift
  for _ in $(seq 1 40); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  ip netns exec "$ns" tc class show dev sgr-subs; fail "$what"
}
ready() { "$sluice" status --socket "$work/sluiced.sock" --json 2>/dev/null | grep -q '"state": *"ready"'; }
site_is() { [[ $(site) == "$1" ]]; }
wait_for "sluiced ready" ready

# 1. Replayed in the first plan: the class at 12 when sluiced is ready (before StormGuard's first
# tick), the start's apply the only one; status says so.
site_is 12.0 || fail "site class at $(site) when sluiced is ready, not the replayed 12 Mbit/s"
grep -q 'overlay in the first plan: 0 dynamic circuits, 1 node rates' "$work/log" ||
  fail "the first plan did not carry the adjustment"
grep -q 'ready: .*overlay: 0 dynamic circuits, 1 node rates' "$work/log" || fail "ready line"
sleep 2.5  # two StormGuard ticks: a replay through changeOverlay would have happened by now
site_is 12.0 || fail "site class at $(site) after StormGuard's first ticks"
grep -q 'reload (stormguard)' "$work/log" && fail "a StormGuard apply after start"
"$sluice" status --socket "$work/sluiced.sock" --json | python3 -c '
import json,sys
s=json.load(sys.stdin)
assert s["last_reload"]["trigger"] == "startup", s["last_reload"]' ||
  fail "an apply after the start's: $("$sluice" status --socket "$work/sluiced.sock" --json)"
sg | python3 -c '
import json,sys
n=json.load(sys.stdin)["nodes"][0]
assert n["download"]["current_mbps"] == 12 and n["download"]["planned_mbps"] == 20, n
assert n["upload"]["current_mbps"] == 20, n' || fail "status after replay: $(sg)"
grep -q 'stormguard: set Site download' "$work/log" && fail "replay logged as a decision"
grep -q 'adjustments replayed into the first plan' "$work/log" || fail "no replay in the log"

# 2. An operator reload with the same plan keeps it.
"$sluice" reload --socket "$work/sluiced.sock" >/dev/null || fail "reload refused"
sleep 2
site_is 12.0 || fail "a reload with the same plan lost the adjustment (site $(site))"

# 3. The operator re-plans the site: the adjustment is discarded, the class at the new plan.
net 25
"$sluice" reload --socket "$work/sluiced.sock" >/dev/null || fail "reload refused"
wait_for "site class at the new plan 25 (is $(site))" site_is 25.0
sg | grep -q 'adjustment discarded' || fail "no discard event: $(sg)"
python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["adjustments"] == [], d' "$work/state/stormguard/adjustments.json" || fail "state file not emptied"

# 4. Leaving live mode returns the node to its plan and removes the state file.
net 20
cat >"$work/state/stormguard/adjustments.json" <<JSON
{"version": 1, "adjustments": []}
JSON
conf true
"$sluice" reload --socket "$work/sluiced.sock" >/dev/null || fail "reload refused"
wait_for "site class at the plan 20 in a dry run (is $(site))" site_is 20.0
sleep 1.5
[[ -e $work/state/stormguard/adjustments.json ]] && fail "state file kept in a dry run"
sg | grep -q '"phase": *"dry_run"' || fail "phase after dry_run = true: $(sg)"
# 5. delay_probe_active: the ICMP probe runs (toward the namespace's loopback) and reports.
conf true $'strategy = "delay_probe_active"\nactive_ping_target = "127.0.0.1"\nactive_ping_interval_seconds = 1'
"$sluice" reload --socket "$work/sluiced.sock" >/dev/null || fail "reload refused"
probe_answers() {
  sg | python3 -c '
import json,sys
p=json.load(sys.stdin)["active_probe"]
assert p and p["answered"] >= 2 and p["last_rtt_ms"] is not None and p["error"] == "", p'
}
wait_for "active probe answers ($(sg | grep -o '"active_probe".*' | head -c 300))" probe_answers
"$sluice" stormguard status --socket "$work/sluiced.sock" | grep -q 'active probe: 127.0.0.1' ||
  fail "sluice stormguard status does not show the probe"
conf true $'strategy = "delay_probe_active"\nactive_ping_target = "one.one.one.one"'
"$sluice" reload --socket "$work/sluiced.sock" >/dev/null 2>&1 && fail "a host name as active_ping_target was accepted"
echo "PASS: replayed in the first plan at start (12 of 20 Mbit/s, no apply after it; the minimum is 10), kept over a same-plan reload, discarded by a re-plan (25), dry run at the plan, the active probe answers, a host name refused"
