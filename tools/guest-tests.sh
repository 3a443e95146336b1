#!/usr/bin/env bash
# Guest-kernel suite: runs the kernel tests that need CAKE and fq_codel (which this machine's
# kernel lacks) inside Debian's stock kernel under qemu, via the shared run-guest.sh harness
# (../shared/tools/guest-kernel/run-guest.sh; it installs qemu and friends itself on a fresh
# machine). The test binaries come from BUILD_DIR and run chrooted into the host's root.
#
#   tools/guest-tests.sh BUILD_DIR      # exit 0 only when every guest test passed
#
# BUILD_DIR must not be under /tmp: the guest mounts its own /tmp over the host's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
runner="$root/../shared/tools/guest-kernel/run-guest.sh"
if [ ! -x "$runner" ]; then
  echo "guest-tests: $runner not found" >&2
  exit 1
fi
case "$build" in
  /tmp/*) echo "guest-tests: $build is under /tmp, which the guest cannot see" >&2; exit 1 ;;
esac
binaries=("$build/tests/integration/tc/tc_leaf_kinds_test")
for b in "${binaries[@]}"; do
  if [ ! -x "$b" ]; then
    echo "guest-tests: missing $b (build the project first)" >&2
    exit 1
  fi
done
share=$(mktemp -d /var/tmp/sluice-guest.XXXXXX)
trap 'rm -rf "$share"' EXIT
cp "$root/tools/guest/tc-leaf-kinds.sh" "$share/"
printf '%s\n' "${binaries[@]}" > "$share/binaries.txt"
echo "guest-tests: booting the guest kernel for ${#binaries[@]} test binaries"
"$runner" --share "$share" --script tc-leaf-kinds.sh --hostroot --timeout 900 --mem 2048 \
  --log "$share/console.log" --quiet || {
  rc=$?
  echo "guest-tests: FAILED (exit $rc); console:" >&2
  tail -n 80 "$share/console.log" >&2 || true
  exit "$rc"
}
grep -E '^\[  (PASSED|FAILED|SKIPPED) |tests? from .* ran' "$share/console.log" || true
echo "guest-tests: passed"
