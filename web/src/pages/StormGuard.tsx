// StormGuard page (GET /api/stormguard?history=1, docs/stormguard.md): its mode, one chart per
// watched node (planned and current download rate, throughput, RTT and its baseline over the last
// 10 minutes), each direction's last decision and why, and the latest events.
import { TimeChart } from "../components/Chart";
import { dateTime, ms, num } from "../format";
import { usePoll } from "../live";

interface Direction {
  planned_mbps: number;
  current_mbps: number;
  minimum_mbps: number;
  throughput_mbps: number;
  baseline_rtt_ms: number | null;
  last: { action: string; why: string; at: number };
}
interface Node {
  name: string;
  rtt_ms: number | null;
  adjusted: boolean;
  download: Direction;
  upload: Direction;
  /** [unix_s, down_rate, up_rate, down_mbps, up_mbps, rtt_ms, baseline_ms] */
  history?: (number | null)[][];
}
interface StormGuardStatus {
  phase: string;
  strategy: string;
  error: string | null;
  missing: string[];
  changes: number;
  nodes: Node[];
  events: { at: number; node: string; what: string; applied: boolean }[];
}

const rate = (v: number) => `${num(v, 1)} Mbit/s`;

function NodeChart({ n }: { n: Node }) {
  const h = n.history ?? [];
  const col = (i: number) => h.map((p) => p[i]);
  const planned = h.map(() => n.download.planned_mbps);
  return (
    <div class="panel" data-testid="sg-node">
      <h2>{n.name} {n.adjusted && <span class="badge warn">held below plan</span>}</h2>
      <table>
        <thead><tr><th></th><th>planned</th><th>current</th><th>minimum</th><th>traffic</th><th>baseline RTT</th><th>last decision</th></tr></thead>
        <tbody>
          {(["download", "upload"] as const).map((d) => (
            <tr key={d}>
              <td>{d}</td><td>{rate(n[d].planned_mbps)}</td>
              <td class={n[d].current_mbps < n[d].planned_mbps ? "warn" : ""}>{rate(n[d].current_mbps)}</td>
              <td>{rate(n[d].minimum_mbps)}</td><td>{rate(n[d].throughput_mbps)}</td>
              <td>{ms(n[d].baseline_rtt_ms)}</td>
              <td title={n[d].last.why}>{n[d].last.action}: {n[d].last.why}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <TimeChart
        testid="sg-chart-rate"
        data={[col(0), planned, col(1), col(3)]}
        series={[
          { label: "planned down", color: "#8a96a8", dash: [4, 4], fmt: rate },
          { label: "StormGuard down", color: "#2a9d8f", width: 2, fmt: rate },
          { label: "traffic down", color: "#e9c46a", fill: true, fmt: rate },
        ]}
        yFmt={(v) => `${num(v)} Mb`}
      />
      <TimeChart
        testid="sg-chart-rtt"
        height={120}
        data={[col(0), col(5), col(6)]}
        series={[
          { label: "RTT p90", color: "#e76f51", fmt: ms },
          { label: "baseline", color: "#8a96a8", dash: [4, 4], fmt: ms },
        ]}
        yFmt={(v) => `${num(v)} ms`}
      />
    </div>
  );
}

export function StormGuardPage() {
  const status = usePoll<StormGuardStatus>("/api/stormguard?history=1", 2000);
  const s = status.data;
  if (!s) {
    return <div class="panel">{status.error ? <span class="error">{status.error}</span> : <span class="muted">loading…</span>}</div>;
  }
  return (
    <div class="page stormguard" data-testid="stormguard-page">
      <div class="toolbar">
        <h1>StormGuard</h1>
        <span class="muted">site rates that follow a variable backhaul's capacity, from the TCP RTT under load</span>
      </div>
      <section class="kpis">
        <div class="kpi"><span>State</span><b data-testid="sg-phase">{s.phase.replace("_", " ")}</b></div>
        <div class="kpi"><span>Watched nodes</span><b>{num(s.nodes.length)}</b></div>
        <div class="kpi"><span>Held below plan</span><b>{num(s.nodes.filter((n) => n.adjusted).length)}</b></div>
        <div class="kpi"><span>Rate changes</span><b>{num(s.changes)}</b></div>
      </section>
      {(s.error || s.missing.length > 0) && (
        <section class="panel attention">
          {s.error && <div class="error">{s.error}</div>}
          {s.missing.map((m) => <div key={m}>not watched: {m}</div>)}
        </section>
      )}
      {s.nodes.length === 0 && <section class="panel muted">no watched nodes ([stormguard] targets or all_sites)</section>}
      {s.nodes.map((n) => <NodeChart key={n.name} n={n} />)}
      <section class="panel">
        <h2>Events</h2>
        {s.events.length === 0 ? <span class="muted">nothing yet</span> : (
          <table data-testid="sg-events">
            <thead><tr><th>time</th><th>node</th><th>what</th></tr></thead>
            <tbody>
              {s.events.slice().reverse().slice(0, 50).map((e) => (
                <tr key={`${e.at}-${e.node}-${e.what}`}>
                  <td>{dateTime(e.at)}</td><td>{e.node}</td><td class={e.applied ? "" : "muted"}>{e.what}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
