// TreeGuard page (GET /api/treeguard, docs/treeguard.md): whether it runs, the busiest core, the
// circuits it moved from CAKE to fq_codel, the nodes it made virtual, and its latest activity.
import { dateTime, duration, num, pct } from "../format";
import { usePoll } from "../live";

interface Direction {
  base: string;
  current: string;
  util_pct: number | null;
  idle_s: number;
  changes_last_hour: number;
}
interface TreeGuardStatus {
  running: boolean;
  enabled?: boolean;
  dry_run?: boolean;
  circuits_enabled?: boolean;
  links_enabled?: boolean;
  settings_error: string | null;
  last_failure: string | null;
  cpu?: { max_pct: number | null; source: string; high_pct: number; low_pct: number; mode: string };
  circuits?: { enrolled: number; fq_codel_directions: number; list: { id: string; down: Direction; up: Direction }[] };
  nodes?: { enrolled: number; virtual: number; list: { name: string; virtual: boolean; idle_s: number }[] };
  activity?: { time_ms: number; kind: string; id: string; change: string; why: string; outcome: string }[];
}

const leaf = (d: Direction) => (d.current === d.base ? d.current : <b>{d.current}</b>);
const off = (d: Direction) => d.current !== d.base;

export function TreeGuardPage() {
  const status = usePoll<TreeGuardStatus>("/api/treeguard", 2000);
  const s = status.data;
  if (!s) {
    return <div class="panel">{status.error ? <span class="error">{status.error}</span> : <span class="muted">loading…</span>}</div>;
  }
  const changed = (s.circuits?.list ?? []).filter((c) => off(c.down) || off(c.up));
  const virtual = (s.nodes?.list ?? []).filter((n) => n.virtual);
  return (
    <div class="page treeguard" data-testid="treeguard-page">
      <div class="toolbar">
        <h1>TreeGuard</h1>
        <span class="muted">CPU-aware CAKE ↔ fq_codel switching of idle circuits, virtualisation of idle nodes</span>
      </div>
      <section class="kpis">
        <div class="kpi"><span>State</span>
          <b data-testid="tg-state">{!s.running ? "not running" : !s.enabled ? "disabled" : s.dry_run ? "dry run" : "on"}</b></div>
        <div class="kpi" title={s.cpu ? `saves at ≥ ${s.cpu.high_pct} %, reverts at ≤ ${s.cpu.low_pct} % (${s.cpu.source})` : ""}>
          <span>Busiest core</span><b data-testid="tg-cpu">{s.cpu?.max_pct != null ? `${num(s.cpu.max_pct)} %` : "–"}</b></div>
        <div class="kpi"><span>Circuits on fq_codel</span>
          <b data-testid="tg-fq-codel">{num(s.circuits?.fq_codel_directions ?? 0)} of {num((s.circuits?.enrolled ?? 0) * 2)} directions</b></div>
        <div class="kpi"><span>Virtual nodes</span><b>{s.links_enabled ? num(s.nodes?.virtual ?? 0) : "off"}</b></div>
      </section>
      {(s.settings_error || s.last_failure) && (
        <section class="panel attention">
          <span class="error">{s.settings_error ?? s.last_failure}</span>
        </section>
      )}
      <section class="panel">
        <h2>Changed circuits</h2>
        {changed.length === 0 ? <span class="muted">none: every circuit runs its planned leaf</span> : (
          <table data-testid="tg-circuits">
            <thead><tr><th>circuit</th><th>down</th><th>up</th><th>util down</th><th>util up</th><th>idle</th></tr></thead>
            <tbody>
              {changed.map((c) => (
                <tr key={c.id}>
                  <td><a href={`#/circuit/${encodeURIComponent(c.id)}`}>{c.id}</a></td>
                  <td>{leaf(c.down)}</td><td>{leaf(c.up)}</td>
                  <td>{pct(c.down.util_pct)}</td><td>{pct(c.up.util_pct)}</td>
                  <td>{duration(Math.min(c.down.idle_s, c.up.idle_s))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {virtual.length > 0 && <p>Virtual nodes: {virtual.map((n) => n.name).join(", ")}</p>}
      </section>
      <section class="panel">
        <h2>Activity</h2>
        {(s.activity ?? []).length === 0 ? <span class="muted">nothing yet</span> : (
          <table data-testid="tg-activity">
            <thead><tr><th>time</th><th>what</th><th>change</th><th>why</th><th>outcome</th></tr></thead>
            <tbody>
              {(s.activity ?? []).slice(0, 50).map((a) => (
                <tr key={`${a.time_ms}-${a.kind}-${a.id}-${a.change}`}>
                  <td>{dateTime(a.time_ms / 1000)}</td><td>{a.kind} {a.id}</td><td>{a.change}</td>
                  <td>{a.why}</td><td class={a.outcome.startsWith("failed") ? "error" : ""}>{a.outcome}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
