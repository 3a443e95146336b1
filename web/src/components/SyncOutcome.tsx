// One sync's outcome (last sync, held sync, or the answer of Run now / Dry run / Approve): the
// outcome, source, time, duration, message and warnings, then the change summary with one
// expandable list per kind of change (circuits added, removed, re-parented, speed changes, ...).
import { ComponentChildren } from "preact";
import { Counted, MbpsPair, SyncChanges, SyncOutcome } from "../api";
import { ago, dateTime, mbps, num, pct } from "../format";

const OUTCOME_CLASS: Record<string, string> = {
  applied: "ok-text",
  unchanged: "muted",
  "dry-run": "",
  held: "warn-text",
  failed: "error",
};

export function OutcomeBadge({ outcome }: { outcome: string }) {
  return <b class={`outcome outcome-${outcome} ${OUTCOME_CLASS[outcome] ?? ""}`}>{outcome}</b>;
}

const circuitLink = (id: string) => <a href={`#/circuit/${encodeURIComponent(id)}`}>{id}</a>;

/** "and N more" when the server capped the list. */
function More({ list }: { list: Counted<unknown> }) {
  const more = list.count - list.items.length;
  return more > 0 ? <div class="muted">… and {num(more)} more (the API lists {list.items.length})</div> : null;
}

function Section({ title, list, kind, children }: {
  title: string; list: Counted<unknown>; kind: string; children: ComponentChildren;
}) {
  if (!list.count) return null;
  return (
    <details class="change-list" data-testid={`changes-${kind}`} data-count={list.count}>
      <summary>{title} <span class="count">{num(list.count)}</span></summary>
      {children}
      <More list={list} />
    </details>
  );
}

function Ids({ list, links }: { list: Counted<string>; links: boolean }) {
  return (
    <div class="id-list mono">
      {list.items.map((id) => <span>{links ? circuitLink(id) : id}</span>)}
    </div>
  );
}

/** "10 → 4" with the changed side marked; the plain value when it did not change. */
function Rate({ v }: { v: MbpsPair }) {
  if (v[0] === v[1]) return <span class="muted">{mbps(v[0])}</span>;
  return <span class="changed">{mbps(v[0])} → {mbps(v[1])}</span>;
}

/**
 * The change summary. `live`: the changes are in force (applied), so added circuits have a page
 * and removed ones no longer do; otherwise (a proposal) the other way round.
 */
export function ChangeSummary({ c, live }: { c: SyncChanges; live: boolean }) {
  return (
    <div class="changes" data-testid="change-summary">
      <div class="change-line">
        <span data-testid="change-summary-text">{c.summary}</span>
        <span class="muted">
          {" "}· circuits {num(c.circuits_before)} → {num(c.circuits_after)} · removed or re-parented{" "}
          {pct(c.disruptive_share * 100)}
        </span>
      </div>
      <Section title="Circuits added" list={c.circuits_added} kind="circuits_added">
        <Ids list={c.circuits_added} links={live} />
      </Section>
      <Section title="Circuits removed" list={c.circuits_removed} kind="circuits_removed">
        <Ids list={c.circuits_removed} links={!live} />
      </Section>
      <Section title="Circuits re-parented" list={c.circuits_reparented} kind="circuits_reparented">
        <table class="grid small">
          <thead><tr><th>Circuit</th><th>From</th><th>To</th></tr></thead>
          <tbody>
            {c.circuits_reparented.items.map((r) => (
              <tr><td class="mono">{circuitLink(r.circuit_id)}</td><td>{r.from || "–"}</td><td>{r.to || "–"}</td></tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Speed changes" list={c.speed_changes} kind="speed_changes">
        <table class="grid small">
          <thead>
            <tr><th>Circuit</th><th class="r">Download min</th><th class="r">Upload min</th><th class="r">Download max</th><th class="r">Upload max</th></tr>
          </thead>
          <tbody>
            {c.speed_changes.items.map((s) => (
              <tr data-circuit={s.circuit_id}>
                <td class="mono">{circuitLink(s.circuit_id)}</td>
                <td class="r"><Rate v={s.download_min_mbps} /></td><td class="r"><Rate v={s.upload_min_mbps} /></td>
                <td class="r"><Rate v={s.download_max_mbps} /></td><td class="r"><Rate v={s.upload_max_mbps} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Circuits otherwise changed (devices, addresses, name, sqm)" list={c.circuits_otherwise_changed}
        kind="circuits_otherwise_changed">
        <Ids list={c.circuits_otherwise_changed} links />
      </Section>
      <Section title="Nodes added" list={c.nodes_added} kind="nodes_added"><Ids list={c.nodes_added} links={false} /></Section>
      <Section title="Nodes removed" list={c.nodes_removed} kind="nodes_removed"><Ids list={c.nodes_removed} links={false} /></Section>
      <Section title="Nodes changed (rates, type, parent)" list={c.nodes_changed} kind="nodes_changed">
        <Ids list={c.nodes_changed} links={false} />
      </Section>
    </div>
  );
}

const changeCount = (c: SyncChanges | undefined) =>
  !c ? 0 : [c.circuits_added, c.circuits_removed, c.circuits_reparented, c.speed_changes,
    c.circuits_otherwise_changed, c.nodes_added, c.nodes_removed, c.nodes_changed].reduce((a, l) => a + (l?.count ?? 0), 0);

/** The whole outcome; a failure shows its changes only when it got as far as comparing. */
export function OutcomeView({ o, testid }: { o: SyncOutcome; testid?: string }) {
  const live = o.outcome === "applied";
  return (
    <div class="outcome-view" data-testid={testid} data-outcome={o.outcome}>
      <table class="grid small kv">
        <tbody>
          <tr><td>Outcome</td><td data-testid={testid ? `${testid}-outcome` : undefined}><OutcomeBadge outcome={o.outcome} /></td></tr>
          <tr><td>Source</td><td class="mono">{o.source || "–"}</td></tr>
          <tr><td>Started</td><td>{dateTime(o.started_unix)} <span class="muted">({ago(o.started_unix)})</span></td></tr>
          <tr><td>Duration</td><td>{num(o.duration_ms, 0)} ms</td></tr>
          <tr><td>Message</td><td class="wrap" data-testid={testid ? `${testid}-message` : undefined}>{o.message || "–"}</td></tr>
        </tbody>
      </table>
      {o.warnings.length > 0 && (
        <details class="change-list" data-testid="sync-warnings">
          <summary>Warnings <span class="count">{num(o.warnings.length)}</span></summary>
          <ul class="issues">{o.warnings.map((w) => <li>{w}</li>)}</ul>
        </details>
      )}
      {o.changes && (o.outcome !== "failed" || changeCount(o.changes) > 0) && <ChangeSummary c={o.changes} live={live} />}
    </div>
  );
}
