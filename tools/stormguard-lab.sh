#!/usr/bin/env bash
# StormGuard lab on this kernel (docs/stormguard.md; root; ~3 minutes): a variable-capacity
# "backhaul" namespace between the shaper and the subscribers (HTB at the backhaul's rate over a
# 400 kB byte FIFO: a bloated radio). Site "Backhaul_Site" is planned at 20 Mbit/s with the
# backhaul at 20; under an iperf3 download through circuit "load" the backhaul drops to 6 Mbit/s
# and comes back. A neighbouring circuit "probe" pings the Internet side every 0.2 s: its RTT is
# the subscribers' latency under load. One bring-up, two runs: StormGuard in a dry run (nothing
# changes), then live (config reload). Namespaces of its own (names carry the pid), removed on
# exit (KEEP=1 keeps the work directory). Writes the time series to $STORMGUARD_LAB_OUT
# (tools/stormguard-plot.sh renders it) and prints the table.
#
# It checks issue 17's criteria and exits 1 when one fails: live, the site rate at most the
# backhaul capacity within 30 s of the drop and the probe's RTT p50 back within 20 ms of idle
# within 30 s of it, the site rate back at the plan exactly within 60 s of the backhaul's return; dry run,
# the probe's RTT p50 > idle + 40 ms under the drop. ctest runs it as `stormguard_lab`.
#
# The load is CUBIC (iperf3 -C cubic), as most subscribers' stacks are: this machine defaults to
# BBR, which keeps its own queue near one BDP and never fills the backhaul's FIFO (measured: 14
# packets, ~25 ms, against ~450 ms with CUBIC), so it would hide the bloat StormGuard removes.
# Usage: tools/stormguard-lab.sh SLUICED SLUICE
set -euo pipefail
sluiced=$1 sluice=$2
tag=$$
isp=sl-sgi-$tag shp=sl-sgs-$tag bh=sl-sgb-$tag sub=sl-sgu-$tag
work=$(mktemp -d /tmp/sluice-stormguard-lab.XXXXXX)
out=${STORMGUARD_LAB_OUT:-$work/series.csv}
plan=20 low=6
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for n in "$isp" "$shp" "$bh" "$sub"; do ip netns del "$n" 2>/dev/null || true; done
  umount "$work/bpffs" 2>/dev/null || true
  if [[ -n ${KEEP:-} ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -n 40 "$work/log" 2>/dev/null || true; exit 1; }
for tool in iperf3 ethtool ping python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (tools/install-deps.sh)"
done

write_conf() {  # $1 = true (dry run) | false (live)
  cat >"$work/lqos.conf.new" <<CONF
version = "1.5"
lqos_directory = "$work"
node_id = "stormguard-lab"
[bridge]
use_xdp_bridge = false
to_internet = "shp-inet"
to_network = "shp-subs"
[queues]
# No CAKE or fq_codel on this kernel (DESIGN 5): a short FIFO stands in for the leaf AQM. 24
# packets: the two CUBIC streams' loss there stays near 1 % (their windows are the FIFO here, as
# namespace RTTs are ~0.1 ms), and its own delay at the 5 Mbit/s floor is 58 ms.
default_sqm = "${LEAF_SQM:-pfifo limit 24}"
uplink_bandwidth_mbps = 1000
downlink_bandwidth_mbps = 1000
generated_pn_download_mbps = 1000
generated_pn_upload_mbps = 1000
[ip_ranges]
allow_subnets = ["100.64.0.0/10"]
[sluice]
network_json = "network.json"
shaped_devices_csv = "ShapedDevices.csv"
state_directory = "$work/state"
control_socket = "$work/sluiced.sock"
# The operator API on the shaper namespace's own loopback (no collision with other runs).
webserver_listen = "127.0.0.1:9123"
users_file = "$work/users.json"
history_db = "$work/history.db"
[stormguard]
enabled = true
dry_run = $1
targets = ["Backhaul_Site"]
minimum_download_percentage = 0.25
minimum_upload_percentage = 0.25
# Namespace RTTs are ~0.1 ms, so any queue is a huge ratio: only the absolute threshold decides
# here: above twice the leaf FIFO's own rise between the plan and the floor (14 -> 58 ms), so
# Sluice's own leaf still counts as "good" (<= T/2), and low enough that a probe above the
# backhaul's capacity does not (docs/stormguard.md).
delay_threshold_ms = ${DELAY_T:-100}
delay_threshold_ratio = 100.0
probe_interval_seconds = 5
CONF
  mv "$work/lqos.conf.new" "$work/lqos.conf"
}

write_conf true
cat >"$work/network.json" <<JSON
{"Backhaul_Site": {"downloadBandwidthMbps": $plan, "uploadBandwidthMbps": $plan, "type": "site"}}
JSON
cat >"$work/ShapedDevices.csv" <<CSV
Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,Download Min Mbps,Upload Min Mbps,Download Max Mbps,Upload Max Mbps,Comment
load,load,load-1,load,Backhaul_Site,,100.64.1.10,,1,1,$plan,$plan,
probe,probe,probe-1,probe,Backhaul_Site,,100.64.1.11,,1,1,$plan,$plan,
CSV

mkdir -p "$work/bpffs" && mount -t bpf bpf "$work/bpffs"
for n in "$isp" "$shp" "$bh" "$sub"; do ip netns add "$n"; ip -n "$n" link set lo up; done
# isp0 = shp-inet | br | shp-subs = bh-in | br | bh-out = subs0
ip -n "$shp" link add shp-inet numtxqueues 2 numrxqueues 2 type veth peer name isp0
ip -n "$shp" link add shp-subs numtxqueues 2 numrxqueues 2 type veth peer name bh-in
ip -n "$shp" link set isp0 netns "$isp"
ip -n "$shp" link set bh-in netns "$bh"
ip -n "$bh" link add bh-out type veth peer name subs0
ip -n "$bh" link set subs0 netns "$sub"
ip -n "$shp" link add br0 type bridge mcast_snooping 0
ip -n "$bh" link add br0 type bridge mcast_snooping 0
for i in shp-inet shp-subs; do ip -n "$shp" link set "$i" master br0 up; done
for i in bh-in bh-out; do ip -n "$bh" link set "$i" master br0 up; done
ip -n "$shp" link set br0 up
ip -n "$bh" link set br0 up
ip -n "$isp" addr add 198.51.100.1/24 dev isp0
ip -n "$isp" link set isp0 up
ip -n "$isp" route add 100.64.0.0/10 dev isp0
ip -n "$sub" addr add 100.64.1.10/32 dev subs0
ip -n "$sub" addr add 100.64.1.11/32 dev subs0
ip -n "$sub" link set subs0 up
ip -n "$sub" route add 198.51.100.0/24 dev subs0
ip netns exec "$isp" ethtool -K isp0 tx off >/dev/null
ip netns exec "$sub" ethtool -K subs0 tx off >/dev/null
# Segmentation offloads off: MTU-sized packets, so a burst is not one 64 kB frame in a leaf FIFO.
ip netns exec "$isp" ethtool -K isp0 tso off gso off gro off >/dev/null
ip netns exec "$sub" ethtool -K subs0 tso off gso off gro off >/dev/null
for i in bh-in bh-out; do ip netns exec "$bh" ethtool -K "$i" tso off gso off gro off >/dev/null; done
for i in shp-inet shp-subs; do ip netns exec "$shp" ethtool -K "$i" tso off gso off gro off >/dev/null; done
ip netns exec "$shp" sh -c 'for q in /sys/class/net/shp-*/queues/tx-*/xps_cpus; do echo 0 > "$q"; done'
# The backhaul: toward the subscribers, HTB at its capacity over a 400 kB FIFO (~530 ms at 6 Mbit/s).
ip netns exec "$bh" tc qdisc add dev bh-out root handle 1: htb default 1
ip netns exec "$bh" tc class add dev bh-out parent 1: classid 1:1 htb rate ${plan}mbit
ip netns exec "$bh" tc qdisc add dev bh-out parent 1:1 handle 10: bfifo limit 400000
backhaul() { ip netns exec "$bh" tc class change dev bh-out parent 1: classid 1:1 htb rate "$1"mbit; }

ip netns exec "$shp" "$sluiced" --config "$work/lqos.conf" --foreground --pin-dir "$work/bpffs/p" \
  >"$work/log" 2>&1 &
pids+=($!)
sg() { "$sluice" stormguard status --socket "$work/sluiced.sock" --json 2>/dev/null; }
for _ in $(seq 1 120); do
  grep -q '"state": *"ready"' <<<"$("$sluice" status --socket "$work/sluiced.sock" --json 2>/dev/null)" && break
  sleep 0.5
done
grep -q '"state": *"ready"' <<<"$("$sluice" status --socket "$work/sluiced.sock" --json)" || fail "not ready"
ip netns exec "$sub" ping -c 3 -i 0.2 -W 2 198.51.100.1 >/dev/null || fail "no path through the lab"
ip netns exec "$isp" iperf3 -s -D -p 5201 --logfile "$work/iperf-s" --pidfile "$work/iperf.pid"
sleep 0.5
pids+=("$(cat "$work/iperf.pid")")

echo "t_s,run,backhaul_mbps,site_mbps,probe_rtt_ms,site_traffic_mbps,tcp_rtt_p90_ms" >"$out"
# One run: $1 = name, $2 = seconds at the plan, $3 = seconds at the low rate, $4 = seconds after.
run() {
  local name=$1 before=$2 drop=$3 after=$4 total=$(($2 + $3 + $4))
  ip netns exec "$sub" ping -D -i 0.2 -W 2 -I 100.64.1.11 198.51.100.1 >"$work/ping-$name" 2>&1 &
  local ping=$!
  pids+=("$ping")
  ip netns exec "$sub" iperf3 -c 198.51.100.1 -p 5201 -B 100.64.1.10 -R -t $((total + 1)) -w 2M -b 30M -C cubic -P "${STREAMS:-2}" \
    >"$work/iperf-$name" 2>&1 &
  local load=$!
  pids+=("$load")
  local t0 rate=$plan phase=0 now
  t0=$(date +%s.%N)
  while true; do
    now=$(python3 -c "print(int($(date +%s.%N) - $t0))")
    ((now < total)) || break
    if ((phase == 0 && now >= before)); then phase=1; rate=$low; backhaul $low; fi
    if ((phase == 1 && now >= before + drop)); then phase=2; rate=$plan; backhaul $plan; fi
    # The site's rate as the kernel has it (its HTB class: the one under a queue's root class
    # X:1 that is not the default X:2), and what StormGuard sees (node traffic, TCP RTT p90).
    local site seen
    site=$(ip netns exec "$shp" tc class show dev shp-subs | python3 -c '
import re,sys
u={"":1e-6,"K":1e-3,"M":1,"G":1e3}
r=[float(m.group(2))*u[m.group(3)] for l in sys.stdin for m in [re.search(r"class htb \w+:(\w+) parent \w+:1 .*ceil ([\d.]+)([KMG]?)bit", l)] if m and m.group(1) not in ("1","2")]
print(max(r) if r else "nan")' 2>/dev/null || echo nan)
    seen=$(sg | python3 -c '
import json,sys
n=json.load(sys.stdin)["nodes"][0]
print("%.2f,%s" % (n["download"]["throughput_mbps"], "" if n["rtt_ms"] is None else n["rtt_ms"]))' 2>/dev/null || echo ",")
    printf '%s,%s,%s,%s,,%s\n' "$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")" "$name" "$rate" "$site" "$seen" >>"$work/rates-$name"
    sleep 0.3
  done
  kill "$ping" "$load" 2>/dev/null || true
  wait "$ping" "$load" 2>/dev/null || true
  python3 - "$work/ping-$name" "$work/rates-$name" "$t0" "$name" >>"$out" <<'PY'
import sys, re
ping, rates, t0, name = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
rows = [l.strip().split(",") for l in open(rates)]
for l in open(ping):
    m = re.match(r"\[(\d+\.\d+)\].*time=([\d.]+) ms", l)
    if m:
        t = float(m.group(1)) - t0
        prev = [r for r in rows if float(r[0]) <= t] or rows[:1]
        print(f"{t:.1f},{name},{prev[-1][2]},{prev[-1][3]},{m.group(2)},,")
for r in rows:
    print(",".join(r))
PY
}

# Idle RTT through the probe circuit.
idle=$(ip netns exec "$sub" ping -c 10 -i 0.2 -I 100.64.1.11 198.51.100.1 |
  python3 -c 'import re,sys,statistics; print(statistics.median(float(x) for x in re.findall(r"time=([\d.]+)", sys.stdin.read())))')
echo "idle RTT p50 ${idle} ms"
run off 8 30 4
# The collector's RTT window (10 s) still holds the dry run's bloat: let it pass before going
# live, so that the live controller seeds its RTT baseline from an uncongested path.
sleep 12
write_conf false
"$sluice" reload --socket "$work/sluiced.sock" >/dev/null || fail "reload to live refused"
sleep 2
grep -q '"phase": *"live"' <<<"$(sg)" || fail "StormGuard not live after the reload: $(sg)"
run on 8 40 62
sg >"$work/final.json"
"$sluice" stormguard status --socket "$work/sluiced.sock" --events 40 || true
grep -c 'stormguard: set' "$work/log" | sed 's/^/applied changes logged: /'
grep -m3 'stormguard: set' "$work/log" || true
grep -m2 'DRY RUN' "$work/log" || true

python3 - "$out" "$idle" "$plan" "$low" <<'PY'
import csv, statistics, sys
path, idle, plan, low = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rows = list(csv.DictReader(open(path)))
def p50(run, a, b):
    v = [float(r["probe_rtt_ms"]) for r in rows if r["run"] == run and r["probe_rtt_ms"] and a <= float(r["t_s"]) < b]
    return statistics.median(v) if v else float("nan")
def site(run, a, b):
    return [float(r["site_mbps"]) for r in rows if r["run"] == run and not r["probe_rtt_ms"] and a <= float(r["t_s"]) < b and r["site_mbps"] != "nan"]
print(f"{'t_s':>5} {'backhaul':>9} {'site off':>9} {'rtt off':>9} {'site on':>9} {'rtt on':>9}")
for a in range(0, 110, 5):
    bh = plan if a < 8 or a >= 48 else low
    so, sn = site("off", a, a + 5), site("on", a, a + 5)
    print(f"{a:>5} {bh:>9.0f} {(min(so) if so else float('nan')):>9.1f} {p50('off', a, a + 5):>9.1f} "
          f"{(min(sn) if sn else float('nan')):>9.1f} {p50('on', a, a + 5):>9.1f}")
bad = []
off = p50("off", 18, 38)
if not off > idle + 40:
    bad.append(f"dry run: RTT p50 {off:.1f} ms under the drop is not > idle {idle:.1f} + 40 ms")
# The loaded RTT must be back within 20 ms of idle within 30 s of the drop: some 5 s window that
# ends by then has its p50 there. After that the controller probes upward (below), which raises
# it again for a few seconds at a time: the share of the rest of the low period that stays
# within 20 ms is reported.
back_rtt = next((a for a in [8 + x * 0.5 for x in range(51)] if p50("on", a, a + 5) <= idle + 20), None)
if back_rtt is None:
    on = p50("on", 33, 38)
    bad.append(f"live: the probe's RTT p50 was not back within 20 ms of idle {idle:.1f} ms in any 5 s window ending within 30 s of the drop")
else:
    on = p50("on", back_rtt, back_rtt + 5)
    print(f"live: RTT p50 back within 20 ms of idle {back_rtt + 5 - 8:.1f} s after the drop ({on:.1f} ms)")
    rest = [float(r["probe_rtt_ms"]) for r in rows if r["run"] == "on" and r["probe_rtt_ms"] and back_rtt + 5 <= float(r["t_s"]) < 48]
    if rest:
        share = 100 * sum(1 for v in rest if v <= idle + 20) / len(rest)
        print(f"live: after that, until the backhaul's return, {share:.0f} % of the pings within 20 ms of idle (the rest: probes above the capacity)")
# The site rate must reach the backhaul's capacity within 30 s of the drop. Afterwards the
# controller probes upward every probe_interval_seconds while the RTT is good (it cannot see the
# backhaul's return otherwise), so a probe above the capacity is reported, not failed.
fell = [float(r["t_s"]) for r in rows if r["run"] == "on" and not r["probe_rtt_ms"] and 8 <= float(r["t_s"]) <= 38 and r["site_mbps"] != "nan" and float(r["site_mbps"]) <= low]
if not fell:
    bad.append(f"live: the site rate did not fall to the backhaul's {low} Mbit/s within 30 s of the drop")
else:
    print(f"live: site rate at most the backhaul's {low} Mbit/s {fell[0] - 8:.0f} s after the drop")
above = [r for r in rows if r["run"] == "on" and not r["probe_rtt_ms"] and fell and fell[0] <= float(r["t_s"]) < 48 and r["site_mbps"] != "nan" and float(r["site_mbps"]) > low]
held = [r for r in rows if r["run"] == "on" and not r["probe_rtt_ms"] and fell and fell[0] <= float(r["t_s"]) < 48]
if held:
    print(f"live: above the backhaul (probing) in {100 * len(above) / len(held):.0f} % of the samples until its return")
back = [r for r in rows if r["run"] == "on" and not r["probe_rtt_ms"] and 48 <= float(r["t_s"]) <= 108 and r["site_mbps"] != "nan" and float(r["site_mbps"]) == plan]
if not back:
    bad.append("live: the site rate did not return to the plan within 60 s of the backhaul's return")
else:
    print(f"live: back at the plan {float(back[0]['t_s']) - 48:.0f} s after the backhaul's return")
print(f"dry run: RTT p50 under the drop {off:.1f} ms; idle {idle:.1f} ms")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
