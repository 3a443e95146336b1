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
rc=0
for script in dataplane-modes.sh tc-leaf-kinds.sh lab-e2e.sh treeguard.sh; do
  echo "guest: === $script"
  bash "/mnt/share/$script" || { echo "guest: $script FAILED"; rc=1; }
done
exit $rc
