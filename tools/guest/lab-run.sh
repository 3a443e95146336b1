#!/usr/bin/env bash
# Runs inside the guest kernel for tools/guest-lab.sh. Without arguments (the guest's own root):
# loads the modules the lab needs and runs itself in the host's root (chroot-host) with `inner`.
# With `inner`: brings the lab up with the arguments of lab-args.sh, refuses FIFO-fallback leaves,
# runs each command, takes the lab down. Exit status: 1 when any step failed.
set -uo pipefail
if [ "${1:-}" != inner ]; then
  modprobe -a sch_cake sch_fq_codel sch_htb veth 8021q bridge >/dev/null 2>&1 ||
    echo "guest-lab: modprobe reported a problem"
  dmesg -n 1 2>/dev/null  # keep bridge port messages off the console
  exec chroot-host bash /mnt/share/lab-run.sh inner
fi
source /mnt/share/lab-args.sh
export PATH="$build/src/cli:$build/src/daemon:$PATH" OUT=/mnt/share
state=/run/sluice-lab
echo "guest-lab: kernel $(uname -r); sluice lab up ${up_args[*]}"
if ! sluice lab up "${up_args[@]}"; then
  echo "guest-lab: lab up failed"
  tail -n 30 "$state/sluiced.log" 2>/dev/null
  sluice lab down
  exit 1
fi
if ! grep -q '"leaf_fallback": ""' "$state/lab.json"; then
  echo "guest-lab: the lab's leaves fell back to a FIFO although this kernel has CAKE:"
  cat "$state/lab.json"
  sluice lab down
  exit 1
fi
rc=0
cd /mnt/share
for command in "${commands[@]}"; do
  echo "guest-lab: \$ $command"
  bash -c "$command" 2>&1 || { echo "guest-lab: exit $? from: $command"; rc=1; }
done
sluice lab down || rc=1
exit $rc
