#!/usr/bin/env bash
# Runs inside the guest kernel (see tools/guest-tests.sh), whose XDP allows bpf_xdp_adjust_meta:
# the BPF fixtures and the namespace data-path test in both modes, with the metadata mode
# required (SLUICE_REQUIRE_XDP_METADATA=1 turns its skip on a refusing kernel into a failure).
# The host kernel refuses the helper, so this is where the metadata path is proven.
set -uo pipefail
modprobe -a veth bridge 2>&1 || echo "guest: modprobe reported a problem"
build=$(cat /mnt/share/build-dir.txt)
# Only the metadata variants: the metadata-less ones run on the host on every machine, and under
# qemu's emulation each fixture costs about 2.5 s (tc-only fixtures never see metadata).
# The fixtures run as two gtest shards at once, one per vCPU (each process has its own network
# namespace: tests/bpf/TestRun.cpp); each fixture loads the data plane afresh, which the emulated
# verifier makes cost about 2.4 s (120 s in one process on 2026-12-08).
rc=0
echo "guest: running the XDP fixtures with metadata (metadata required, 2 shards)"
pids=()
for shard in 0 1; do
  SLUICE_REQUIRE_XDP_METADATA=1 GTEST_TOTAL_SHARDS=2 GTEST_SHARD_INDEX=$shard \
    chroot-host "$build/tests/bpf/bpf_fixtures_test" --gtest_color=no \
    --gtest_filter='Bpf/FixtureTest.Run/*_Metadata:-Bpf/FixtureTest.Run/tc_*' \
    > "/tmp/fixtures-shard-$shard.log" 2>&1 &
  pids+=($!)
done
for shard in 0 1; do
  wait "${pids[$shard]}" || rc=1
  echo "guest: fixture shard $shard:"
  cat "/tmp/fixtures-shard-$shard.log"
done
echo "guest: running the namespace data-path test with metadata (metadata required)"
SLUICE_REQUIRE_XDP_METADATA=1 chroot-host \
  "$build/tests/integration/dataplane/dataplane_namespace_test" --gtest_color=no \
  --gtest_filter='Modes/DataplaneNamespace.*/Metadata' || rc=1
exit $rc
