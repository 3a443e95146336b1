#!/usr/bin/env bash
# Runs inside the guest kernel (see tools/guest-tests.sh): every guest script of the suite, in one
# boot; fails when any of them failed.
set -uo pipefail
# The harness gives the chroot (/host) the guest's own /tmp. A build directory under the host's
# /tmp (a clone in /tmp) would be invisible there: a plain (non-recursive) bind of /host shows the
# host's own /tmp below it (9p cannot be mounted twice: EBUSY), and the top directory of that path
# under /tmp is bound back in at the same place.
build=$(cat /mnt/share/build-dir.txt)
case "$build" in
  /tmp/?*)
    top=/tmp/$(echo "${build#/tmp/}" | cut -d/ -f1)
    mkdir -p /hostorig "/host$top" &&
      mount --bind /host /hostorig &&
      mount --bind "/hostorig$top" "/host$top" ||
      { echo "guest: cannot make $top visible in the chroot"; exit 1; }
    echo "guest: $top bound in from the host (the build directory is under /tmp)"
    ;;
esac
# Each script has a budget (seconds), three to four times what it took on the development machine
# under qemu's emulation (2026-12-08: 147, 3, 372 and 110 s; tools/guest-tests.sh's qemu timeout
# is above their sum). A script past its budget is stopped with its whole process group and counts
# as failed; the next one still runs, so one hang cannot hide how the others did.
uptime_s() { cut -d' ' -f1 /proc/uptime | cut -d. -f1; }
# run_budgeted SCRIPT SECONDS: 0 passed, 1 failed, 2 stopped at its budget.
run_budgeted() {
  local script=$1 budget=$2 pid t0 elapsed status
  t0=$(uptime_s)
  echo "guest: === $script (budget $budget s, at $t0 s since boot)"
  setsid bash "/mnt/share/$script" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    elapsed=$(($(uptime_s) - t0))
    if [ "$elapsed" -ge "$budget" ]; then
      echo "guest: $script still running after its budget of $budget s: stopping it"
      kill -TERM -- "-$pid" 2>/dev/null
      sleep 5
      kill -KILL -- "-$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      echo "guest: --- $script STOPPED at its budget ($budget s)"
      return 2
    fi
    sleep 2
  done
  wait "$pid"
  status=$?
  elapsed=$(($(uptime_s) - t0))
  if [ "$status" = 0 ]; then
    echo "guest: --- $script passed in $elapsed s"
    return 0
  fi
  echo "guest: --- $script FAILED (exit $status) in $elapsed s"
  return 1
}
rc=0
for entry in dataplane-modes.sh:450 tc-leaf-kinds.sh:120 lab-e2e.sh:1500 treeguard.sh:400; do
  run_budgeted "${entry%%:*}" "${entry##*:}" || rc=1
done
exit $rc
