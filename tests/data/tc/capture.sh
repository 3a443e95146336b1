#!/usr/bin/env bash
# Captures the netlink requests iproute2's `tc` sends for the commands in the table below and
# stores each request as <name>.bin (the raw bytes of the first sendmsg of the command, i.e. one
# nlmsghdr + tcmsg + attributes). Needs root, strace and iproute2; works in a throwaway network
# namespace on a veth with 16 tx queues, which is deleted again on exit.
#
#   tests/data/tc/capture.sh            # rewrites tests/data/tc/*.bin and ifindex.txt
#
# Commands whose kind is missing from the running kernel (cake, fq_codel) fail at the kernel; the
# request bytes are what matters here, so failures are ignored. The commands run in order on one
# device so that parents exist when the kernel accepts them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ns=sl-tc-cap-$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link add a0 numtxqueues 16 numrxqueues 16 type veth peer name b0 \
  numtxqueues 16 numrxqueues 16
ip -n "$ns" link set a0 up
ip -n "$ns" link set b0 up
ip -n "$ns" -o link show a0 | cut -d: -f1 > "$here/ifindex.txt"

capture() {
  local name=$1
  shift
  local log
  log=$(mktemp)
  strace -f -qq -e trace=sendmsg -e write=all -o "$log" ip netns exec "$ns" tc "$@" \
    >/dev/null 2>&1 || true
  # The hex dump lines of the first "bytes in buffer" block are the request.
  # Dump lines look like " | 00010  00 00 ... 00  ascii |": the hex area is 49 columns wide.
  awk '/bytes in buffer/ { n++ } n == 1 && /^ *\| [0-9a-f]+  / { print }' "$log" |
    sed -E 's/^.*\| [0-9a-f]{5}  (.{49}).*$/\1/' |
    tr -s ' ' '\n' | grep -E '^[0-9a-f]{2}$' | tr -d '\n' | xxd -r -p > "$here/$name.bin"
  rm -f "$log"
  printf '%-28s %5d bytes  tc %s\n' "$name" "$(stat -c %s "$here/$name.bin")" "$*"
}

while IFS='|' read -r name cmd; do
  [ -z "$name" ] && continue
  # shellcheck disable=SC2086
  capture "$name" $cmd
done <<'TABLE'
mq_add|qdisc add dev a0 root handle 7fff: mq
htb_qdisc_add|qdisc add dev a0 parent 7fff:1 handle 1: htb r2q 10 default 2
htb_qdisc_add_direct_qlen|qdisc add dev a0 parent 7fff:2 handle 2: htb r2q 50 default 2 direct_qlen 1000
htb_class_add_link|class add dev a0 parent 1: classid 1:1 htb rate 1gbit ceil 1gbit quantum 60000 prio 3
htb_class_add_default|class add dev a0 parent 1:1 classid 1:2 htb rate 1mbit ceil 1gbit quantum 1522 prio 5
htb_class_add_circuit|class add dev a0 parent 1:1 classid 1:3 htb rate 10mbit ceil 100mbit quantum 1522 prio 3
htb_class_add_small|class add dev a0 parent 1:1 classid 1:4 htb rate 10kbit ceil 1mbit quantum 1522 prio 3
htb_class_add_odd|class add dev a0 parent 1:1 classid 1:ff htb rate 123456789bit ceil 987654321bit quantum 12345 prio 0
htb_class_add_64bit|class add dev a0 parent 1:1 classid 1:5 htb rate 40gbit ceil 100gbit quantum 60000 prio 3
htb_class_replace|class replace dev a0 parent 1:1 classid 1:3 htb rate 20mbit ceil 200mbit quantum 2500 prio 3
htb_class_change|class change dev a0 parent 1:1 classid 1:3 htb rate 30mbit ceil 300mbit quantum 3750 prio 3
htb_class_delete|class del dev a0 classid 1:4
pfifo_add|qdisc add dev a0 parent 1:3 handle 8001: pfifo
pfifo_add_limit|qdisc add dev a0 parent 1:2 handle 8002: pfifo limit 100
bfifo_add_limit|qdisc add dev a0 parent 1:ff handle 8003: bfifo limit 150000
pfifo_replace|qdisc replace dev a0 parent 1:3 handle 8001: pfifo limit 50
cake_diffserv4|qdisc add dev a0 parent 1:3 handle 9001: cake unlimited diffserv4 rtt 100ms nonat nowash split-gso no-ack-filter
cake_diffserv8_ack_nat|qdisc add dev a0 parent 1:3 handle 9002: cake bandwidth 50mbit diffserv8 rtt 300ms nat wash no-split-gso ack-filter
cake_besteffort_overhead|qdisc add dev a0 parent 1:3 handle 9003: cake unlimited besteffort rtt 180ms nonat nowash split-gso no-ack-filter overhead -4 mpu 64 memlimit 4194304
cake_precedence|qdisc add dev a0 parent 1:3 handle 9004: cake bandwidth 40gbit precedence rtt 1ms nat nowash split-gso ack-filter
fq_codel_defaults|qdisc add dev a0 parent 1:3 handle 9101: fq_codel limit 10240 flows 1024 quantum 1514 target 5ms interval 100ms ecn memory_limit 33554432
fq_codel_custom|qdisc add dev a0 parent 1:3 handle 9102: fq_codel limit 1000 flows 4096 quantum 300 target 15ms interval 300ms noecn memory_limit 4194304
clsact_add|qdisc add dev a0 clsact
qdisc_delete_root|qdisc del dev a0 root
TABLE
