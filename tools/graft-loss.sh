#!/bin/bash
# What a tc operation costs the packets of *other* tx queues (docs/bakery.md, Known limits).
#
# Usage (root): tools/graft-loss.sh mq|holder|tbf-holder|class [OPERATIONS] [SECONDS]
#
# Two namespaces joined by a veth with 4 tx queues, mq at the root and an HTB qdisc per tx queue
# (as Sluice builds it). A UDP stream (about 20k packets/s) runs from one namespace to the other
# and lands on one tx queue; meanwhile OPERATIONS pairs of operations (default 40) touch tx queue
# 3 only, which carries none of the stream:
#   mq      replace the HTB qdisc under its mq class by a pfifo and back (what a rebuild on spare
#           tx queues does per step; the kernel's mq_graft deactivates the whole device)
#   holder  the same, but the HTB qdisc sits under one class of a per-tx-queue holder HTB qdisc,
#           so the graft is htb_graft (no device deactivation)
#   tbf-holder  the same with a TBF qdisc (100 Gbit, 4 MB burst) as the holder (tbf_graft)
#   class   add and delete one HTB class (what an incremental apply does)
# Prints packets sent, received and the device's TX drop counter; exits 1 when any were lost.
set -euo pipefail
mode=${1:-mq}
ops=${2:-40}
seconds=${3:-3}
case "$mode" in mq | holder | tbf-holder | class) ;; *)
  sed -n '4p' "$0" >&2
  exit 2
  ;;
esac
a=sgl-a-$$
b=sgl-b-$$
cleanup() {
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add va numtxqueues 4 numrxqueues 4 netns "$a" type veth peer vb numtxqueues 4 \
  numrxqueues 4 netns "$b"
ip -n "$a" addr add 10.213.0.1/24 dev va
ip -n "$b" addr add 10.213.0.2/24 dev vb
ip -n "$a" link set va up
ip -n "$b" link set vb up
tc() { ip netns exec "$a" tc "$@"; }

tc qdisc replace dev va root handle 7fff: mq
for t in 1 2 3 4; do
  parent=7fff:$t
  if [ "$mode" = holder ]; then
    tc qdisc replace dev va parent "$parent" handle "8$t:" htb default 1
    tc class add dev va parent "8$t:" classid "8$t:1" htb rate 100gbit quantum 60000
    parent=8$t:1
  elif [ "$mode" = tbf-holder ]; then
    tc qdisc replace dev va parent "$parent" handle "8$t:" tbf rate 100gbit burst 4mb limit 1mb
    parent=8$t:1
  fi
  tc qdisc replace dev va parent "$parent" handle "$t:" htb default 2
  tc class add dev va parent "$t:" classid "$t:2" htb rate 10gbit quantum 60000
done
ip netns exec "$a" ping -c 1 -W 1 10.213.0.2 >/dev/null

ip netns exec "$b" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.213.0.2", 9999)); s.settimeout(1.5); n = 0
try:
    while True:
        s.recv(2048); n += 1
except socket.timeout:
    pass
print(n)' >"/tmp/sgl-rx-$$" &
rx=$!
sleep 0.3
ip netns exec "$a" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); n = 0; end = time.time() + float(sys.argv[1])
while time.time() < end:
    for _ in range(20):
        try:
            s.sendto(b"x" * 64, ("10.213.0.2", 9999)); n += 1
        except OSError:
            pass
    time.sleep(0.0005)
print(n)' "$seconds" >"/tmp/sgl-tx-$$" &
tx=$!
sleep 0.5
parent=7fff:4
[ "$mode" = holder ] || [ "$mode" = tbf-holder ] && parent=84:1
for _ in $(seq "$ops"); do
  if [ "$mode" = class ]; then
    tc class add dev va parent 4: classid 4:99 htb rate 1mbit
    tc class del dev va classid 4:99
  else
    tc qdisc replace dev va parent "$parent" pfifo limit 1000
    tc qdisc replace dev va parent "$parent" handle 4: htb default 2
  fi
  sleep 0.02
done
wait "$tx" "$rx"
sent=$(cat "/tmp/sgl-tx-$$")
received=$(cat "/tmp/sgl-rx-$$")
rm -f "/tmp/sgl-tx-$$" "/tmp/sgl-rx-$$"
dropped=$(ip netns exec "$a" cat /sys/class/net/va/statistics/tx_dropped)
# The tx queue whose HTB qdisc (handle t+1:) sent the most packets carried the stream.
busiest=$(tc -s -j qdisc show dev va | python3 -c '
import json, sys
htb = [q for q in json.load(sys.stdin) if q["kind"] == "htb" and q["handle"] in ("1:", "2:", "3:", "4:")]
print(int(max(htb, key=lambda q: q["packets"])["handle"][:-1]) - 1)')
echo "mode $mode: $((ops * 2)) operations on tx queue 3, the stream on tx queue $busiest; sent" \
  "$sent, received $received, lost $((sent - received)), device TX dropped $dropped"
if [ "$busiest" = 3 ]; then
  echo "the stream took tx queue 3 itself: run again" >&2
  exit 2
fi
[ "$sent" -eq "$received" ]
