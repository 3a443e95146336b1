#!/usr/bin/env bash
# Runs inside the guest kernel (tools/guest/suite.sh; CAKE and fq_codel are modules there):
# TreeGuard end to end (docs/treeguard.md). The lab runs sluiced on tests/data/treeguard/guest
# (two 5/2 Mbit/s circuits with CAKE leaves; TreeGuard switches tg-idle only, both directions
# together) with the busiest core's % injected through SLUICE_TREEGUARD_TEST_CPU_FILE (test only).
# With a UDP probe (200 packets/s, 45 s) through the neighbouring circuit tg-probe across both
# switches:
#   1. CPU 20 %: tg-idle stays on CAKE (no fq_codel qdisc on either port);
#   2. CPU 90 %: idle tg-idle switches to fq_codel: one apply of exactly 2 tc ops (one qdisc
#      replace per direction), an fq_codel qdisc on each port;
#   3. CPU 60 % (between cpu_low_pct and cpu_high_pct: no CPU-driven change) and iperf3 through
#      tg-idle: back to CAKE on traffic, again 2 tc ops, no fq_codel left;
#   4. the probe lost nothing (0 loss through both switches) and still ran at the second.
# Exit status 1 when any check failed. About 2 minutes under emulation (with the boot).
set -uo pipefail
if [ "${1:-}" != inner ]; then
  modprobe -a sch_cake sch_fq_codel sch_htb veth bridge >/dev/null 2>&1 ||
    echo "treeguard: modprobe reported a problem"
  dmesg -n 1 2>/dev/null
  exec chroot-host bash /mnt/share/treeguard.sh inner
fi
build=$(cat /mnt/share/build-dir.txt)
root=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")
data=$root/tests/data/treeguard/guest
export PATH="$build/src/cli:$PATH"
sluiced=$(cat /mnt/share/sluiced.txt)
cpu=/run/sluice-treeguard-cpu
export SLUICE_TREEGUARD_TEST_CPU_FILE=$cpu
sock=/run/sluice-lab/sluiced.sock
rc=0
fail() { echo "treeguard: FAIL: $*"; rc=1; }
status() {  # GET /api/treeguard, retried: the emulated guest is slow under iperf3
  local i out
  for i in 1 2 3; do
    out=$(sluice treeguard status --json --socket "$sock") && [ -n "$out" ] && { echo "$out"; return; }
    sleep 1
  done
}
# The current leaf of tg-idle's download direction as TreeGuard reports it.
current() {
  status | jq -r '[.circuits.list[] | select(.id == "tg-idle") | .down.current][0] // "?"'
}
# The tc ops of the last apply (-1 before the first).
last_ops() { status | jq -r '.last_apply.tc_ops // -1'; }
# fq_codel qdiscs under an HTB class on the shaper's ports (the guest's default qdisc, on the
# ports' other tx queues, is fq_codel too: those hang under the mq root, 7fff:).
fq_codels() {
  local n=0 dev
  for dev in shp-subs shp-inet; do
    n=$((n + $(ip netns exec shaper tc qdisc show dev "$dev" | grep ' fq_codel ' |
      grep -vc ' parent 7fff:')))
  done
  echo "$n"
}
wait_for() {  # wait_for WANT SECONDS (one status a second: each spawns sluice and jq, which
  local i     # the emulated guest pays for while the probe runs)
  for ((i = 0; i < $2; i++)); do
    [ "$(current)" = "$1" ] && return 0
    sleep 1
  done
  return 1
}

echo 20 > "$cpu"
echo "treeguard: sluice lab up --config $data/lqos.conf"
if ! sluice lab up --config "$data/lqos.conf" --sluiced "$sluiced" --no-ui; then
  tail -n 30 /run/sluice-lab/sluiced.log 2>/dev/null
  sluice lab down
  exit 1
fi
sleep 3
[ "$(current)" = cake ] || fail "tg-idle is $(current) at CPU 20 %, expected cake"
n=$(fq_codels)
[ "$n" = 0 ] || fail "$n fq_codel leaves at CPU 20 %"

# One probe across both switches: it must still run when the second is seen, and lose nothing.
# (A CPU switch comes within a tick or two; traffic takes longer to show in the EWMA, and the
# emulated guest is slow to start the stream.)
sluice lab probe tg-probe --pps 200 --seconds 45 > /run/sluice-treeguard-probe.txt 2>&1 &
probe=$!
sleep 2
echo 90 > "$cpu"
if wait_for fq_codel 15; then
  ops=$(last_ops)
  n=$(fq_codels)
  echo "treeguard: CPU 90 %: tg-idle on fq_codel ($ops tc ops, $n fq_codel leaves)"
  [ "$ops" = 2 ] || fail "the switch to fq_codel took $ops tc ops, expected 2"
  [ "$n" = 2 ] || fail "$n fq_codel leaves after the switch, expected 2"
else
  fail "tg-idle did not switch to fq_codel within 15 s at CPU 90 %"
fi
echo 60 > "$cpu"
sleep 2
[ "$(current)" = fq_codel ] || fail "tg-idle left fq_codel at CPU 60 % without traffic"
# Traffic through tg-idle: iperf3 (TCP, 6 s per direction; its rate is not checked). A flood of
# UDP packets instead overloads the emulated guest, which then drops the probe's packets too.
sluice lab traffic tg-idle --seconds 6 --tolerance 100 > /run/sluice-treeguard-traffic.txt 2>&1 &
traffic=$!
if wait_for cake 15; then
  ops=$(last_ops)
  n=$(fq_codels)
  echo "treeguard: traffic: tg-idle back on cake ($ops tc ops, $n fq_codel leaves)"
  [ "$ops" = 2 ] || fail "the switch back to cake took $ops tc ops, expected 2"
  [ "$n" = 0 ] || fail "$n fq_codel leaves left after the switch back"
else
  fail "tg-idle did not return to cake within 15 s of traffic"
  cat /run/sluice-treeguard-traffic.txt
fi
kill -0 "$probe" 2>/dev/null || fail "the probe ended before the switch back: no loss measured across it"
wait "$probe"
probe_rc=$?
cat /run/sluice-treeguard-probe.txt
[ "$probe_rc" = 0 ] || fail "the probe through tg-probe lost packets (exit $probe_rc)"
wait "$traffic" || true
sluice treeguard status --socket "$sock" --activity 5
sluice lab down || rc=1
[ $rc = 0 ] && echo "treeguard: PASSED" || echo "treeguard: FAILED"
exit $rc
