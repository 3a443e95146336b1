// DEVELOPMENT ONLY: a tiny stand-in for sluiced's operator API (notes/api-contract.md) so the UI
// can be worked on before/without a daemon. Serves dist/ and /api/* with synthetic data; no
// WebSocket (the UI falls back to polling). Never used by tests: the browser e2e test
// (tests/browser) runs against the real sluiced in the namespace lab.
//   node dev/mock-server.mjs [port]   (login: admin / admin)
import http from "node:http";
import fs from "node:fs";
import path from "node:path";

const port = Number(process.argv[2] ?? 9124);
const dist = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "dist");
const csrf = "mock-csrf";
let session = null;

const circuits = new Map();
for (let i = 1; i <= 12; i++) {
  const id = `c${i}`;
  circuits.set(id, {
    id, name: `Customer ${i}`, parent: i <= 6 ? "AP-North" : "AP-South", sqm: "",
    plan: { min_down_mbps: 5, min_up_mbps: 2, max_down_mbps: 10 * i, max_up_mbps: 3 * i,
      down_classid: `1:${i + 10}`, up_classid: `2:${i + 10}`, queue: i % 4, leaf: { kind: "cake", diffserv: "diffserv4" } },
    devices: [{ id: `d${i}`, name: `router-${i}`, mac: "", ipv4: [`100.64.0.${i}`], ipv6: [`2001:db8:${i}::/64`], comment: "" }],
  });
}
const rate = (c) => c.plan.max_down_mbps * 1e6 * (0.3 + 0.6 * Math.abs(Math.sin(Date.now() / 7000 + c.plan.max_down_mbps)));
const row = (c) => ({ id: c.id, name: c.name, parent: c.parent, max_down_mbps: c.plan.max_down_mbps,
  max_up_mbps: c.plan.max_up_mbps, down_bps: rate(c), up_bps: rate(c) / 5, rtt_p50_ms: 10 + c.plan.max_down_mbps / 3,
  retransmit_pct: 0.4, devices: c.devices.length, owner: "file" });
const now = () => Math.floor(Date.now() / 1000);
const history = (f) => Array.from({ length: 120 }, (_, k) => ({ t: now() - 120 + k, ...f(k) }));

function tree() {
  const sites = {};
  for (const c of circuits.values()) (sites[c.parent] ??= []).push(c);
  const nodes = Object.entries(sites).map(([name, cs]) => {
    const down = cs.reduce((a, c) => a + rate(c), 0);
    return { name, type: "AP", max_down_mbps: 300, max_up_mbps: 100, down_bps: down, up_bps: down / 5,
      utilization_down: down / 300e6, utilization_up: down / 5 / 100e6, rtt_p50_ms: 24, circuits: cs.length, children: [] };
  });
  const down = nodes.reduce((a, n) => a + n.down_bps, 0);
  return { nodes: [{ name: "Site-1", type: "Site", max_down_mbps: 1000, max_up_mbps: 1000, down_bps: down, up_bps: down / 5,
    utilization_down: down / 1e9, utilization_up: down / 5e9, rtt_p50_ms: 22, circuits: circuits.size, children: nodes }] };
}

function validate(body, partial) {
  const errors = [];
  for (const k of ["min_down_mbps", "min_up_mbps", "max_down_mbps", "max_up_mbps"])
    if (k in body && !(typeof body[k] === "number" && body[k] > 0))
      errors.push({ field: k, message: "must be a positive number of Mbps", value: String(body[k]) });
  if (!partial && !body.id) errors.push({ field: "id", message: "circuit ID is required" });
  (body.devices ?? []).forEach((d, i) => {
    for (const a of d.ipv4 ?? []) if (!/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(a))
      errors.push({ field: `devices[${i}].ipv4`, message: "not an IPv4 address or prefix", value: a });
  });
  return errors;
}

function send(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const p = url.pathname;
  let body = "";
  for await (const chunk of req) body += chunk;
  const json = body ? JSON.parse(body) : {};
  const authed = session && (req.headers.cookie ?? "").includes(`sluice_session=${session}`);
  if (!p.startsWith("/api/")) {
    const f = path.join(dist, p === "/" ? "index.html" : p);
    if (f.startsWith(dist) && fs.existsSync(f) && fs.statSync(f).isFile()) {
      const type = f.endsWith(".js") ? "text/javascript" : f.endsWith(".css") ? "text/css" : "text/html";
      res.writeHead(200, { "Content-Type": type });
      return res.end(fs.readFileSync(f));
    }
    return send(res, 404, { error: "not found" });
  }
  if (p === "/api/login" && req.method === "POST") {
    if (json.username !== "admin" || json.password !== "admin") return send(res, 401, { error: "bad credentials" });
    session = String(Math.random()).slice(2);
    res.setHeader("Set-Cookie", `sluice_session=${session}; HttpOnly; SameSite=Strict; Path=/`);
    return send(res, 200, { user: "admin", role: "admin", csrf_token: csrf });
  }
  if (!authed) return send(res, 401, { error: "login required" });
  if (req.method !== "GET" && req.headers["x-csrf-token"] !== csrf) return send(res, 403, { error: "CSRF token missing" });
  const m = /^\/api\/circuits\/([^/]+)$/.exec(p);
  if (p === "/api/me") return send(res, 200, { user: "admin", role: "admin", csrf_token: csrf });
  if (p === "/api/logout") { session = null; return send(res, 200, {}); }
  if (p === "/api/status") return send(res, 200, { state: "ready", queue_mode: "shape", mode: "bridge", circuits: circuits.size,
    leaf: { configured: "cake", active: "pfifo", fallback: true }, last_reload: { outcome: "applied" },
    input_mode: { mode: "manual", integration: "" } });
  // Manual mode: the page's schedule and buttons are idle (the real runs need sluiced).
  if (p === "/api/integration") return send(res, 200, { mode: "manual", integration: "", interval_s: 1800,
    mass_change_threshold_percent: 10, runs: 0, last: null, pending: null });
  if (p === "/api/summary") {
    const down = [...circuits.values()].reduce((a, c) => a + rate(c), 0);
    return send(res, 200, { t: now(), down_bps: down, up_bps: down / 5, shaped: { down_bps: down * 0.95, up_bps: down / 5 },
      unknown: { down_bps: down * 0.05, up_bps: 1e5 }, rtt_ms: { p50: 21, p90: 64 }, retransmit_pct: 0.8,
      rtt_histogram: [5, 10, 20, 50, 100, 200, null].map((le, i) => ({ le_ms: le, count: [4, 30, 80, 40, 12, 3, 1][i] })),
      queues: [0, 1, 2, 3].map((q) => ({ queue: q, cpu: q, down_bps: down / 4, up_bps: down / 20, cpu_pct: 10 + q * 20 })),
      history: history((k) => ({ down_bps: down * (0.8 + 0.2 * Math.sin(k / 9)), up_bps: down / 5 })) });
  }
  if (p === "/api/tree") return send(res, 200, tree());
  if (p === "/api/circuits" && req.method === "GET") {
    const q = (url.searchParams.get("search") ?? "").toLowerCase();
    const rows = [...circuits.values()].filter((c) => !q || c.name.toLowerCase().includes(q) || c.id.includes(q)).map(row);
    return send(res, 200, { total: rows.length, circuits: rows.slice(0, Number(url.searchParams.get("limit") ?? 50)) });
  }
  if (p === "/api/circuits" && req.method === "POST") {
    const errors = validate(json, false);
    if (errors.length) return send(res, 422, { error: "invalid circuit", errors });
    circuits.set(json.id, { ...json, plan: { ...json, leaf: { kind: "cake" } } });
    return send(res, 200, { outcome: "applied", reload: { outcome: "applied" } });
  }
  if (m) {
    const c = circuits.get(decodeURIComponent(m[1]));
    if (!c) return send(res, 404, { error: "no such circuit" });
    if (req.method === "DELETE") { circuits.delete(c.id); return send(res, 200, { outcome: "applied" }); }
    if (req.method === "PATCH") {
      const errors = validate(json, true);
      if (errors.length) return send(res, 422, { error: "invalid change", errors });
      for (const k of ["min_down_mbps", "min_up_mbps", "max_down_mbps", "max_up_mbps"]) if (k in json) c.plan[k] = json[k];
      for (const k of ["name", "parent", "devices", "sqm"]) if (k in json) c[k] = json[k];
      return send(res, 200, { outcome: "applied", reload: { outcome: "applied" } });
    }
    const r = row(c);
    return send(res, 200, { ...c, owner: r.owner, live: { down_bps: r.down_bps, up_bps: r.up_bps, down_pps: r.down_bps / 12000, up_pps: 300,
      rtt_p50_ms: r.rtt_p50_ms, rtt_p90_ms: r.rtt_p50_ms * 2, retransmit_pct: 0.4 },
      history: history((k) => ({ down_bps: r.down_bps * (0.9 + 0.1 * Math.sin(k / 5)), up_bps: r.up_bps, rtt_p50_ms: r.rtt_p50_ms + (k % 7) })),
      flows: [{ src: "198.51.100.1", dst: c.devices[0]?.ipv4?.[0] ?? "", sport: 5201, dport: 40000, proto: "tcp",
        down_bps: r.down_bps, up_bps: 1e5, rtt_ms: 12, retransmits: 3 }],
      queue: { down: { drops: 120, overlimits: 5400, backlog_bytes: 30000, backlog_packets: 20, sent_bytes: 9e8, leaf_kind: "pfifo" },
        up: { drops: 2, overlimits: 40, backlog_bytes: 0, backlog_packets: 0, sent_bytes: 1e8, leaf_kind: "pfifo" } } });
  }
  if (p.startsWith("/api/top")) {
    const rows = [...circuits.values()].map(row);
    rows.sort((a, b) => url.searchParams.get("metric") === "rtt" ? b.rtt_p50_ms - a.rtt_p50_ms : b.down_bps - a.down_bps);
    return send(res, 200, { metric: url.searchParams.get("metric"), circuits: rows.slice(0, Number(url.searchParams.get("n") ?? 10)) });
  }
  if (p === "/api/unknown") return send(res, 200, { addresses: [{ address: "100.127.255.254", down_bps: 2e5, up_bps: 1e4 }] });
  if (p === "/api/urgent") return send(res, 200, { issues: [{ severity: "warning", kind: "leaf-fallback", message: "cake unavailable: pfifo leaves" }] });
  if (p === "/api/config" && req.method === "GET") return send(res, 200, { text: "[sluice]\nqueue_mode = \"shape\"\n" });
  if (p === "/api/config/validate") return send(res, 200, { valid: !json.text.includes("bad"), errors: json.text.includes("bad") ? [{ field: "line 1", message: "bad" }] : [] });
  if (p === "/api/users") return send(res, 200, { users: [{ name: "admin", role: "admin" }] });
  if (p === "/api/apikeys") return send(res, 200, { keys: [] });
  return send(res, 404, { error: `no route ${req.method} ${p}` });
}).listen(port, "127.0.0.1", () => console.log(`mock sluiced API on http://127.0.0.1:${port}/ (dev only)`));
