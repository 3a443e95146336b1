#!/usr/bin/env bash
# Runs inside the guest kernel (see tools/guest-tests.sh), whose XDP allows bpf_xdp_adjust_meta:
# the BPF fixtures and the namespace data-path test in both modes, with the metadata mode
# required (SLUICE_REQUIRE_XDP_METADATA=1 turns its skip on a refusing kernel into a failure).
# The host kernel refuses the helper, so this is where the metadata path is proven.
set -uo pipefail
modprobe -a veth bridge 2>&1 || echo "guest: modprobe reported a problem"
build=$(cat /mnt/share/build-dir.txt)
rc=0
for bin in tests/bpf/bpf_fixtures_test tests/integration/dataplane/dataplane_namespace_test; do
  echo "guest: running $bin (metadata required)"
  SLUICE_REQUIRE_XDP_METADATA=1 chroot-host "$build/$bin" --gtest_color=no \
    --gtest_filter='*Fixture*:*DataplaneNamespace*' || rc=1
done
exit $rc
