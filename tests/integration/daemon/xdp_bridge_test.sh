#!/usr/bin/env bash
# Bridge mode without a Linux bridge (lqos.conf use_xdp_bridge = true, LibreQoS's default): the
# two shaping ports are NOT joined by a bridge; sluiced's tc-ingress forwarder must carry traffic
# between them and the egress classifier must shape it. iperf3 through demo circuit 1002
# (10/2 Mbit) in three private namespaces. Usage: xdp_bridge_test.sh SLUICED SLUICE SOURCE_DIR
set -euo pipefail
sluiced=$1 sluice=$2 src=$3
tag=$$
isp=sl-xbi-$tag shp=sl-xbs-$tag sub=sl-xbu-$tag
work=$(mktemp -d /tmp/sluice-xdpbridge-test.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for n in "$isp" "$shp" "$sub"; do ip netns del "$n" 2>/dev/null || true; done
  umount "$work/bpffs" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -n 30 "$work/log" 2>/dev/null || true; exit 1; }

cp "$src"/examples/{lqos.conf,network.json,ShapedDevices.csv} "$work"/
python3 - "$work/lqos.conf" "$work" <<'PY'
import re, sys
path, work = sys.argv[1], sys.argv[2]
text = re.sub(r'^use_xdp_bridge = false', 'use_xdp_bridge = true', open(path).read(), count=1,
              flags=re.M)
text = text.replace('[sluice]\n', '[sluice]\nleaf_fallback = "pfifo"\n'
    f'state_directory = "{work}/state"\ncontrol_socket = "{work}/sluiced.sock"\n', 1)
open(path, 'w').write(text)
PY
grep -q '^use_xdp_bridge = true' "$work/lqos.conf" || fail "config not rewritten"
mkdir -p "$work/bpffs" && mount -t bpf bpf "$work/bpffs"
for n in "$isp" "$shp" "$sub"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n "$shp" link add shp-inet numtxqueues 8 numrxqueues 8 type veth peer name isp0
ip -n "$shp" link add shp-subs numtxqueues 8 numrxqueues 8 type veth peer name subs0
ip -n "$shp" link set isp0 netns "$isp"
ip -n "$shp" link set subs0 netns "$sub"
ip -n "$isp" addr add 198.51.100.1/24 dev isp0
ip -n "$isp" link set isp0 up
ip -n "$isp" route add 100.64.0.0/10 dev isp0
ip -n "$sub" addr add 100.64.1.10/32 dev subs0
ip -n "$sub" link set subs0 up
ip -n "$sub" route add 198.51.100.0/24 dev subs0
for i in shp-inet shp-subs; do ip -n "$shp" link set "$i" up; done
# veth frames carry no finished checksum and XDP redirection loses that state (DESIGN §5).
ip netns exec "$isp" ethtool -K isp0 tx off >/dev/null
ip netns exec "$sub" ethtool -K subs0 tx off >/dev/null
# queue_mapping picks the tx queue only with XPS off (DESIGN §1).
ip netns exec "$shp" sh -c 'for q in /sys/class/net/shp-*/queues/tx-*/xps_cpus; do echo 0 > "$q"; done'

ip netns exec "$shp" "$sluiced" --config "$work/lqos.conf" --foreground --pin-dir "$work/bpffs/p" \
  >"$work/log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  grep -q '"state": *"ready"' <<<"$("$sluice" status --socket "$work/sluiced.sock" --json 2>/dev/null)" && break
  sleep 0.5
done
grep -q '"state": *"ready"' <<<"$("$sluice" status --socket "$work/sluiced.sock" --json)" || fail "not ready"
grep -q 'NOTICE' <<<"$("$sluice" status --socket "$work/sluiced.sock")" && fail "notice despite use_xdp_bridge"
grep -q 'bpf' <<<"$(ip netns exec "$shp" tc filter show dev shp-inet ingress)" || fail "no ingress forwarder"

# Without the forwarder nothing connects these namespaces: a ping proves it forwards.
ip netns exec "$sub" ping -c 3 -i 0.2 -W 2 198.51.100.1 >/dev/null || fail "no forwarding between the ports"

ip netns exec "$isp" iperf3 -s -D -1 -p 5201 --logfile "$work/iperf-s1"
sleep 0.5
down=$(ip netns exec "$sub" iperf3 -c 198.51.100.1 -p 5201 -B 100.64.1.10 -R -t 4 -O 1 -J |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6)')
ip netns exec "$isp" iperf3 -s -D -1 -p 5202 --logfile "$work/iperf-s2"
sleep 0.5
up=$(ip netns exec "$sub" iperf3 -c 198.51.100.1 -p 5202 -B 100.64.1.10 -t 4 -O 1 -J |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6)')
echo "circuit 1002 (ceil 10/2 Mbit): measured down $down, up $up Mbit/s"
# TCP payload at most ceil x 0.956 (headers count against HTB's ceil); ±10 % around that.
python3 - "$down" "$up" <<'PY' || fail "rates outside tolerance"
import sys
down, up = map(float, sys.argv[1:])
ok = abs(down - 9.56) <= 0.956 and abs(up - 1.912) <= 0.1912
sys.exit(0 if ok else 1)
PY
echo "xdp_bridge_test: all passed"
