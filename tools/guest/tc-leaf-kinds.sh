#!/usr/bin/env bash
# Runs inside the guest kernel (see tools/guest-tests.sh): loads the leaf qdisc modules, then runs
# the tc leaf-kinds test binary from the host's build tree through chroot-host with CAKE and
# fq_codel required. Its exit status is the suite's.
set -uo pipefail
modprobe -a sch_cake sch_fq_codel sch_htb veth 2>&1 || echo "guest: modprobe reported a problem"
uname -r
rc=0
while read -r bin; do
  [ -z "$bin" ] && continue
  echo "guest: running $bin"
  SLUICE_REQUIRE_LEAF_KINDS=1 chroot-host "$bin" --gtest_color=no || rc=1
done < /mnt/share/binaries.txt
exit $rc
