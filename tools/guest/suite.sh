#!/usr/bin/env bash
# Runs inside the guest kernel (see tools/guest-tests.sh): every guest script of the suite, in one
# boot; fails when any of them failed.
set -uo pipefail
rc=0
for script in dataplane-modes.sh tc-leaf-kinds.sh lab-e2e.sh treeguard.sh; do
  echo "guest: === $script"
  bash "/mnt/share/$script" || { echo "guest: $script FAILED"; rc=1; }
done
exit $rc
