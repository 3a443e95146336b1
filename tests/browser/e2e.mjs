// Browser end-to-end test of the Sluice web UI (run by run.sh inside the lab's shaper namespace).
// Logs in, sees the network tree with non-zero live rates while iperf3 downloads through circuit
// CIRCUIT, opens the circuit page, lowers the circuit's download ceil in the shaped devices
// editor (after checking an invalid value is refused inline), and checks that iperf3's measured
// rate follows the new ceil. The lab's sluiced runs in custom-pipeline mode (run.sh,
// custom-sync.sh): circuits show their owner, the editor says a synced circuit's edit goes to the
// overrides layer, and the Integration page shows the mode, a dry run's changes, a mass change
// held for approval (Approve disabled for the read-only user) and its approval. Screenshots go to
// $ARTIFACTS/NN-*.png.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} not set`);
  return process.env[k];
};
const base = env("SLUICE_URL");
const artifacts = env("ARTIFACTS");
const { chromium } = await import(
  pathToFileURL(path.resolve(env("NODE_MODULES"), "playwright-core", "index.mjs")).href);

// The demo ISP's "Lab 10M - 14 Oak St": 10/2 Mbit, IPv4 100.64.1.10, parent AP1-N.
const CIRCUIT = { id: "1002", search: "14 Oak", address: "100.64.1.10", parent: "Riverbend Water Tower AP1-N" };
const OLD_CEIL_MBPS = 10;
const NEW_CEIL_MBPS = 4;
const PAYLOAD_SHARE = 1448 / 1514; // iperf3 measures TCP payload; the HTB ceil counts frames (docs/lab.md)
const ISP_SERVER = "198.51.100.1";
// custom-sync.sh's variants: "change" = circuit 1003's download ceil 25 -> 30 and circuit 1051
// added; "mass" = circuits 1040..1050 removed (11 of 50: above the 10 % guard).
const syncVariant = (v) => fs.writeFileSync(env("SLUICE_SYNC_VARIANT"), `${v}\n`);
const REMOVED_BY_MASS = 11;

let failures = 0;
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
function check(ok, what) {
  log(ok ? "ok  " : "FAIL", what);
  if (!ok) failures++;
  return ok;
}

// ---- iperf3 download through the circuit (server in isp → client in subs), 1 s intervals ----
const samples = []; // {t: ms, mbps}
const iperf = spawn("ip", ["netns", "exec", "subs", "iperf3", "-c", ISP_SERVER, "-p", "5201", "-B", CIRCUIT.address,
  "-R", "-t", "150", "-i", "1", "-f", "m", "--forceflush"], { stdio: ["ignore", "pipe", "pipe"] });
let iperfOut = "";
iperf.stdout.on("data", (d) => {
  iperfOut += d;
  let nl;
  while ((nl = iperfOut.indexOf("\n")) >= 0) {
    const line = iperfOut.slice(0, nl);
    iperfOut = iperfOut.slice(nl + 1);
    const m = /\s([\d.]+)-([\d.]+)\s+sec\s+[\d.]+\s+\w?Bytes\s+([\d.]+)\s+Mbits\/sec/.exec(line);
    if (m && Number(m[2]) - Number(m[1]) <= 1.5) samples.push({ t: Date.now(), mbps: Number(m[3]) });
  }
});
iperf.stderr.on("data", (d) => log("iperf3:", String(d).trim()));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Mean iperf3 rate over the intervals that ended in the last `seconds` (waits for them). */
async function measure(seconds) {
  const from = Date.now();
  await sleep(seconds * 1000 + 1200);
  const s = samples.filter((x) => x.t > from + 1000);
  return s.length ? s.reduce((a, x) => a + x.mbps, 0) / s.length : NaN;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
page.setDefaultTimeout(20000);
page.on("pageerror", (e) => { log("page error:", e.message); failures++; });
page.on("crash", () => log("chromium: the page crashed"));
page.on("close", () => log("chromium: the page closed"));
browser.on("disconnected", () => log("chromium: disconnected"));
const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

try {
  // ---- log in ----
  await page.goto(base);
  await page.waitForSelector("input[name=username]");
  await page.fill("input[name=username]", env("SLUICE_USER"));
  await page.fill("input[name=password]", "wrong password");
  await page.click("button[type=submit]");
  check(await page.waitForSelector("[data-testid=login-error]").then(() => true, () => false),
    "a wrong password is refused on the login page");
  await page.fill("input[name=password]", env("SLUICE_PASSWORD"));
  await shot("01-login");
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=whoami]");
  check((await page.textContent("[data-testid=whoami]")).includes(env("SLUICE_USER")), "logged in as the admin");

  // ---- dashboard while traffic runs ----
  await page.waitForFunction(() => {
    const t = document.querySelector("[data-testid=total-down]")?.textContent ?? "";
    return /[1-9]/.test(t) && !/^0 b/.test(t);
  }, null, { timeout: 30000 }).then(() => check(true, "dashboard shows non-zero total download"),
    () => check(false, "dashboard shows non-zero total download"));
  await sleep(2000);
  log("live mode:", await page.textContent(".live-mode"));
  await shot("02-dashboard");

  // ---- network tree: non-zero live rate on the circuit's parent ----
  await page.goto(base + "#/tree");
  await page.click("text=Expand all");
  const parentRow = `[data-testid=tree-row][data-node="${CIRCUIT.parent}"]`;
  const treeOk = await page.waitForFunction((sel) => {
    const row = document.querySelector(sel);
    return row && Number(row.getAttribute("data-down-bps")) > 1e6;
  }, parentRow, { timeout: 30000 }).then(() => true, () => false);
  check(treeOk, `tree: ${CIRCUIT.parent} shows a live download rate > 1 Mbit/s`);
  log("tree row:", (await page.textContent(parentRow).catch(() => "(missing)"))?.replace(/\s+/g, " "));
  await shot("03-tree");

  // ---- search the circuit and open its page ----
  await page.fill("[data-testid=tree-search]", CIRCUIT.search);
  check(await page.waitForSelector("[data-testid=circuit-list] [data-owner=custom]").then(() => true, () => false),
    "the circuit list shows the owner (custom pipeline)");
  await page.click(`[data-testid=circuit-list] a[href="#/circuit/${CIRCUIT.id}"]`);
  await page.waitForSelector(`[data-testid=circuit-page][data-circuit="${CIRCUIT.id}"]`);
  const circuitOk = await page.waitForFunction(() =>
    Number(document.querySelector("[data-testid=circuit-down]")?.getAttribute("data-bps")) > 1e6,
  null, { timeout: 30000 }).then(() => true, () => false);
  check(circuitOk, "circuit page shows a live download rate > 1 Mbit/s");
  check((await page.textContent("[data-testid=circuit-ceil]")).startsWith(`${OLD_CEIL_MBPS} Mb/s`),
    `circuit page shows the plan's ceil ${OLD_CEIL_MBPS} Mb/s`);
  const ownerBefore = await page.getAttribute("[data-testid=circuit-owner]", "data-owner").catch(() => null);
  check(ownerBefore === "custom", `circuit page shows the owner: the custom pipeline (${ownerBefore})`);
  await sleep(3000);
  await shot("04-circuit");

  const before = await measure(5);
  log(`iperf3 before: ${before.toFixed(2)} Mbit/s (ceil ${OLD_CEIL_MBPS})`);
  check(before > OLD_CEIL_MBPS * PAYLOAD_SHARE * 0.7 && before < OLD_CEIL_MBPS * 1.1,
    `iperf3 before the change is near the old ceil (${before.toFixed(2)} Mbit/s)`);

  // ---- editor: an invalid ceil is refused inline, nothing applied ----
  await page.click("[data-testid=edit-circuit]");
  await page.waitForSelector("[data-testid=circuit-form] input[name=max_down_mbps]");
  await page.waitForFunction((v) =>
    document.querySelector("[data-testid=circuit-form] input[name=max_down_mbps]")?.value === v, String(OLD_CEIL_MBPS));
  const note = await page.textContent("[data-testid=overrides-note]").catch(() => "");
  check(/overrides layer/.test(note) && /persist across syncs/.test(note),
    `the editor says the edit goes to the overrides layer and persists across syncs: ${note}`);
  await page.fill("input[name=max_down_mbps]", "-3");
  await page.click("[data-testid=save-circuit]");
  await page.waitForSelector("[data-testid=save-message]");
  const refusal = await page.textContent("[data-testid=save-message]");
  const refused = refusal.startsWith("Not applied") && refusal.includes("(1 error)");
  const inline = await page.$("[data-testid=error-max_down_mbps]");
  check(refused, `an invalid ceil is refused (422) with its one error counted: ${refusal}`);
  check(!!inline, `the refusal is shown next to the field: ${inline ? await inline.textContent() : "(none)"}`);
  await shot("05-editor-invalid");

  // ---- editor: lower the ceil ----
  await page.fill("input[name=max_down_mbps]", String(NEW_CEIL_MBPS));
  const minDown = Number(await page.inputValue("input[name=min_down_mbps]"));
  if (minDown > NEW_CEIL_MBPS) await page.fill("input[name=min_down_mbps]", String(NEW_CEIL_MBPS / 2));
  await page.click("[data-testid=save-circuit]");
  await page.waitForFunction(() =>
    (document.querySelector("[data-testid=save-message]")?.textContent ?? "").startsWith("Saved"), null, { timeout: 30000 })
    .then(() => check(true, "the new ceil is saved and applied"),
      async () => check(false, `the new ceil is saved and applied: ${await page.textContent("[data-testid=save-message]").catch(() => "")}`));
  const saved = await page.textContent("[data-testid=save-message]");
  check(saved.includes("ShapedDevices.overrides.csv"), `the edit was written to the overrides file: ${saved}`);
  await shot("06-editor-saved");

  // ---- iperf3 follows ----
  await sleep(3000);
  const after = await measure(6);
  log(`iperf3 after: ${after.toFixed(2)} Mbit/s (ceil ${NEW_CEIL_MBPS})`);
  check(after < NEW_CEIL_MBPS * 1.1 && after > NEW_CEIL_MBPS * PAYLOAD_SHARE * 0.6,
    `iperf3 follows the new ceil (${after.toFixed(2)} Mbit/s, ceil ${NEW_CEIL_MBPS})`);
  check(after < before * 0.7, "the rate dropped after the change");

  // ---- circuit page shows the new plan and the drop ----
  await page.goto(base + `#/circuit/${CIRCUIT.id}`);
  await page.waitForFunction((v) =>
    (document.querySelector("[data-testid=circuit-ceil]")?.textContent ?? "").startsWith(v), `${NEW_CEIL_MBPS} Mb/s`)
    .then(() => check(true, `circuit page shows the new ceil ${NEW_CEIL_MBPS} Mb/s`),
      () => check(false, `circuit page shows the new ceil ${NEW_CEIL_MBPS} Mb/s`));
  await sleep(4000);
  const shown = Number(await page.getAttribute("[data-testid=circuit-down]", "data-bps"));
  check(shown > 0.5e6 && shown < NEW_CEIL_MBPS * 1.2e6, `circuit page's live rate follows (${(shown / 1e6).toFixed(2)} Mbit/s)`);
  const ownerAfter = await page.getAttribute("[data-testid=circuit-owner]", "data-owner").catch(() => null);
  check(ownerAfter === "overrides", `the edited circuit is now owned by the overrides layer (${ownerAfter})`);
  await shot("07-circuit-after");

  // ---- config page: view and validate ----
  await page.goto(base + "#/config");
  await page.waitForSelector("textarea.config");
  check((await page.inputValue("textarea.config")).includes("[sluice]"), "config page shows lqos.conf");
  await page.click("text=Validate");
  await page.waitForSelector("[data-testid=config-message]");
  const validated = await page.textContent("[data-testid=config-message]");
  check(validated === "validate: valid", `the running config validates (${validated})`);
  await shot("08-config");

  // ---- integration page: mode, the scheduler's first run, a dry run, a mass change held ----
  await page.goto(base + "#/integration");
  await page.waitForSelector("[data-testid=integration-page]");
  const mode = await page.getAttribute("[data-testid=sync-mode]", "data-mode");
  check(mode === "custom", `integration page shows the operating mode (${mode})`);
  const firstRun = await page.getAttribute("[data-testid=sync-last-outcome]", "data-outcome").catch(() => null);
  check(firstRun === "unchanged", `the scheduler's first run found the inputs unchanged (${firstRun})`);
  syncVariant("change");
  await page.click("[data-testid=sync-dry-run]");
  await page.waitForSelector("[data-testid=sync-result-outcome]", { timeout: 30000 });
  const dry = await page.getAttribute("[data-testid=sync-result-outcome]", "data-outcome");
  const dryText = await page.textContent("[data-testid=sync-result] [data-testid=change-summary-text]").catch(() => "");
  check(dry === "dry-run" && /^1 circuits added, 0 removed, 0 re-parented, 1 speed changes/.test(dryText),
    `Dry run shows the change summary (${dry}: ${dryText})`);
  await page.click("[data-testid=sync-result] [data-testid=changes-speed_changes] summary");
  await page.click("[data-testid=sync-result] [data-testid=changes-circuits_added] summary");
  const speedRow = await page.textContent("[data-testid=sync-result] tr[data-circuit='1003']").catch(() => "");
  check(/25 Mb\/s → 30 Mb\/s/.test(speedRow), `the speed change lists circuit 1003's ceil 25 → 30 (${speedRow.trim()})`);
  check((await page.textContent("[data-testid=sync-result] [data-testid=changes-circuits_added]")).includes("1051"),
    "the added circuit 1051 is listed");
  await shot("11-integration-dry-run");
  const notApplied = await page.evaluate(async () => (await fetch("/api/circuits/1051")).status);
  check(notApplied === 404, `the dry run applied nothing (circuit 1051: ${notApplied})`);
  syncVariant("mass");
  await page.click("[data-testid=sync-run]");
  const held = await page.waitForSelector("[data-testid=sync-pending]", { timeout: 30000 }).then(() => true, () => false);
  const removed = Number(await page.getAttribute(
    "[data-testid=sync-pending] [data-testid=changes-circuits_removed]", "data-count").catch(() => 0));
  check(held && removed === REMOVED_BY_MASS && await page.isEnabled("[data-testid=sync-approve]"),
    `a sync removing ${REMOVED_BY_MASS} of 50 circuits is held for approval (${removed} removed)`);
  await shot("12-integration-held");

  // ---- users page: add a read-only user, log in as it, nothing editable ----
  const viewer = "noc-viewer", viewerPassword = `v-${Math.random().toString(36).slice(2)}-x9`;
  await page.goto(base + "#/users");
  await page.fill("input[placeholder='user name']", viewer);
  await page.fill("input[placeholder=password]", viewerPassword);
  await page.selectOption(".inline-form select", "read-only");
  await page.click("text=Add user");
  check(await page.waitForSelector(`td:text-is("${viewer}")`).then(() => true, () => false), "users page adds a read-only user");
  await shot("09-users");
  await page.click("text=Log out");
  await page.waitForSelector("input[name=username]");
  await page.fill("input[name=username]", viewer);
  await page.fill("input[name=password]", viewerPassword);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=whoami]");
  check((await page.textContent("[data-testid=whoami]")).includes("read-only"), "logged in as the read-only user");
  await page.goto(base + `#/devices/${CIRCUIT.id}`);
  await page.waitForSelector("[data-testid=circuit-form] input[name=max_down_mbps]");
  check(await page.isDisabled("input[name=max_down_mbps]") && !(await page.$("[data-testid=save-circuit]")),
    "the read-only user cannot edit circuits in the UI");
  const forbidden = await page.evaluate(async (id) => {
    const me = await (await fetch("/api/me")).json();
    const r = await fetch(`/api/circuits/${id}`, { method: "PATCH", headers: { "Content-Type": "application/json",
      "X-CSRF-Token": me.csrf_token }, body: JSON.stringify({ max_down_mbps: 50 }) });
    return r.status;
  }, CIRCUIT.id);
  check(forbidden === 403, `the API refuses the read-only user's change (${forbidden})`);
  await shot("10-readonly-editor");
  await page.goto(base + "#/integration");
  await page.waitForSelector("[data-testid=sync-pending]");
  const reason = await page.textContent("[data-testid=approve-reason]").catch(() => "");
  check(await page.isDisabled("[data-testid=sync-approve]") && await page.isDisabled("[data-testid=sync-run]") &&
    reason.includes("admin"), `the read-only user sees Approve disabled with the reason: ${reason}`);
  await shot("13-readonly-integration");

  // ---- back as the admin: approve the held sync ----
  await page.click("text=Log out");
  await page.waitForSelector("input[name=username]");
  await page.fill("input[name=username]", env("SLUICE_USER"));
  await page.fill("input[name=password]", env("SLUICE_PASSWORD"));
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=whoami]");
  await page.goto(base + "#/integration");
  await page.waitForSelector("[data-testid=sync-approve]:not([disabled])");
  page.once("dialog", (d) => d.accept());
  await page.click("[data-testid=sync-approve]");
  await page.waitForSelector("[data-testid=sync-result-outcome]", { timeout: 30000 });
  const approved = await page.getAttribute("[data-testid=sync-result-outcome]", "data-outcome");
  await page.waitForSelector("[data-testid=sync-pending]", { state: "detached" }).catch(() => {});
  // The telemetry collector takes the new plan's circuits at its next 1 s tick.
  let gone = 0;
  for (let i = 0; i < 10 && gone !== 404; i++, await sleep(500))
    gone = await page.evaluate(async () => (await fetch("/api/circuits/1045")).status);
  check(approved === "applied" && !(await page.$("[data-testid=sync-pending]")) && gone === 404,
    `Approve installs the held sync (${approved}; circuit 1045: ${gone})`);
  await shot("14-integration-approved");
} catch (e) {
  check(false, `unexpected: ${e.stack ?? e}`);
  await shot("99-failure").catch(() => {});
} finally {
  iperf.kill();
  await browser.close();
}
log(failures ? `${failures} check(s) failed` : "all checks passed");
process.exit(failures ? 1 : 0);
