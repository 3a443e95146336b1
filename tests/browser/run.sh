#!/bin/bash
# Browser end-to-end test of the web UI against a real sluiced (ctest browser_e2e, see
# CMakeLists.txt and docs/web.md): brings up the namespace lab with the operator API on
# 127.0.0.1:$PORT inside the shaper namespace, adds an admin user, and runs e2e.mjs there
# (playwright-core + Debian's chromium). Screenshots and logs go to --artifacts.
# Exit 0 pass, 1 fail, 77 skipped (not root, no chromium/iperf3/node, a lab already up).
set -u
SLUICE= SLUICED= NODE_MODULES= WEB_ROOT= ARTIFACTS= EXAMPLES=
PORT=${SLUICE_BROWSER_PORT:-9123}
CHROMIUM=${SLUICE_CHROMIUM:-/usr/bin/chromium}
while [ $# -gt 0 ]; do
  case "$1" in
    --sluice) SLUICE=$2; shift 2 ;;
    --sluiced) SLUICED=$2; shift 2 ;;
    --node-modules) NODE_MODULES=$2; shift 2 ;;
    --web-root) WEB_ROOT=$2; shift 2 ;;
    --artifacts) ARTIFACTS=$2; shift 2 ;;
    --examples) EXAMPLES=$2; shift 2 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
HERE=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
[ -x "$CHROMIUM" ] || skip "$CHROMIUM not installed (apt-get install chromium)"
command -v iperf3 >/dev/null || skip "iperf3 not installed"
command -v node >/dev/null || skip "node not installed"
[ -f "$NODE_MODULES/playwright-core/package.json" ] || { echo "FAIL: no playwright-core in $NODE_MODULES (build target sluice_web first)"; exit 1; }
[ -f "$WEB_ROOT/index.html" ] || { echo "FAIL: no built UI in $WEB_ROOT (build target sluice_web first)"; exit 1; }
for b in "$SLUICE" "$SLUICED"; do [ -x "$b" ] || { echo "FAIL: $b not built"; exit 1; }; done
if ip netns list | grep -qE '^(isp|shaper|subs|switch)( |$)'; then
  skip "a namespace lab is already up on this machine (ip netns list); the lab's namespace names are fixed"
fi

STATE=$(mktemp -d /tmp/sluice-browser-e2e.XXXXXX)
mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS"/*.png "$ARTIFACTS"/*.log
cleanup() {
  [ -f "$STATE/lab/sluiced.log" ] && cp "$STATE/lab/sluiced.log" "$ARTIFACTS/sluiced.log"
  "$SLUICE" lab --state-dir "$STATE/lab" down >/dev/null 2>&1
  rm -rf "$STATE"
}
trap cleanup EXIT INT TERM

# The demo ISP's config with the operator API on a known port and the build's UI.
sed -e "/^\[sluice\]\s*$/a webserver_listen = \"127.0.0.1:$PORT\"\nweb_root = \"$WEB_ROOT\"\nusers_file = \"$STATE/users.json\"" \
  "$EXAMPLES/lqos.conf" > "$STATE/lqos.conf"
grep -q "^webserver_listen = \"127.0.0.1:$PORT\"" "$STATE/lqos.conf" || { echo "FAIL: could not set webserver_listen in the lab config"; exit 1; }
# Custom-pipeline mode: custom-sync.sh writes the demo ISP's inputs (changed as e2e.mjs asks
# through $SYNC_VARIANT) into the staging directory; live edits then go to the overrides file.
SYNC_VARIANT="$STATE/sync-variant"
cat >> "$STATE/lqos.conf" <<EOF

[sync]
mode = "custom"
custom_command = ["$HERE/custom-sync.sh", "$EXAMPLES", "$SYNC_VARIANT", "{staging}"]
timeout_seconds = 20
EOF

echo "== lab up"
if ! "$SLUICE" lab --state-dir "$STATE/lab" up --config "$STATE/lqos.conf" \
     --network "$EXAMPLES/network.json" --devices "$EXAMPLES/ShapedDevices.csv" \
     --sluiced "$SLUICED" > "$ARTIFACTS/lab-up.log" 2>&1; then
  cat "$ARTIFACTS/lab-up.log"; echo "FAIL: sluice lab up"; exit 1
fi
cat "$ARTIFACTS/lab-up.log"

USER_NAME=noc-admin
PASSWORD="e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "== user add $USER_NAME"
if ! printf '%s\n' "$PASSWORD" | "$SLUICE" user add "$USER_NAME" --role admin --password-stdin \
     --config "$STATE/lab/lqos.conf" > "$ARTIFACTS/user-add.log" 2>&1; then
  cat "$ARTIFACTS/user-add.log"; echo "FAIL: sluice user add"; exit 1
fi

echo "== browser (in netns shaper, http://127.0.0.1:$PORT/)"
ip netns exec shaper env \
  SLUICE_URL="http://127.0.0.1:$PORT/" SLUICE_USER="$USER_NAME" SLUICE_PASSWORD="$PASSWORD" \
  SLUICE_SYNC_VARIANT="$SYNC_VARIANT" \
  NODE_MODULES="$NODE_MODULES" CHROMIUM="$CHROMIUM" ARTIFACTS="$ARTIFACTS" \
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 HOME="$STATE" \
  node "$HERE/e2e.mjs" 2>&1 | tee "$ARTIFACTS/e2e.log"
rc=${PIPESTATUS[0]}
echo "screenshots: $ARTIFACTS"
exit "$rc"
