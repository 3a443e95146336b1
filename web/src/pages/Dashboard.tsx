// Dashboard: total throughput, RTT histogram, top circuits, worst RTT, shaped vs unknown traffic,
// per-queue CPU and urgent issues.
import { CircuitRow, Summary } from "../api";
import { Bars, TimeChart } from "../components/Chart";
import { OwnerTag } from "../components/Owner";
import { bps, ms, num, pct, rttClass } from "../format";
import { columns, useSeries } from "../history";
import { useLive, usePoll } from "../live";

interface Status {
  state?: string;
  mode?: string;
  queue_mode?: string;
  circuits?: number;
  devices?: number;
  nodes?: number;
  queues?: number;
  leaf?: { configured?: string; active?: string; fallback?: boolean };
  last_reload?: { time?: string; outcome?: string; trigger?: string; duration_ms?: number };
}

export function CircuitTable({ rows, testid, compact }: { rows: CircuitRow[] | undefined; testid?: string; compact?: boolean }) {
  if (!rows) return <div class="muted">loading…</div>;
  if (!rows.length) return <div class="muted">no circuits</div>;
  const owners = !compact && rows.some((c) => c.owner);
  return (
    <table class="grid" data-testid={testid}>
      <thead>
        <tr>
          <th>Circuit</th>
          {!compact && <th>Parent</th>}
          {owners && <th>Owner</th>}
          <th class="r">Down</th>
          <th class="r">Up</th>
          <th class="r">RTT p50</th>
          <th class="r">Retx</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((c) => (
          <tr>
            <td><a href={`#/circuit/${encodeURIComponent(c.id)}`}>{c.name || c.id}</a></td>
            {!compact && <td class="muted">{c.parent}</td>}
            {owners && <td><OwnerTag owner={c.owner} /></td>}
            <td class="r">{bps(c.down_bps)}</td>
            <td class="r">{bps(c.up_bps)}</td>
            <td class={`r ${rttClass(c.rtt_p50_ms)}`}>{ms(c.rtt_p50_ms)}</td>
            <td class="r">{pct(c.retransmit_pct)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Urgent() {
  const data = useLive<{ issues: { severity: string; kind: string; message: string }[] }>("urgent");
  if (!data) return <div class="muted">loading…</div>;
  if (!data.issues.length) return <div class="ok-text">No urgent issues.</div>;
  return (
    <ul class="issues" data-testid="urgent">
      {data.issues.map((i) => (
        <li class={i.severity === "error" ? "sev-error" : "sev-warning"}>
          <span class="kind">{i.kind}</span> {i.message}
        </li>
      ))}
    </ul>
  );
}

export function Dashboard() {
  const s = useLive<Summary>("summary");
  const series = useSeries(s?.history, s, "summary");
  const status = useLive<Status>("status");
  const top = usePoll<{ circuits: CircuitRow[] }>("/api/top?metric=throughput&n=10", 3000).data;
  const worst = usePoll<{ circuits: CircuitRow[] }>("/api/top?metric=rtt&n=10", 3000).data;
  const retx = usePoll<{ circuits: CircuitRow[] }>("/api/top?metric=retransmits&n=5", 5000).data;
  const unknown = usePoll<{ addresses: { address: string; down_bps: number; up_bps: number; bytes_down?: number; bytes_up?: number }[] }>(
    "/api/unknown",
    5000,
  ).data;

  const shaped = (s?.shaped?.down_bps ?? 0) + (s?.shaped?.up_bps ?? 0);
  const unk = (s?.unknown?.down_bps ?? 0) + (s?.unknown?.up_bps ?? 0);
  const hist = s?.rtt_histogram ?? [];

  return (
    <div class="dash">
      <section class="kpis">
        <div class="kpi"><span>Down</span><b data-testid="total-down">{bps(s?.down_bps)}</b></div>
        <div class="kpi"><span>Up</span><b>{bps(s?.up_bps)}</b></div>
        <div class="kpi"><span>RTT p50 / p90</span><b class={rttClass(s?.rtt_ms?.p50)}>{ms(s?.rtt_ms?.p50)} / {ms(s?.rtt_ms?.p90)}</b></div>
        <div class="kpi"><span>Retransmits</span><b>{pct(s?.retransmit_pct, 2)}</b></div>
        <div class="kpi"><span>Circuits</span><b>{status?.circuits ?? "–"}</b></div>
        <div class="kpi"><span>State</span><b>{status?.state ?? "–"} · {status?.queue_mode ?? ""}</b></div>
        <div class="kpi">
          <span>Leaf</span>
          <b class={status?.leaf?.fallback ? "warn-text" : ""}>
            {status?.leaf?.active ?? "–"}{status?.leaf?.fallback ? ` (for ${status.leaf.configured})` : ""}
          </b>
        </div>
        <div class="kpi"><span>Last reload</span><b>{status?.last_reload?.outcome ?? "–"}</b></div>
      </section>

      <section class="panel wide">
        <h2>Total throughput</h2>
        <TimeChart
          testid="total-chart"
          data={columns(series)}
          series={[
            { label: "Down", color: "#4fa3ff", fmt: bps, fill: true },
            { label: "Up", color: "#f0a33a", fmt: bps },
          ]}
          yFmt={bps}
        />
      </section>

      <section class="panel">
        <h2>Urgent issues</h2>
        <Urgent />
      </section>

      <section class="panel">
        <h2>TCP RTT histogram</h2>
        {hist.length ? (
          <Bars
            testid="rtt-histogram"
            rows={hist.map((b, i) => ({
              label: b.le_ms === null || !Number.isFinite(b.le_ms)
                ? `> ${hist[i - 1]?.le_ms ?? 0} ms`
                : `≤ ${b.le_ms} ms`,
              value: b.count,
              cls: rttClass(b.le_ms ?? 1000),
            }))}
            fmt={(v) => String(v)}
          />
        ) : (
          <div class="muted">no RTT samples yet</div>
        )}
      </section>

      <section class="panel">
        <h2>Shaped vs unknown</h2>
        <div class="split">
          <span class="split-shaped" style={{ flex: shaped || (unk ? 0 : 1) }} />
          <span class="split-unknown" style={{ flex: unk }} />
        </div>
        <table class="grid">
          <tbody>
            <tr><td>Shaped</td><td class="r">↓ {bps(s?.shaped?.down_bps)}</td><td class="r">↑ {bps(s?.shaped?.up_bps)}</td></tr>
            <tr><td>Unknown</td><td class="r">↓ {bps(s?.unknown?.down_bps)}</td><td class="r">↑ {bps(s?.unknown?.up_bps)}</td></tr>
          </tbody>
        </table>
        {unknown && unknown.addresses.length > 0 && (
          <table class="grid small">
            <thead><tr><th>Unknown address</th><th class="r">Down</th><th class="r">Up</th></tr></thead>
            <tbody>
              {unknown.addresses.slice(0, 8).map((a) => (
                <tr><td class="mono">{a.address}</td><td class="r">{bps(a.down_bps)}</td><td class="r">{bps(a.up_bps)}</td></tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section class="panel">
        <h2>Protocols (packets/s)</h2>
        {s?.protocols && Object.keys(s.protocols).length ? (
          <table class="grid small">
            <thead><tr><th>Protocol</th><th class="r">Down</th><th class="r">Up</th></tr></thead>
            <tbody>
              {Object.entries(s.protocols).map(([name, p]) => (
                <tr><td>{name.toUpperCase()}</td><td class="r">{num(p.down_pps)}</td><td class="r">{num(p.up_pps)}</td></tr>
              ))}
            </tbody>
          </table>
        ) : (
          <div class="muted">no protocol data</div>
        )}
      </section>

      <section class="panel">
        <h2>Per-queue CPU</h2>
        {s?.queues?.length ? (
          <Bars
            rows={s.queues.map((q) => ({
              label: `q${q.queue} · cpu${q.cpu}`,
              value: q.cpu_pct,
              cls: q.cpu_pct >= 85 ? "util-hot" : q.cpu_pct >= 60 ? "util-warm" : "util-ok",
              title: `↓ ${bps(q.down_bps)} ↑ ${bps(q.up_bps)}`,
            }))}
            max={100}
            fmt={(v) => pct(v, 0)}
          />
        ) : (
          <div class="muted">no queue data</div>
        )}
      </section>

      <section class="panel">
        <h2>Top circuits (throughput)</h2>
        <CircuitTable rows={top?.circuits} testid="top-throughput" compact />
      </section>

      <section class="panel">
        <h2>Worst RTT</h2>
        <CircuitTable rows={worst?.circuits} testid="top-rtt" compact />
      </section>

      <section class="panel">
        <h2>Most retransmits</h2>
        <CircuitTable rows={retx?.circuits} compact />
      </section>
    </div>
  );
}
