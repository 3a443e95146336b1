#!/usr/bin/env bash
# Installs every Debian 12 package Sluice needs to build, test, benchmark and run its lab.
# Idempotent: re-running installs nothing new. Needs root (or sudo).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  clang-16 llvm-16 libclang-rt-16-dev   # BPF objects and libFuzzer targets
  # libraries
  libtomlplusplus-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libmnl-dev libbpf-dev libelf-dev zlib1g-dev linux-libc-dev libboost-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  # kernel tooling, lab and guest-kernel tests
  bpftool iproute2 iperf3 ethtool procps python3 bc iputils-ping curl openssl jq
  irtt gnuplot-nox wrk                   # QoE measurement and plots, API load test
  frr                                    # the HA lab's routers (zebra, ospfd, vtysh): sluice lab ha
  freeradius-utils                       # radclient: RADIUS accounting/CoA requests in the radius tests
  # telemetry history and API authentication
  libsqlite3-dev libargon2-dev libssl-dev   # libssl: built-in TLS of the operator API
  # CRM/NMS integrations: HTTP(S) client, Sonar's AP-to-CPE SNMP walk, and a real agent for its tests
  libcurl4-openssl-dev libsnmp-dev snmpd
  # operator tools: socat forwards the lab's API/UI to the host's loopback (sluice lab up);
  # ncurses draws `sluice top`, tmux drives its test; libpcap captures per subscriber
  # (sluice capture), tcpdump reads the captures back in its test
  socat libncurses-dev tmux libpcap-dev tcpdump
  # flow export tests (docs/flows.md): real NetFlow v5/v9/IPFIX collectors, nfcapd + nfdump, and
  # tshark's decoder (installed non-interactively: its debconf question keeps the default)
  nfdump tshark
  # web UI build and its browser end-to-end test (Debian's chromium, never a downloaded one)
  nodejs chromium
  # the Debian package (tools/deb-test.sh, docs/packaging.md): sd_notify readiness and watchdog,
  # man pages from --help, CPack's dependency scan (dpkg-shlibdeps, file), lint, a clean bookworm root
  libsystemd-dev help2man dpkg-dev file lintian debootstrap
  systemd-container                     # systemd-nspawn: booting the package's unit by hand (docs/packaging.md)
  netsniff-ng                           # trafgen: frames for the real-frame benchmark (bench/realframe/run.sh)
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm: Debian's nodejs package leaves it to the separate `npm` package, while a nodejs built by
# NodeSource (which some Debian mirrors carry) ships npm itself and conflicts with that package.
if ! command -v npm > /dev/null; then
  echo "install-deps: installing npm"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends npm
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
fi
