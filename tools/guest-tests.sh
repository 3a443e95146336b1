#!/usr/bin/env bash
# Guest-kernel suite: runs the kernel tests that need CAKE, fq_codel and 802.1Q VLANs (which this
# machine's kernel lacks) inside Debian's stock kernel under qemu, via the shared run-guest.sh
# harness (../shared/tools/guest-kernel/run-guest.sh; it installs qemu and friends itself on a
# fresh machine). The test binaries come from BUILD_DIR and run chrooted into the host's root.
# One boot runs tools/guest/suite.sh: the data plane with XDP metadata (dataplane-modes.sh), the
# tc leaf-kinds test (tc-leaf-kinds.sh), then the lab's
# QoE and on-a-stick/bridge rate suites (lab-e2e.sh; 10-12 minutes under emulation), then
# TreeGuard's CAKE <-> fq_codel switch under a probe (treeguard.sh; about 1.5 minutes).
#
#   tools/guest-tests.sh BUILD_DIR      # exit 0 only when every guest test passed
#
# The guest mounts its own /tmp over the host's; a BUILD_DIR under /tmp (a clone in /tmp) is bound
# back in by tools/guest/suite.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
runner="$root/../shared/tools/guest-kernel/run-guest.sh"
if [ ! -x "$runner" ]; then
  echo "guest-tests: $runner not found" >&2
  exit 1
fi
binaries=("$build/tests/integration/tc/tc_leaf_kinds_test")
others=("$build/tests/e2e/lab_e2e_test" "$build/src/cli/sluice" "$build/src/daemon/sluiced"
        "$build/tests/bpf/bpf_fixtures_test"
        "$build/tests/integration/dataplane/dataplane_namespace_test")
for b in "${binaries[@]}" "${others[@]}"; do
  if [ ! -x "$b" ]; then
    echo "guest-tests: missing $b (build the project first)" >&2
    exit 1
  fi
done
share=$(mktemp -d /var/tmp/sluice-guest.XXXXXX)
trap 'rm -rf "$share"' EXIT
cp "$root"/tools/guest/*.sh "$share/"
printf '%s\n' "${binaries[@]}" > "$share/binaries.txt"
echo "$build" > "$share/build-dir.txt"
# SLUICE_E2E_SLUICED: another sluiced for the lab suites (default: BUILD_DIR's).
echo "${SLUICE_E2E_SLUICED:-$build/src/daemon/sluiced}" > "$share/sluiced.txt"
# The guest's console stays in BUILD_DIR/guest-console.log (tools/test.sh prints its tail when
# the suite failed). qemu's timeout lies above the sum of the scripts' budgets (suite.sh).
console="$build/guest-console.log"
rm -f "$console"
# The emulated guest runs at the speed of the host CPU qemu gets: anything else busy on the host
# (a process an earlier stage left behind) slows every script. Say what was running.
echo "guest-tests: host load average before the guest: $(cut -d' ' -f1-3 /proc/loadavg);" \
  "busiest processes:"
top -b -n 1 -o %CPU -w 120 2>/dev/null | sed -n '8,12p' || true
echo "guest-tests: booting the guest kernel (tc leaf kinds, lab QoE, lab on a stick)"
rc=0
KC_EXTRA_MODULES="8021q bridge" \
"$runner" --share "$share" --script suite.sh --hostroot --timeout 2700 --mem 2048 \
  --log "$share/console.log" --quiet || rc=$?
cp "$share/console.log" "$console" 2>/dev/null || true
if [ "$rc" != 0 ]; then
  echo "guest-tests: FAILED (exit $rc$([ "$rc" = 124 ] && echo ": qemu's timeout")); console:" >&2
  tail -n 80 "$console" >&2 || true
  exit "$rc"
fi
grep -E '^\[  (PASSED|FAILED|SKIPPED) |tests? from .* ran|^qoe: |^treeguard: |^guest: ---' \
  "$console" || true
echo "guest-tests: passed (console: $console)"
