#!/bin/bash
# What a holder qdisc level costs each packet (docs/bakery.md, Known limits: a holder HTB qdisc on
# every tx queue would make HTB qdisc adds and deletes graft without deactivating the device).
#
# Usage (root): bench/qdisc-holder.sh [ROUNDS] [SECONDS]
#
# trafgen (netsniff-ng) sends 64-byte UDP frames as fast as one CPU allows through the qdisc path
# of a 4-queue veth, SECONDS each (default 4), ROUNDS times (default 4) in turn: mq -> HTB (one
# 100 Gbit class); mq -> holder HTB (one 100 Gbit class) -> HTB; mq -> holder TBF (100 Gbit,
# 4 MB burst) -> HTB.
# The frames carry another host's MAC, so the peer drops them right after counting them; sender,
# qdiscs, veth transmit and the peer's receive all run on CPU 0. Prints packets/s and ns/packet
# per round, the medians, and each holder's cost per packet (difference of the medians).
set -euo pipefail
rounds=${1:-4}
seconds=${2:-4}
command -v trafgen >/dev/null || {
  echo "trafgen not found: apt-get install netsniff-ng (tools/install-deps.sh lists it)" >&2
  exit 2
}
a=sqh-a-$$
b=sqh-b-$$
conf=$(mktemp)
cleanup() {
  ip netns pids "$a" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -f "$conf"
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add va numtxqueues 4 numrxqueues 4 netns "$a" type veth peer vb numtxqueues 4 \
  numrxqueues 4 netns "$b"
ip -n "$a" link set va up
ip -n "$b" link set vb up
tc() { ip netns exec "$a" tc "$@"; }
mac=$(ip -n "$a" -j link show va | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
cat >"$conf" <<EOF
{ eth(da=02:00:00:00:00:99, sa=$mac), ipv4(saddr=10.213.0.1, daddr=10.213.0.2, ttl=64),
  udp(sport=4000, dport=9), fill(0x00, 18) }
EOF

tree() {  # $1: plain | htb | tbf (the holder)
  tc qdisc del dev va root 2>/dev/null || true
  tc qdisc replace dev va root handle 7fff: mq
  for t in 1 2 3 4; do
    local parent=7fff:$t
    if [ "$1" = htb ]; then
      tc qdisc replace dev va parent "$parent" handle "8$t:" htb default 1
      tc class add dev va parent "8$t:" classid "8$t:1" htb rate 100gbit quantum 60000
      parent=8$t:1
    elif [ "$1" = tbf ]; then
      tc qdisc replace dev va parent "$parent" handle "8$t:" tbf rate 100gbit burst 4mb limit 1mb
      parent=8$t:1
    fi
    tc qdisc replace dev va parent "$parent" handle "$t:" htb default 2
    tc class add dev va parent "$t:" classid "$t:2" htb rate 100gbit quantum 60000
  done
}

rx() { ip netns exec "$b" cat /sys/class/net/vb/statistics/rx_packets; }

round() {  # $1: plain | htb | tbf; sets pps (no subshell: the EXIT trap would run in it)
  tree "$1" 2>/dev/null
  setsid ip netns exec "$a" taskset -c 0 trafgen -o va -i "$conf" --qdisc-path -P 1 --no-sock-mem \
    --notouch-irq --no-cpu-stats -q >/dev/null 2>&1 &
  local pid=$!
  sleep 0.5
  local r0 t0 r1 t1
  r0=$(rx)
  t0=$(date +%s%N)
  sleep "$seconds"
  r1=$(rx)
  t1=$(date +%s%N)
  kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true  # trafgen signals its process group
  wait "$pid" 2>/dev/null || true
  pps=$(((r1 - r0) * 1000000000 / (t1 - t0)))
}

declare -A runs=()
kinds=(plain htb tbf)
declare -A label=([plain]="mq -> HTB" [htb]="mq -> holder HTB -> HTB" [tbf]="mq -> holder TBF -> HTB")
for i in $(seq "$rounds"); do
  line="round $i:"
  for k in "${kinds[@]}"; do
    round "$k"
    runs[$k]="${runs[$k]:-} $pps"
    line+=" ${label[$k]} $pps packets/s ($((1000000000 / pps)) ns);"
  done
  echo "$line"
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : int((v[NR/2]+v[NR/2+1])/2))}'; }
base=$(median "${runs[plain]}")
echo "median ${label[plain]}: $base packets/s ($((1000000000 / base)) ns/packet)"
for k in htb tbf; do
  m=$(median "${runs[$k]}")
  echo "median ${label[$k]}: $m packets/s ($((1000000000 / m)) ns/packet), the holder costs" \
    "$((1000000000 / m - 1000000000 / base)) ns/packet"
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
