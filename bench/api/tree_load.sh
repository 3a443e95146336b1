#!/usr/bin/env bash
# Operator API load benchmark (issue 7): sluiced shaping a generated ISP of N circuits (default
# 10,000) on veths in a private namespace; wrk with 50 connections against GET /api/tree (and,
# for comparison in the same run, /api/summary and one page of /api/circuits), authenticated with
# an API key (the per-request auth cost is included). Prints p50/p99 latency, requests/s and
# the error count (non-2xx + socket errors) per route. Target for /api/tree: p99 ≤ 50 ms, 0 errors.
#
#   bench/api/tree_load.sh BUILD_DIR [CIRCUITS] [SECONDS]      (root)
set -euo pipefail
build=$(cd "${1:?build dir}" && pwd)
circuits=${2:-10000}
seconds=${3:-15}
sluice=$build/src/cli/sluice sluiced=$build/src/daemon/sluiced gen=$build/tools/gen/sluice-gen
ns=sl-apib-$$
work=$(mktemp -d /var/tmp/sluice-apibench.XXXXXX)
port=9123
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  umount "$work/bpffs" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

dir=$work/isp
"$gen" --circuits "$circuits" --sites $((circuits / 500 + 2)) --seed 7 --out "$dir" --lqos-conf \
  --to-internet shp-inet --to-network shp-subs >/dev/null
python3 - "$dir/lqos.conf" "$dir" "$port" <<'PY'
import sys
path, d, port = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
extra = (f'leaf_fallback = "pfifo"\nstate_directory = "{d}/state"\n'
         f'control_socket = "{d}/sluiced.sock"\nwebserver_listen = "127.0.0.1:{port}"\n'
         f'users_file = "{d}/users.json"\n')
text = text.replace('[sluice]\n', '[sluice]\n' + extra, 1) if '[sluice]' in text else \
    text + '\n[sluice]\n' + extra + f'network_json = "{d}/network.json"\n' + \
    f'shaped_devices_csv = "{d}/ShapedDevices.csv"\n'
open(path, 'w').write(text)
PY
key=$("$sluice" apikey add bench --role read-only --config "$dir/lqos.conf" | grep -o 'sluice_[A-Za-z0-9_-]*' | head -1)
[ -n "$key" ] || { echo "no API key"; exit 1; }

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add shp-inet numtxqueues 8 numrxqueues 8 type veth peer name isp0
ip -n "$ns" link add shp-subs numtxqueues 8 numrxqueues 8 type veth peer name subs0
for i in shp-inet shp-subs isp0 subs0; do ip -n "$ns" link set "$i" up; done
mkdir -p "$work/bpffs" && mount -t bpf bpf "$work/bpffs"
ip netns exec "$ns" "$sluiced" --config "$dir/lqos.conf" --foreground --pin-dir "$work/bpffs/pins" \
  >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  if grep -q '"state": *"ready"' <<<"$("$sluice" status --socket "$dir/sluiced.sock" --json 2>/dev/null)"; then
    break
  fi
  sleep 0.5
done
sleep 3  # a few telemetry ticks
size=$(ip netns exec "$ns" curl -s -H "Authorization: Bearer $key" "http://127.0.0.1:$port/api/tree" | wc -c)
echo "circuits=$circuits  /api/tree body=$size bytes  wrk: 2 threads, 50 connections, ${seconds}s each"
printf '%-28s %9s %9s %9s %10s %7s\n' route p50_ms p99_ms max_ms req_per_s errors
for route in /api/tree /api/summary '/api/circuits?limit=100&sort=down'; do
  out=$(ip netns exec "$ns" wrk -t2 -c50 -d"${seconds}s" --latency \
        -H "Authorization: Bearer $key" "http://127.0.0.1:$port$route")
  python3 - "$route" <<PY
import re, sys
out = """$out"""
def ms(pattern):
    # wrk prints e.g. 850.00us, 2.10ms, 1.02s, 1.50m; anything else (no requests) is nan.
    m = re.search(pattern, out)
    v = re.fullmatch(r'([\d.]+)(us|ms|s|m)', m.group(1)) if m else None
    return float(v.group(1)) * {'us': 0.001, 'ms': 1, 's': 1000, 'm': 60000}[v.group(2)] \
        if v else float('nan')
p50 = ms(r'50%\s+(\S+)')
p99 = ms(r'99%\s+(\S+)')
mx = ms(r'Latency\s+\S+\s+\S+\s+(\S+)')
rps = float(m.group(1)) if (m := re.search(r'Requests/sec:\s+(\S+)', out)) else float('nan')
non2xx = int(m.group(1)) if (m := re.search(r'Non-2xx or 3xx responses:\s+(\d+)', out)) else 0
sock = sum(int(x) for x in re.findall(r'(?:connect|read|write|timeout) (\d+)', out))
print(f'{sys.argv[1]:<28} {p50:9.2f} {p99:9.2f} {mx:9.2f} {rps:10.0f} {non2xx + sock:7d}')
PY
done
grep -c 'telemetry tick' "$work/log" >/dev/null || true
