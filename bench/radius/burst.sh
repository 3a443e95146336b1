#!/usr/bin/env bash
# RADIUS load benchmark (issue 20; docs/radius.md "Measured"): 10,000 Accounting-Starts in one
# burst from Debian's radclient to sluiced in the namespace lab, each session a 10/2 Mbit/s
# circuit under one AP (a [[radius.parents]] range). Reports how long radclient took until every
# request was answered (sessions/s), and the time from the first request until the last circuit's
# class is in the kernel (`tc class show` on the download port), plus the batches sluiced used.
#
#   sudo flock /tmp/sluice-lab.lock bench/radius/burst.sh [BUILD_DIR] [SESSIONS] [PARALLEL]
#
# Root; uses the lab's fixed namespaces (hold the lab lock) and takes the lab down at the end.
set -euo pipefail
build=${1:-/work/main/build}
sessions=${2:-10000}
parallel=${3:-256}
src=$(cd "$(dirname "$0")/../.." && pwd)
sluice=$build/src/cli/sluice
labdir=/run/sluice-lab-radius-bench
tmp=$(mktemp -d /tmp/sluice-radius-bench.XXXXXX)
trap '"$sluice" lab --state-dir "$labdir" down >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

echo "bench-secret" > "$tmp/secret"
cat > "$tmp/lqos.conf" <<CONF
version = "1.5"
lqos_directory = "."
node_id = "sluice-radius-bench"
node_name = "radius bench"
[bridge]
use_xdp_bridge = false
to_internet = "shp-inet"
to_network = "shp-subs"
[queues]
default_sqm = "cake diffserv4"
uplink_bandwidth_mbps = 1000
downlink_bandwidth_mbps = 1000
generated_pn_download_mbps = 1000
generated_pn_upload_mbps = 1000
[ip_ranges]
allow_subnets = ["100.64.0.0/10", "2001:db8::/32"]
[sluice]
network_json = "network.json"
shaped_devices_csv = "ShapedDevices.csv"
leaf_fallback = "pfifo"
[radius]
enabled = true
listen = "127.0.0.1"
parents = [{ range = "100.96.0.0/12", node = "Riverbend Water Tower AP1-N" }]
[[radius.clients]]
name = "bench-bng"
source = "127.0.0.1"
secret_file = "$tmp/secret"
CONF

"$sluice" lab --state-dir "$labdir" down >/dev/null 2>&1 || true
"$sluice" lab --state-dir "$labdir" up --sluiced "$build/src/daemon/sluiced" --config "$tmp/lqos.conf" \
  --network "$src/examples/network.json" --devices "$src/examples/ShapedDevices.csv" >/dev/null
socket=$labdir/sluiced.sock

# One Accounting-Start per session, blank-line separated (radclient -f), addresses 100.96.x.y.
python3 - "$sessions" > "$tmp/starts.txt" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    a, b = 96 + (i // 65536), (i // 256) % 256
    print(f'Acct-Status-Type = Start\nAcct-Session-Id = "bench-{i}"\nNAS-Identifier = "bng-bench"\n'
          f'User-Name = "sub{i}"\nFramed-IP-Address = 100.{a}.{b}.{i % 256}\n'
          f'Mikrotik-Rate-Limit = "2M/10M"\n')
PY

# HTB classes on the download port (one per circuit, plus the nodes' and each queue's 1 and 2).
classes() { ip netns exec shaper tc class show dev shp-subs | grep -c "^class htb"; }
radius() { curl -s --unix-socket "$socket" http://sluiced/api/radius; }
base=$(classes)
applies0=$(radius | python3 -c 'import json,sys; print(json.load(sys.stdin)["apply"]["batches"])')
t0=$(date +%s.%N)
ip netns exec shaper radclient -q -s -p "$parallel" -r 3 -t 5 -f "$tmp/starts.txt" \
  127.0.0.1:1813 acct bench-secret > "$tmp/radclient.out" 2>&1 || true
t1=$(date +%s.%N)
# Done when sluiced says every session is a circuit and the kernel holds a class for each.
until [ "$(radius | python3 -c 'import json,sys; print(json.load(sys.stdin)["circuits"])')" = "$sessions" ] &&
      [ "$(classes)" -ge $((base + sessions)) ]; do
  sleep 0.1
  if [ "$(echo "$(date +%s.%N) - $t0 > 900" | bc)" = 1 ]; then echo "timeout" >&2; break; fi
done
t2=$(date +%s.%N)
echo "HTB classes on shp-subs: $base before, $(classes) after"
radius > "$tmp/radius.json"
python3 - "$tmp/radius.json" "$t0" "$t1" "$t2" "$sessions" "$applies0" "$tmp/radclient.out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t0, t1, t2 = map(float, sys.argv[2:5]); n = int(sys.argv[5])
applies0 = int(sys.argv[6]); out = open(sys.argv[7]).read()
c = r["counters"]
print(f"sessions sent:              {n}")
print(f"answered (Accounting-Response): {c['responses']} (starts {c['accounting']['start']}, "
      f"duplicates {c['duplicates']})")
print(f"radclient until all answered: {t1 - t0:.2f} s = {n / (t1 - t0):.0f} sessions/s")
print(f"first request -> last class in the kernel: {t2 - t0:.2f} s")
print(f"circuits: {r['circuits']}, pending: {len(r['pending'])}")
a = r["apply"]
print(f"overlay batches: {a['batches'] - applies0}, last batch {a['last_ms']:.0f} ms "
      f"({a['last_changes']} changes)")
print("radclient summary:", " ".join(l.strip() for l in out.splitlines() if "Total" in l or "Packets" in l))
PY
grep -E "radius: batch|reload \(radius\)" "$labdir/sluiced.log" | tail -30
