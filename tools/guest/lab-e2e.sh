#!/usr/bin/env bash
# Runs inside the guest kernel (see tools/guest-tests.sh): the lab end-to-end suites that need
# what this machine's kernel lacks, with the host's build tree through chroot-host:
#   - QoeLab: the demo ISP's lab with CAKE leaves (every leaf checked against the plan) and
#     `sluice lab qoe` on its 10 Mbit/s circuit (CAKE vs pfifo latency under load; issue 8);
#   - the rate checks on a stick (802.1Q) and in bridge mode, with tests/data/e2e/small
#     (ceilings of at most 5 Mbit/s: the emulated CPU forwards 10-20 Mbit/s; issue 5).
# SLUICE_E2E_NO_SKIP=1 turns every skip into a failure. Its exit status is the suite's.
set -uo pipefail
modprobe -a sch_cake sch_fq_codel sch_htb veth 8021q bridge 2>&1 ||
  echo "guest: modprobe reported a problem"
dmesg -n 1 2>/dev/null  # keep bridge port messages off the console
build=$(cat /mnt/share/build-dir.txt)
export SLUICE_E2E_SLUICE=$build/src/cli/sluice SLUICE_E2E_SLUICED=$(cat /mnt/share/sluiced.txt)
export SLUICE_E2E_NO_SKIP=1
# A rate check runs up to three times here: an emulated run's rate also depends on the host CPU
# qemu got during it (LabE2eTest.cpp, rateAttempts()).
export SLUICE_E2E_ATTEMPTS=3
bin=$build/tests/e2e/lab_e2e_test
rc=0
echo "guest: running $bin (QoeLab, demo ISP)"
chroot-host "$bin" --gtest_color=no --gtest_filter='QoeLab.*' || rc=1
echo "guest: running $bin (StickLab and BridgeLab rate checks, small inputs)"
SLUICE_E2E_INPUTS=small chroot-host "$bin" --gtest_color=no \
  --gtest_filter='StickLab.*:BridgeLab.Circuits*:BridgeLab.TwoCircuits*:BridgeLab.Ipv6*' || rc=1
exit $rc
