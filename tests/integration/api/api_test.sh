#!/usr/bin/env bash
# Operator API integration test (root): sluiced on the demo ISP in a private namespace, its TCP
# API on the namespace's loopback, every endpoint through curl: public routes, 401 without
# credentials, sessions and CSRF, the read-only role, API keys, the WebSocket, invalid live
# changes refused with field-level errors and nothing applied, valid changes applied (visible in
# `sluice tree`), config validate and queue mode, login rate limiting.
# Usage: api_test.sh SLUICED SLUICE SOURCE_DIR
set -euo pipefail
sluiced=$1 sluice=$2 src=$3
here=$(cd "$(dirname "$0")" && pwd)

ns=sl-api-$$
work=$(mktemp -d /tmp/sluice-api-test.XXXXXX)
bpf=$work/bpffs
port=9123
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  umount "$bpf" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; echo "--- last body"; cat "$work/body" 2>/dev/null; echo;
         echo "--- sluiced log"; tail -n 30 "$work/log" 2>/dev/null || true; exit 1; }
pass() { echo "ok: $*"; }

cp "$src"/examples/{lqos.conf,network.json,ShapedDevices.csv} "$work"/
python3 - "$work/lqos.conf" "$work" "$port" <<'PY'
import sys
path, work, port = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
text = text.replace('[sluice]\n', '[sluice]\nleaf_fallback = "pfifo"\n'
    f'state_directory = "{work}/state"\ncontrol_socket = "{work}/sluiced.sock"\n'
    f'webserver_listen = "127.0.0.1:{port}"\nusers_file = "{work}/users.json"\n'
    f'web_root = "{work}/web"\n', 1)
open(path, 'w').write(text)
PY
mkdir -p "$work/web" && echo '<html>sluice ui</html>' >"$work/web/index.html"
echo 'admin-password-1' | "$sluice" user add admin --role admin --config "$work/lqos.conf" \
  --password-stdin >/dev/null

mkdir -p "$bpf" && mount -t bpf bpf "$bpf"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add shp-inet numtxqueues 4 numrxqueues 4 type veth peer name isp0
ip -n "$ns" link add shp-subs numtxqueues 4 numrxqueues 4 type veth peer name subs0
for i in shp-inet shp-subs isp0 subs0; do ip -n "$ns" link set "$i" up; done

ip netns exec "$ns" "$sluiced" --config "$work/lqos.conf" --foreground --pin-dir "$bpf/pins" \
  >"$work/log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  if grep -q '"state": *"ready"' <<<"$("$sluice" status --socket "$work/sluiced.sock" --json 2>/dev/null)"; then
    break
  fi
  sleep 0.5
done
grep -q 'operator API on http://127.0.0.1' "$work/log" || fail "no TCP listener"

jar=$work/jar
# api METHOD PATH [BODY] [curl args...]: the status code on stdout, the body in $work/body.
api() {
  local method=$1 path=$2 body=${3:-}
  shift $(( $# < 3 ? $# : 3 ))
  local args=(-s -o "$work/body" -w '%{http_code}' -X "$method" "$@")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
  ip netns exec "$ns" curl "${args[@]}" "http://127.0.0.1:$port$path"
}
# jq-like: a python expression over the last body `d`.
js() { python3 -c "import json,sys; d=json.load(open('$work/body')); print($1)"; }
expect() {  # expect STATUS METHOD PATH [BODY] [curl args...]
  local want=$1; shift
  local got; got=$(api "$@")
  [ "$got" = "$want" ] || fail "$1 $2: HTTP $got, expected $want"
}
csv_sum() { md5sum "$work/ShapedDevices.csv" | cut -d' ' -f1; }
# The tree's shape (handles, parents, kinds, rates), without statistics: stray frames (IPv6
# neighbour discovery, ARP) move counters and HTB tokens at any time.
tree_shape() {
  "$sluice" tree --dev shp-subs --netns "$ns" --json | python3 -c '
import json, sys
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in ("stats", "xstats")}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
print(json.dumps(strip(json.load(sys.stdin)), sort_keys=True))' | md5sum
}
ceil_classes() {  # number of HTB classes on shp-subs whose ceil is $1 bytes/s
  "$sluice" tree --dev shp-subs --netns "$ns" --json | python3 -c "
import json,sys; t=json.load(sys.stdin)
print(sum(1 for c in t['classes'] if c.get('options',{}).get('ceil_bytes_per_sec')==$1))"
}

# 1. Public routes and 401 without credentials.
expect 200 GET /api/openapi.json
[ "$(js 'd["openapi"][:2]')" = "3." ] || fail "openapi.json is not OpenAPI 3"
expect 200 GET /
grep -q 'sluice ui' "$work/body" || fail "static index.html not served"
for route in /api/status /api/summary /api/tree /api/circuits /api/circuits/1001 /api/top \
             /api/unknown /api/urgent /api/config /metrics /api/users /api/apikeys /api/me; do
  expect 401 GET "$route"
done
expect 401 POST /api/reload
expect 401 DELETE /api/circuits/1001
expect 401 PUT /api/queue-mode '{"mode":"observe"}'
expect 401 POST /api/login '{"username":"admin","password":"wrong-password"}'
pass "public routes served; 401 without credentials"

# 2. Log in: cookie attributes, CSRF token; every GET endpoint.
cookie_line=$(ip netns exec "$ns" curl -s -D - -o "$work/body" -c "$jar" -H 'Content-Type: application/json' \
  --data '{"username":"admin","password":"admin-password-1"}' "http://127.0.0.1:$port/api/login" | grep -i '^set-cookie')
grep -q 'sluice_session=' <<<"$cookie_line" || fail "no session cookie"
grep -qi 'HttpOnly' <<<"$cookie_line" || fail "cookie not HttpOnly"
grep -qi 'SameSite=Strict' <<<"$cookie_line" || fail "cookie not SameSite=Strict"
csrf=$(js 'd["csrf_token"]')
[ "$(js 'd["role"]')" = admin ] || fail "login role"
A=(-b "$jar")
expect 200 GET /api/me "" "${A[@]}"
[ "$(js 'd["user"]')" = admin ] || fail "/api/me user"
expect 200 GET /api/status "" "${A[@]}"
[ "$(js 'd["circuits"]')" = 50 ] || fail "status circuits"
sleep 2.2  # two telemetry ticks
expect 200 GET /api/summary "" "${A[@]}"
js 'd["down_bps"], d["history"]' >/dev/null || fail "summary fields"
expect 200 GET /api/tree "" "${A[@]}"
[ "$(js '[n["name"] for n in d["nodes"]][:1]')" = "['Riverbend']" ] || fail "tree root"
expect 200 GET '/api/circuits?search=Oak%20St&limit=3&sort=name' "" "${A[@]}"
[ "$(js 'len(d["circuits"])')" = 3 ] || fail "circuits limit"
[ "$(js 'd["total"] >= 3')" = True ] || fail "circuits total"
expect 400 GET '/api/circuits?sort=bogus' "" "${A[@]}"
expect 200 GET /api/circuits/1001 "" "${A[@]}"
[ "$(js 'd["id"]')" = 1001 ] || fail "circuit id"
js 'd["plan"]["max_down_mbps"], d["devices"][0]["ipv4"], d["live"]' >/dev/null || fail "circuit detail"
expect 404 GET /api/circuits/no-such "" "${A[@]}"
expect 200 GET '/api/top?metric=throughput&n=5' "" "${A[@]}"
[ "$(js 'd["metric"]')" = throughput ] || fail "top metric"
expect 400 GET '/api/top?metric=bogus' "" "${A[@]}"
expect 200 GET /api/unknown "" "${A[@]}"
js 'd["addresses"]' >/dev/null || fail "unknown"
expect 200 GET /api/urgent "" "${A[@]}"
[ "$(js 'any(i["kind"]=="leaf-fallback" for i in d["issues"])')" = True ] || fail "urgent: leaf fallback"
expect 200 GET /api/config "" "${A[@]}"
[ "$(js 'd["parsed"]["bridge"]["to_network"]')" = shp-subs ] || fail "config parsed"
expect 200 GET /metrics "" "${A[@]}"
grep -q '^sluice_' "$work/body" || fail "metrics exposition"
expect 404 GET /api/nothing "" "${A[@]}"
expect 405 PUT /api/status '{}' "${A[@]}"
pass "login cookie HttpOnly+SameSite=Strict; every GET endpoint answers"

# 3. CSRF on state-changing requests.
expect 403 POST /api/reload "" "${A[@]}"
expect 403 POST /api/reload "" "${A[@]}" -H 'X-CSRF-Token: not-the-token'
C=("${A[@]}" -H "X-CSRF-Token: $csrf")
expect 200 POST /api/reload "" "${C[@]}"
[ "$(js 'd["outcome"]')" = unchanged ] || fail "reload outcome"
expect 200 POST /api/check "" "${C[@]}"
expect 200 POST /api/config/validate '{"text":"version = \"1.5\"\n[bridge]\nto_internet=\"a\"\nto_network=\"b\"\n"}' "${C[@]}"
expect 200 POST /api/config/validate '{"text":"[queues]\nqueue_mode = \"sideways\"\n"}' "${C[@]}"
[ "$(js 'd["valid"]')" = False ] || fail "bad config text accepted"
[ "$(js 'len(d["errors"]) > 0')" = True ] || fail "config errors missing"
pass "CSRF: 403 without or with a wrong token; reload, check, config validate with it"

# 4. Invalid live changes: 422, field-level errors, nothing written, nothing applied.
before=$(csv_sum)
classes_before=$(tree_shape)
bad='{"id":"9001","name":"Bad","parent":"No Such AP","min_down_mbps":5,"min_up_mbps":1,
      "max_down_mbps":"fast","max_up_mbps":10,
      "devices":[{"id":"9001-1","name":"r","mac":"","ipv4":["100.64.1.5","300.1.1.1"],"ipv6":[]}]}'
expect 422 POST /api/circuits "$bad" "${C[@]}"
fields=$(js 'sorted({e["field"]+":"+e["category"] for e in d["errors"]})')
for want in max_down_mbps:bad-rate 'devices\[0\].ipv4:bad-address' parent:unknown-parent; do
  grep -q "$want" <<<"$fields" || fail "missing field error $want in $fields"
done
expect 422 PATCH /api/circuits/1002 '{"max_down_mbps":0.5}' "${C[@]}"
[ "$(js 'd["errors"][0]["field"]')" = max_down_mbps ] || fail "patch error field"
dup='{"id":"9002","name":"Dup","parent":"Riverbend Water Tower AP1-N","min_down_mbps":5,"min_up_mbps":1,
      "max_down_mbps":37,"max_up_mbps":10,"devices":[{"id":"9002-1","name":"r","ipv4":["100.64.1.5"]}]}'
expect 422 POST /api/circuits "$dup" "${C[@]}"
[ "$(js 'd["errors"][0]["field"] + ":" + d["errors"][0]["category"]')" = "devices[0].ipv4:duplicate-address" ] \
  || fail "duplicate address not on the new device"
expect 409 POST /api/circuits '{"id":"1001","name":"x","devices":[{"id":"x"}]}' "${C[@]}"
expect 404 PATCH /api/circuits/no-such '{"name":"x"}' "${C[@]}"
expect 400 POST /api/circuits 'not json' "${C[@]}"
[ "$(csv_sum)" = "$before" ] || fail "a refused change touched ShapedDevices.csv"
[ "$(tree_shape)" = "$classes_before" ] || fail "a refused change touched the tree"
pass "invalid live changes: 422 with field errors (bad-rate, bad-address, unknown-parent, duplicate-address), 409, 404; nothing written or applied"

# 5. Valid live changes, applied (seen in `sluice tree`) and persisted.
[ "$(ceil_classes 1500000)" = 0 ] || fail "a 12 Mbit/s ceil exists before the change"
expect 200 PATCH /api/circuits/1002 '{"max_down_mbps":12}' "${C[@]}"
[ "$(js 'd["outcome"]')" = applied ] || fail "patch outcome $(js 'd')"
[ "$(ceil_classes 1500000)" = 1 ] || fail "12 Mbit/s ceil not in sluice tree after PATCH"
grep -q '^1002,.*,12,2,' "$work/ShapedDevices.csv" || fail "PATCH not persisted"
good='{"id":"9002","name":"Live Add","parent":"Riverbend Water Tower AP1-N","min_down_mbps":5,
       "min_up_mbps":1,"max_down_mbps":37,"max_up_mbps":10,
       "devices":[{"id":"9002-1","name":"r","mac":"24:5A:4C:10:90:02","ipv4":["100.64.90.2"],"ipv6":[]}]}'
expect 200 POST /api/circuits "$good" "${C[@]}"
[ "$(js 'd["outcome"]')" = applied ] || fail "add outcome"
[ "$(ceil_classes 4625000)" = 1 ] || fail "37 Mbit/s circuit not in sluice tree after POST"
expect 200 GET /api/status "" "${A[@]}"
[ "$(js 'd["circuits"]')" = 51 ] || fail "status after add"
expect 200 DELETE /api/circuits/9002 "" "${C[@]}"
[ "$(ceil_classes 4625000)" = 0 ] || fail "deleted circuit still in sluice tree"
grep -q '^9002,' "$work/ShapedDevices.csv" && fail "DELETE not persisted"
pass "valid PATCH/POST/DELETE applied (sluice tree shows the ceilings) and persisted"

# 5b. [sluice] devices_overrides (set through PUT /api/config): live changes land in the overrides
# file, ShapedDevices.csv is untouched, and the overrides survive an integration rewriting it.
python3 - "$work/lqos.conf" "$work/body.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read().replace('[sluice]\n', '[sluice]\ndevices_overrides = "overrides.csv"\n', 1)
json.dump({"text": text}, open(sys.argv[2], "w"))
PY
expect 200 PUT /api/config "$(cat "$work/body.json")" "${C[@]}"
grep -q '^devices_overrides = "overrides.csv"' "$work/lqos.conf" || fail "devices_overrides not written"
before=$(csv_sum)
[ "$(ceil_classes 1625000)" = 0 ] || fail "a 13 Mbit/s ceil exists before the change"
expect 200 PATCH /api/circuits/1002 '{"max_down_mbps":13}' "${C[@]}"
[ "$(js 'd["persisted"]')" = "$work/overrides.csv" ] || fail "PATCH persisted to $(js 'd["persisted"]')"
[ "$(ceil_classes 1625000)" = 1 ] || fail "13 Mbit/s ceil not in sluice tree after PATCH with overrides"
expect 200 DELETE /api/circuits/1003 "" "${C[@]}"
expect 200 GET /api/status "" "${A[@]}"
[ "$(js 'd["circuits"]')" = 49 ] || fail "status after DELETE with overrides"
[ "$(csv_sum)" = "$before" ] || fail "a live change with devices_overrides touched ShapedDevices.csv"
grep -q '^1002,.*,13,2,.*,$' "$work/overrides.csv" || fail "PATCH not in overrides.csv: $(cat "$work/overrides.csv")"
grep -q '^1003,.*,remove$' "$work/overrides.csv" || fail "DELETE not in overrides.csv: $(cat "$work/overrides.csv")"
cp "$src/examples/ShapedDevices.csv" "$work/ShapedDevices.csv"  # a CRM sync rewrites the file
expect 200 POST /api/reload "" "${C[@]}"
[ "$(ceil_classes 1625000)" = 1 ] || fail "the override of 1002 did not survive ShapedDevices.csv being rewritten"
expect 200 GET /api/status "" "${A[@]}"
[ "$(js 'd["circuits"]')" = 49 ] || fail "the removal of 1003 did not survive ShapedDevices.csv being rewritten"
pass "devices_overrides: PATCH/DELETE persisted to overrides.csv, ShapedDevices.csv untouched, overrides survive its rewrite"

# 6. Queue mode.
expect 422 PUT /api/queue-mode '{"mode":"sideways"}' "${C[@]}"
expect 200 PUT /api/queue-mode '{"mode":"observe"}' "${C[@]}"
expect 200 GET /api/status "" "${A[@]}"
[ "$(js 'd["queue_mode"]')" = observe ] || fail "queue mode not observe"
grep -q '^queue_mode = "observe"' "$work/lqos.conf" || fail "queue_mode not written"
expect 200 PUT /api/queue-mode '{"mode":"shape"}' "${C[@]}"
expect 200 GET /api/status "" "${A[@]}"
[ "$(js 'd["queue_mode"]')" = shape ] || fail "queue mode not back to shape"
pass "queue mode observe and back, written to lqos.conf"

# 7. Read-only role and API keys.
expect 200 POST /api/users '{"username":"viewer","password":"viewer-password-1","role":"read-only"}' "${C[@]}"
expect 200 GET /api/users "" "${A[@]}"
[ "$(js 'sorted(u["username"] for u in d["users"])')" = "['admin', 'viewer']" ] || fail "users list"
rjar=$work/rjar
ip netns exec "$ns" curl -s -o "$work/body" -c "$rjar" -H 'Content-Type: application/json' \
  --data '{"username":"viewer","password":"viewer-password-1"}' "http://127.0.0.1:$port/api/login" >/dev/null
rcsrf=$(js 'd["csrf_token"]')
R=(-b "$rjar" -H "X-CSRF-Token: $rcsrf")
expect 200 GET /api/tree "" "${R[@]}"
before=$(csv_sum)
expect 403 PATCH /api/circuits/1002 '{"max_down_mbps":20}' "${R[@]}"
expect 403 POST /api/circuits "$good" "${R[@]}"
expect 403 DELETE /api/circuits/1001 "" "${R[@]}"
expect 403 PUT /api/queue-mode '{"mode":"observe"}' "${R[@]}"
expect 403 PUT /api/config '{"text":""}' "${R[@]}"
expect 403 POST /api/reload "" "${R[@]}"
expect 403 GET /api/users "" "${R[@]}"
expect 403 POST /api/apikeys '{"name":"x","role":"admin"}' "${R[@]}"
[ "$(csv_sum)" = "$before" ] || fail "read-only user changed ShapedDevices.csv"
expect 200 POST /api/apikeys '{"name":"automation","role":"admin"}' "${C[@]}"
key=$(js 'd["key"]')
K=(-H "Authorization: Bearer $key")
expect 200 GET /api/status "" "${K[@]}"
expect 200 POST /api/check "" "${K[@]}"
expect 401 GET /api/status "" -H "Authorization: Bearer sluice_wrong"
expect 200 GET /api/apikeys "" "${A[@]}"
grep -q "$key" "$work/body" && fail "API key listed in clear"
expect 200 DELETE /api/apikeys/automation "" "${C[@]}"
expect 401 GET /api/status "" "${K[@]}"
expect 200 DELETE /api/users/viewer "" "${C[@]}"
expect 401 GET /api/tree "" "${R[@]}"
pass "read-only role: reads, every change 403; API keys (no CSRF), revoked; user removed ends session"

# 8. WebSocket: pushes per second; refused without credentials.
session=$(awk '$6=="sluice_session"{print $7}' "$jar")
out=$(ip netns exec "$ns" python3 "$here/ws_client.py" 127.0.0.1 "$port" "Cookie: sluice_session=$session" tree,summary,bogus 2.5)
[ "$(grep -c '"channel":"tree","data"' <<<"$out")" -ge 2 ] || fail "WebSocket tree pushes: $out"
grep -q '"channel":"summary","data"' <<<"$out" || fail "WebSocket summary push"
grep -q '"channel":"bogus","error"' <<<"$out" || fail "WebSocket unknown channel"
refused=$(ip netns exec "$ns" python3 "$here/ws_client.py" 127.0.0.1 "$port" "" tree 1 || true)
[ "$refused" = 401 ] || fail "WebSocket without credentials: $refused"
pass "WebSocket: tree/summary pushed every second, unknown channel reported, 401 without login"

# 9. Logout, control socket, login rate limit.
expect 200 POST /api/logout "" "${C[@]}"
expect 401 GET /api/status "" "${A[@]}"
"$sluice" status --socket "$work/sluiced.sock" --json | grep -q '"state": *"ready"' || fail "control socket status"
last=
for _ in $(seq 1 8); do
  last=$(api POST /api/login '{"username":"mallory","password":"guess-guess"}')
  [ "$last" = 429 ] && break
  [ "$last" = 401 ] || fail "wrong login answered $last"
done
[ "$last" = 429 ] || fail "no rate limit after repeated failed logins"
pass "logout ends the session; control socket trusted; failed logins rate limited (429)"
echo "PASS"
