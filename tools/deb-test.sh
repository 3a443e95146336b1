#!/usr/bin/env bash
# The Debian package end to end (root; docs/packaging.md):
#   1. builds sluice_<version>_amd64.deb with cpack in BUILD_DIR (under the shared build lock) and
#      lints it (lintian: no error or warning) and scores its unit (systemd-analyze security <= 3.0);
#   2. makes a fresh Debian 12 root with debootstrap (the base is cached as a tarball under
#      /var/tmp/sluice-deb-test, and so are the downloaded .debs; a fresh root is unpacked each run);
#   3. inside it (chroot): apt-get install ./sluice_*.deb, `sluice check` on the demo ISP (with its
#      own lqos.conf, and with the packaged /etc/sluice/lqos.conf reading LibreQoS's paths);
#   4. sluiced --foreground from the package, with only the unit's capabilities and group, in a
#      network namespace of its own with veths, answering `sluice status` and stopping cleanly;
#   5. apt-get remove (the conffile stays, the rest goes), apt-get purge, and a check that nothing
#      the package or the daemon wrote remains.
# Any failing step stops the test with a message naming it.
#
#   tools/deb-test.sh [BUILD_DIR]      # default: <repo>/build
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
cache=${SLUICE_DEB_CACHE:-/var/tmp/sluice-deb-test}
t0=$SECONDS

fail() {
  echo "deb-test: FAIL: $*" >&2
  exit 1
}
step() { echo "=== deb-test: $* (at $((SECONDS - t0)) s)"; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, network namespaces)"
for tool in debootstrap lintian systemd-analyze cpack flock ip chroot nsenter unshare python3; do
  command -v "$tool" > /dev/null || fail "$tool not found (tools/install-deps.sh)"
done

# Every mount below (the chroot's /proc, /sys, /dev, bpffs, /run) lives in a private mount
# namespace: it disappears with this process even if the cleanup does not run.
if [ "${SLUICE_DEB_TEST_IN_NS:-}" != 1 ]; then
  exec env SLUICE_DEB_TEST_IN_NS=1 unshare --mount --propagation private -- "$0" "$build"
fi

ns=sl-deb-$$
work=$(mktemp -d /var/tmp/sluice-deb-run.XXXXXX)
root=$work/root
dpid=
cleanup() {
  set +e
  [ -n "$dpid" ] && kill -9 "$dpid" 2> /dev/null
  ip netns del "$ns" 2> /dev/null
  # Innermost first; then never delete through a mount that is still there.
  awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r | xargs -r -n1 umount -l
  if grep -q " $root/" /proc/self/mounts; then
    echo "deb-test: mounts remain under $root; not deleting $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# --- 1. The package --------------------------------------------------------------------------
step "build the package (cpack in $build)"
flock /tmp/sluice-build.lock bash -c "
  set -e
  cmake --build '$build' --target sluice_package_files
  rm -f '$build'/sluice_*_amd64.deb
  cd '$build' && cpack -G DEB > '$work/cpack.log' 2>&1 || { cat '$work/cpack.log'; exit 1; }
" || fail "package build"
debs=("$build"/sluice_*_amd64.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single sluice_*_amd64.deb"
deb=${debs[0]}
echo "deb-test: $(basename "$deb"): $(du -h "$deb" | cut -f1)"
depends=$(dpkg-deb -f "$deb" Depends)
echo "deb-test: Depends: $depends"
grep -Eq -- '-dev\b' <<< "$depends" && fail "a -dev package among the dependencies: $depends"

step "lintian"
lintian --fail-on error,warning --display-info "$deb" || fail "lintian reports errors or warnings (above)"

step "systemd-analyze security of the packaged unit (exposure at most 3.0)"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/sluiced.service > "$work/sluiced.service"
systemd-analyze security --offline=true --threshold=30 "$work/sluiced.service" > "$work/exposure.log" 2>&1 ||
  { cat "$work/exposure.log"; fail "unit exposure above 3.0"; }
grep 'Overall exposure' "$work/exposure.log"

# --- 2. A fresh Debian 12 root ---------------------------------------------------------------
# The mirror the host uses: /etc/apt/sources.list, else its deb822 sources.
mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2> /dev/null || true)
if [ -z "$mirror" ]; then
  mirror=$(awk '/^URIs:/ {u = $2} /^Suites:/ && / bookworm( |$)/ && u != "" {print u; exit}' \
    /etc/apt/sources.list.d/*.sources 2> /dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$cache/archives/partial"
base=$cache/bookworm-minbase.tar
if [ ! -f "$base" ]; then
  step "debootstrap bookworm from $mirror (first run; cached in $base)"
  boot=$(mktemp -d "$cache/boot.XXXXXX")
  debootstrap --variant=minbase --cache-dir="$cache/archives" bookworm "$boot" "$mirror" \
    > "$cache/debootstrap.log" 2>&1 || {
    tail -20 "$cache/debootstrap.log"
    rm -rf "$boot"
    fail "debootstrap"
  }
  tar -C "$boot" -cf "$base.tmp" . && mv "$base.tmp" "$base"
  rm -rf "$boot"
fi
step "unpack a fresh root"
mkdir -p "$root"
tar -C "$root" -xf "$base"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cat > "$root/etc/apt/sources.list" << EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
EOF
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount --bind "$cache/archives" "$root/var/cache/apt/archives"

snapshot() {
  (cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp \
    -o -path ./var/cache/apt -o -path ./var/lib/apt -o -path ./var/log \) -prune -o -print) |
    sort
}

# --- 3. Install and check --------------------------------------------------------------------
name=$(basename "$deb")
step "apt-get install ./$name in the fresh root"
cp "$deb" "$root/tmp/"
in_root apt-get update -q > "$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt-get update"; }
# apt resolves the package's dependencies from the bare root (a dry run, to show it), then the
# dependencies go in first, so that the purge check below can tell their files from the
# package's: everything new after the real install is the package's.
in_root apt-get install -s -q "/tmp/$name" > "$work/apt.log" 2>&1 ||
  { cat "$work/apt.log"; fail "apt-get cannot resolve ./$name in a fresh root"; }
echo "deb-test: from a fresh root apt installs $(grep -c '^Inst ' "$work/apt.log") packages for $name"
in_root apt-get satisfy -y -q "$(dpkg-deb -f "$deb" Depends)" > "$work/apt.log" 2>&1 ||
  { cat "$work/apt.log"; fail "apt-get satisfy (the package's Depends)"; }
snapshot > "$work/before"
in_root apt-get install -y -q "/tmp/$name" > "$work/apt.log" 2>&1 ||
  { cat "$work/apt.log"; fail "apt-get install ./$name"; }
grep -q '^Setting up sluice' "$work/apt.log" || { cat "$work/apt.log"; fail "apt-get did not set up sluice"; }
for f in /usr/sbin/sluiced /usr/bin/sluice /usr/lib/sluice/sluice.bpf.o /usr/share/sluice/web/index.html \
  /lib/systemd/system/sluiced.service /etc/sluice/lqos.conf /usr/share/man/man8/sluiced.8.gz \
  /usr/share/man/man1/sluice.1.gz /usr/share/doc/sluice/copyright /usr/share/doc/sluice/packaging.md \
  /usr/lib/tmpfiles.d/sluice.conf; do
  [ -s "$root$f" ] || fail "$f not installed"
done
in_root getent group sluice > /dev/null || fail "postinst did not create group sluice"
[ "$(in_root stat -c '%a %U:%G' /var/lib/sluice)" = "750 root:sluice" ] || fail "/var/lib/sluice not 0750 root:sluice"
grep -qx /etc/sluice/lqos.conf "$root/var/lib/dpkg/info/sluice.conffiles" || fail "lqos.conf is not a conffile"
# The shipped object is the one sluiced loads: its bytes are embedded in the binary (skeleton).
python3 - "$root/usr/lib/sluice/sluice.bpf.o" "$root/usr/sbin/sluiced" << 'PY' || fail "sluice.bpf.o differs from the object embedded in sluiced"
import sys
obj, exe = (open(p, "rb").read() for p in sys.argv[1:])
sys.exit(0 if obj in exe else 1)
PY
in_root /usr/bin/sluice --help > /dev/null || fail "sluice --help"

step "sluice check on the demo ISP"
mkdir -p "$root/root/examples" "$root/opt/libreqos/src"
cp "$repo"/examples/{lqos.conf,network.json,ShapedDevices.csv} "$root/root/examples/"
in_root sh -c 'cd /root/examples && sluice check --config lqos.conf' > "$work/check.log" 2>&1 ||
  { cat "$work/check.log"; fail "sluice check on examples/lqos.conf"; }
grep -q '^circuits: 50$' "$work/check.log" || { cat "$work/check.log"; fail "demo ISP: not 50 circuits"; }
# The packaged config reads LibreQoS's paths: the demo's inputs placed there.
cp "$repo"/examples/{network.json,ShapedDevices.csv} "$root/opt/libreqos/src/"
in_root sluice check --config /etc/sluice/lqos.conf > "$work/check.log" 2>&1 ||
  { cat "$work/check.log"; fail "sluice check --config /etc/sluice/lqos.conf (LibreQoS paths)"; }
grep -q '^ok: 0 error(s), 0 warning(s)$' "$work/check.log" || { cat "$work/check.log"; fail "packaged config: not clean"; }

# --- 4. The daemon ---------------------------------------------------------------------------
step "sluiced --foreground in namespace $ns with the unit's capabilities"
inet=di$$ subs=ds$$
ip netns add "$ns"
ip -n "$ns" link add "$inet" numtxqueues 2 type veth peer name "pi$$"
ip -n "$ns" link add "$subs" numtxqueues 2 type veth peer name "ps$$"
for i in lo "$inet" "$subs" "pi$$" "ps$$"; do ip -n "$ns" link set "$i" up; done
# /sys mounted from inside the namespace shows its interfaces (a bind of the host's /sys would
# show the host's); bpffs is a fresh instance, so the daemon's pins stay in this test.
nsenter --net="/run/netns/$ns" mount -t sysfs sysfs "$root/sys"
mount -t bpf -o mode=0700 bpf "$root/sys/fs/bpf"
# The packaged config with this namespace's ports; the kernel here lacks CAKE (DESIGN §5).
sed -e "s/^to_internet = .*/to_internet = \"$inet\"/" -e "s/^to_network = .*/to_network = \"$subs\"/" \
  -e 's/^leaf_fallback = .*/leaf_fallback = "pfifo"/' "$root/etc/sluice/lqos.conf" > "$root/root/test.conf"
unit=$root/lib/systemd/system/sluiced.service
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z ' 'a-z\n' | sed 's/^cap_/+/' | paste -sd,)
group=$(sed -n 's/^Group=//p' "$unit")
[ -n "$caps" ] && [ -n "$group" ] || fail "unit lacks CapabilityBoundingSet= or Group="
mkdir -p -m 0750 "$root/run/sluice"  # RuntimeDirectory=
chgrp "$(in_root getent group "$group" | cut -d: -f3)" "$root/run/sluice"
echo "deb-test: capabilities $caps, group $group"
nsenter --net="/run/netns/$ns" chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin \
  /usr/bin/setpriv --regid="$group" --clear-groups --inh-caps="-all,$caps" \
  --ambient-caps="-all,$caps" --bounding-set="-all,$caps" -- /bin/sh -c \
  'umask 0077; exec /usr/sbin/sluiced --foreground --config /root/test.conf' > "$work/sluiced.log" 2>&1 &
dpid=$!
ready=
for _ in $(seq 1 120); do
  if grep -q '"state": *"ready"' <<< "$(in_root sluice status --json 2> /dev/null)"; then
    ready=1
    break
  fi
  kill -0 "$dpid" 2> /dev/null || break
  sleep 0.5
done
[ -n "$ready" ] || { tail -30 "$work/sluiced.log"; fail "sluiced did not answer sluice status as ready"; }
in_root sluice status > "$work/status.log" || fail "sluice status"
head -3 "$work/status.log"
in_root sluice status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["circuits"] != 50)' ||
  fail "sluiced does not shape the demo's 50 circuits"
[ "$(in_root stat -c '%a %G' /run/sluice/sluiced.sock)" = "660 $group" ] || fail "control socket not 0660 :$group"
# (Outputs captured first: grep -q closing a pipe early would fail the pipeline under pipefail.)
link=$(ip -n "$ns" link show "$subs")
grep -q xdp <<< "$link" || { echo "$link"; fail "no XDP program on $subs"; }
classes=$(ip netns exec "$ns" tc class show dev "$subs")
grep -q '^class htb' <<< "$classes" || { echo "$classes"; tail -20 "$work/sluiced.log"; fail "no HTB classes on $subs"; }
kill -TERM "$dpid"
wait "$dpid" || { tail -20 "$work/sluiced.log"; fail "sluiced exited non-zero on SIGTERM"; }
dpid=
grep -q xdp <<< "$(ip -n "$ns" link show "$subs")" && fail "XDP program left on $subs after stop"
umount "$root/sys/fs/bpf" "$root/sys"
ip netns del "$ns"

# --- 5. Remove and purge ---------------------------------------------------------------------
step "apt-get remove, apt-get purge"
rm -f "$root/root/test.conf"
rm -rf "$root/root/examples" "$root/opt/libreqos"
rmdir "$root/opt" 2> /dev/null || true
rm -f "$root/tmp/$(basename "$deb")"
in_root dpkg-query -L sluice | sort > "$work/package-files"
in_root apt-get remove -y -q sluice > "$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt-get remove"; }
[ -e "$root/usr/sbin/sluiced" ] && fail "apt-get remove left /usr/sbin/sluiced"
[ -f "$root/etc/sluice/lqos.conf" ] || fail "apt-get remove deleted the conffile (only purge may)"
in_root apt-get purge -y -q sluice > "$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt-get purge"; }
grep -q installed <<< "$(in_root dpkg-query -W -f '${Status}\n' sluice 2> /dev/null)" && fail "sluice still known to dpkg"
left=()
while read -r f; do
  # Directories are judged below, with everything else new since the install.
  if [ ! -d "$root$f" ] && { [ -e "$root$f" ] || [ -L "$root$f" ]; }; then
    left+=("$f")
  fi
done < "$work/package-files"
[ ${#left[@]} = 0 ] || fail "files of the package left after purge: ${left[*]}"
[ -e "$root/run/sluice" ] && fail "/run/sluice left after purge"
# Anything new since before the install that no installed package owns is the package's (or the
# daemon's) leftover: state, the API's files, deb-systemd-helper's state. Dependencies stay
# installed, so their files are owned. Merged /usr: dpkg may list /lib/x as /usr/lib/x on disk.
snapshot > "$work/after"
python3 - "$root" "$work/before" "$work/after" << 'PY' || fail "left after purge (above)"
import glob, os, sys
root, before, after = sys.argv[1:]
def norm(p):
    for d in ("/lib/", "/lib64/", "/bin/", "/sbin/"):
        if p.startswith(d):
            return "/usr" + p
    return p
owned = set()
for lst in glob.glob(os.path.join(root, "var/lib/dpkg/info/*.list")):
    owned.update(norm(l.rstrip("\n")) for l in open(lst, errors="replace"))
old = set(l.rstrip("\n")[1:] for l in open(before))
# dpkg's and debconf's own bookkeeping of any install, and deb-systemd-helper's state directory
# (shared by every package with a unit; sluice's entry in it is gone).
ignore = ("/var/lib/dpkg/", "/var/cache/debconf/", "/var/cache/ldconfig/")
strays = [p for p in (l.rstrip("\n")[1:] for l in open(after))
          if p and p not in old and norm(p) not in owned and not p.startswith(ignore)
          and p not in ("/etc/ld.so.cache", "/var/lib/systemd/deb-systemd-helper-enabled")
          # shadow's backups of the previous /etc/group and /etc/gshadow (groupadd, groupdel)
          and p not in ("/etc/group-", "/etc/gshadow-")]
for p in strays:
    print("left after purge:", p)
sys.exit(1 if strays else 0)
PY
in_root getent group sluice > /dev/null && fail "group sluice left after purge"
named=$(cd "$root" && find . -xdev -path ./var/cache/apt -prune -o -iname '*sluice*' -print | head)
[ -z "$named" ] || fail "paths named sluice left after purge: $named"
step "passed: $(basename "$deb") installs, checks, shapes, removes and purges cleanly"
