// Integration page: where network.json and ShapedDevices.csv come from (operating mode and
// integration), the sync schedule, the last sync with its changes, a sync held by the
// mass-change guard with its Approve button, and Run now / Dry run (admin) with their answer.
import { useState } from "preact/hooks";
import { ApiError, IntegrationStatus, post, SyncOutcome } from "../api";
import { OutcomeBadge, OutcomeView } from "../components/SyncOutcome";
import { ago, duration, num } from "../format";
import { usePoll } from "../live";

const INTEGRATIONS: Record<string, string> = { uisp: "UISP", splynx: "Splynx", sonar: "Sonar" };

type Action = "run" | "dry-run" | "approve";
const ACTION_TITLES: Record<Action, string> = { run: "Run now", "dry-run": "Dry run", approve: "Approval" };

/** The same sync seen twice (a run's answer is also "last", a held one also "pending"). */
const sameRun = (a: SyncOutcome | null | undefined, b: SyncOutcome | null | undefined) =>
  !!a && !!b && a.started_unix === b.started_unix && a.outcome === b.outcome && a.source === b.source &&
  a.duration_ms === b.duration_ms;

/** One line for an outcome whose full view is in another panel. */
function OutcomeLine({ o, where, testid }: { o: SyncOutcome; where: string; testid?: string }) {
  return (
    <div data-testid={testid} data-outcome={o.outcome}>
      <OutcomeBadge outcome={o.outcome} /> <span>{o.message}</span> <span class="muted">({where})</span>
    </div>
  );
}

function ModeText({ s }: { s: IntegrationStatus }) {
  const every = s.interval_s ? `every ${duration(s.interval_s)}` : "on its schedule";
  switch (s.mode) {
    case "integration":
      return (
        <>The <b>{INTEGRATIONS[s.integration] ?? s.integration}</b> integration writes network.json and
          ShapedDevices.csv {every} and on demand. Live edits of its circuits go to the overrides layer.</>
      );
    case "custom":
      return (
        <>The custom pipeline (<span class="mono">[sync] custom_command</span>) writes network.json and
          ShapedDevices.csv into the staging directory {every} and on demand. Live edits of its circuits go to the
          overrides layer.</>
      );
    case "manual":
      return (
        <>Manual files: network.json and ShapedDevices.csv are edited by hand or through this UI, and nothing is
          synced. <span class="mono">[sync] mode = "integration"</span> (with an enabled integration) or{" "}
          <span class="mono">"custom"</span> in lqos.conf makes a sync their source.</>
      );
    default:
      return <span class="error">The [sync] settings are unusable: {s.error ?? "unknown error"}</span>;
  }
}

export function IntegrationPage({ admin }: { admin: boolean }) {
  const status = usePoll<IntegrationStatus>("/api/integration", 5000);
  const [busy, setBusy] = useState<Action | null>(null);
  const [result, setResult] = useState<{ action: Action; outcome: SyncOutcome | null; error?: string } | null>(null);
  const s = status.data;

  async function act(action: Action) {
    if (action === "approve" && s?.pending &&
        !confirm(`Install the held sync?\n\n${s.pending.changes.summary}`)) return;
    setBusy(action);
    setResult(null);
    const path = action === "approve" ? "/api/integration/approve"
      : `/api/integration/run${action === "dry-run" ? "?dry_run=1" : ""}`;
    try {
      setResult({ action, outcome: await post<SyncOutcome>(path) });
    } catch (e) {
      // 409 held and 502 failed carry the outcome as their body.
      const a = e as ApiError;
      const body = a.body as SyncOutcome | null;
      const isOutcome = !!body && typeof body === "object" && typeof body.outcome === "string";
      setResult({ action, outcome: isOutcome ? body : null, error: isOutcome ? undefined : a.message });
    } finally {
      setBusy(null);
      status.refresh();
    }
  }

  if (!s) {
    return <div class="panel">{status.error ? <span class="error">{status.error}</span> : <span class="muted">loading…</span>}</div>;
  }

  const syncing = s.mode === "integration" || s.mode === "custom";
  const runBlocked = !admin ? "Read-only role: running a sync needs an admin."
    : !syncing ? (s.mode === "manual" ? "Manual mode: there is nothing to sync." : "The [sync] settings are unusable.")
    : null;
  const source = s.mode === "integration" ? INTEGRATIONS[s.integration] ?? s.integration
    : s.mode === "custom" ? "custom pipeline" : s.mode === "manual" ? "input files" : "–";

  return (
    <div class="page integration" data-testid="integration-page">
      <div class="toolbar">
        <h1>Integration</h1>
        <span class="muted">the source of network.json and ShapedDevices.csv</span>
        <span class="spacer" />
        {runBlocked && <span class="muted" data-testid="run-reason">{runBlocked}</span>}
        <button disabled={!!runBlocked || !!busy} onClick={() => act("dry-run")} data-testid="sync-dry-run"
          title="Produce, validate and compare; apply nothing">
          {busy === "dry-run" ? "Running…" : "Dry run"}
        </button>
        <button class="primary" disabled={!!runBlocked || !!busy} onClick={() => act("run")} data-testid="sync-run"
          title="Sync now; a mass change is held for approval">
          {busy === "run" ? "Running…" : "Run now"}
        </button>
      </div>

      <section class="kpis">
        <div class="kpi"><span>Mode</span><b data-testid="sync-mode" data-mode={s.mode}>{s.mode}</b></div>
        <div class="kpi"><span>Source</span><b data-testid="sync-source">{source}</b></div>
        <div class="kpi"><span>Schedule</span><b>{syncing && s.interval_s ? `every ${duration(s.interval_s)}` : "–"}</b></div>
        <div class="kpi"><span>Next run</span>
          <b data-testid="sync-next">{s.next_run_in_s !== undefined ? `in ${duration(s.next_run_in_s)}` : "–"}</b></div>
        <div class="kpi" title="a sync that removes or re-parents more than this share of circuits is held for approval">
          <span>Mass-change guard</span><b>{syncing && s.mass_change_threshold_percent !== undefined ? `${num(s.mass_change_threshold_percent, 1)} %` : "–"}</b>
        </div>
        <div class="kpi"><span>Last sync</span>
          <b>{s.last ? <><OutcomeBadge outcome={s.last.outcome} /> <small class="muted">{ago(s.last.started_unix)}</small></> : "–"}</b></div>
        <div class="kpi"><span>Runs</span><b>{num(s.runs)}</b></div>
      </section>

      <section class="panel">
        <div class={s.mode === "invalid" ? "" : "mode-text"} data-testid="sync-mode-text"><ModeText s={s} /></div>
        {status.error && <div class="error">{status.error}</div>}
      </section>

      {s.pending && (
        <section class="panel attention" data-testid="sync-pending">
          <h2>Held for approval</h2>
          <OutcomeView o={s.pending} testid="sync-pending-outcome" />
          <div class="actions">
            <button class="primary" disabled={!admin || !!busy} onClick={() => act("approve")} data-testid="sync-approve">
              {busy === "approve" ? "Installing…" : "Approve and install"}
            </button>
            {!admin && <span class="muted" data-testid="approve-reason">Read-only role: approving a held sync needs an admin.</span>}
            {admin && <span class="muted">The held files are validated again against the inputs in force, then applied.</span>}
          </div>
        </section>
      )}

      {result && (
        <section class="panel" data-testid="sync-result" data-action={result.action}>
          <div class="toolbar">
            <h2>{ACTION_TITLES[result.action]}: answer</h2>
            <span class="spacer" />
            <button class="link" onClick={() => setResult(null)} title="dismiss">✕</button>
          </div>
          {!result.outcome ? <div class="error">{result.error}</div>
            : sameRun(result.outcome, s.pending) ? <OutcomeLine o={result.outcome} where="its changes: Held for approval" testid="sync-result-outcome" />
            : sameRun(result.outcome, s.last) ? <OutcomeLine o={result.outcome} where="its changes: Last sync" testid="sync-result-outcome" />
            : <OutcomeView o={result.outcome} testid="sync-result-outcome" />}
        </section>
      )}

      <section class="panel" data-testid="sync-last">
        <h2>Last sync</h2>
        {s.last && sameRun(s.last, s.pending) ? <OutcomeLine o={s.last} where="waiting for approval, above" testid="sync-last-outcome" />
          : s.last ? <OutcomeView o={s.last} testid="sync-last-outcome" />
          : <div class="muted">{syncing ? "No sync has run since sluiced started." : "No sync runs in this mode."}</div>}
      </section>
    </div>
  );
}
