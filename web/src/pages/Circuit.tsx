// Circuit page: live down/up against the plan's ceil, RTT and retransmits, flows, devices and
// addresses, queue statistics.
import { CircuitDetail, QueueStats } from "../api";
import { CaptureButton } from "../components/Capture";
import { TimeChart } from "../components/Chart";
import { isSynced, OwnerTag } from "../components/Owner";
import { bps, bytes, mbps, ms, num, pct, rttClass } from "../format";
import { columns, useSeries } from "../history";
import { useLive } from "../live";

function QueueTable({ q }: { q: { down?: QueueStats; up?: QueueStats } | undefined }) {
  if (!q || (!q.down && !q.up)) return <div class="muted">no queue statistics</div>;
  const rows: [string, (s: QueueStats) => string][] = [
    ["Leaf", (s) => s.leaf_kind ?? "–"],
    ["Sent", (s) => bytes(s.sent_bytes)],
    ["Drops", (s) => num(s.drops)],
    ["Overlimits", (s) => num(s.overlimits)],
    ["Backlog", (s) => `${bytes(s.backlog_bytes)} / ${num(s.backlog_packets)} pkt`],
  ];
  const tins = Math.max(q.down?.tins?.length ?? 0, q.up?.tins?.length ?? 0);
  return (
    <table class="grid" data-testid="queue-stats">
      <thead><tr><th /><th class="r">Download</th><th class="r">Upload</th></tr></thead>
      <tbody>
        {rows.map(([label, f]) => (
          <tr><td>{label}</td><td class="r">{q.down ? f(q.down) : "–"}</td><td class="r">{q.up ? f(q.up) : "–"}</td></tr>
        ))}
        {Array.from({ length: tins }, (_, i) => {
          const t = (s?: QueueStats) => {
            const x = s?.tins?.[i];
            return x ? `${num(x.drops)} drop · ${num(x.marks)} mark · ${num((x.delay_us ?? 0) / 1000, 1)} ms` : "–";
          };
          return <tr><td>Tin {i}</td><td class="r">{t(q.down)}</td><td class="r">{t(q.up)}</td></tr>;
        })}
      </tbody>
    </table>
  );
}

export function Circuit({ id, admin }: { id: string; admin: boolean }) {
  const c = useLive<CircuitDetail>(id ? `circuit:${id}` : null);
  const cur = c?.live ? { ...c.live } : null;
  const series = useSeries(c?.history, cur, id);
  const ceilDown = (c?.plan?.max_down_mbps ?? 0) * 1e6;
  const ceilUp = (c?.plan?.max_up_mbps ?? 0) * 1e6;
  const rate = columns(series, () => ceilDown || null, () => ceilUp || null);
  const rtt = [rate[0], series.map((p) => p.rtt_p50_ms ?? null)];

  if (!c) return <div class="panel muted">loading circuit {id}…</div>;
  const plan = c.plan ?? {};
  return (
    <div class="page circuit" data-testid="circuit-page" data-circuit={c.id}>
      <div class="toolbar">
        <h1>{c.name || c.id}</h1>
        <span class="muted">id {c.id} · parent {c.parent || "–"}{c.owner && <> · from<OwnerTag owner={c.owner} testid="circuit-owner" /></>}</span>
        <span class="spacer" />
        {admin && <CaptureButton circuit={c.id} />}
        {admin && (
          <a class="button" href={`#/devices/${encodeURIComponent(c.id)}`} data-testid="edit-circuit"
            title={isSynced(c.owner) ? "edits go to the overrides layer and persist across syncs" : undefined}>Edit</a>
        )}
      </div>
      <section class="kpis">
        <div class="kpi"><span>Down</span><b data-testid="circuit-down" data-bps={c.live?.down_bps ?? 0}>{bps(c.live?.down_bps)}</b></div>
        <div class="kpi"><span>Up</span><b data-testid="circuit-up" data-bps={c.live?.up_bps ?? 0}>{bps(c.live?.up_bps)}</b></div>
        <div class="kpi"><span>Plan ceil ↓ / ↑</span><b data-testid="circuit-ceil">{mbps(plan.max_down_mbps)} / {mbps(plan.max_up_mbps)}</b></div>
        <div class="kpi"><span>Plan rate ↓ / ↑</span><b>{mbps(plan.min_down_mbps)} / {mbps(plan.min_up_mbps)}</b></div>
        <div class="kpi"><span>RTT p50 / p90</span><b class={rttClass(c.live?.rtt_p50_ms)}>{ms(c.live?.rtt_p50_ms)} / {ms(c.live?.rtt_p90_ms)}</b></div>
        <div class="kpi"><span>Retransmits</span><b>{pct(c.live?.retransmit_pct, 2)}</b></div>
        <div class="kpi"><span>Packets ↓ / ↑</span><b>{num(c.live?.down_pps)} / {num(c.live?.up_pps)} pps</b></div>
      </section>
      <section class="panel wide">
        <h2>Throughput against the plan's ceil</h2>
        <TimeChart
          testid="circuit-chart"
          data={rate}
          series={[
            { label: "Down", color: "#4fa3ff", fmt: bps, fill: true },
            { label: "Up", color: "#f0a33a", fmt: bps },
            { label: "Ceil ↓", color: "#4fa3ff", fmt: bps, dash: [6, 4], width: 1 },
            { label: "Ceil ↑", color: "#f0a33a", fmt: bps, dash: [6, 4], width: 1 },
          ]}
          yFmt={bps}
          height={220}
        />
      </section>
      <section class="panel">
        <h2>TCP RTT p50</h2>
        <TimeChart data={rtt} series={[{ label: "RTT p50", color: "#7bd88f", fmt: ms }]} yFmt={(v) => `${v} ms`} height={140} />
      </section>
      <section class="panel">
        <h2>Plan and queue</h2>
        <table class="grid small">
          <tbody>
            <tr><td>Classid ↓ / ↑</td><td class="mono">{plan.down_classid ?? "–"} / {plan.up_classid ?? "–"}</td></tr>
            <tr><td>Queue</td><td>{plan.queue ?? "–"}</td></tr>
            <tr><td>Leaf</td><td>{plan.leaf?.kind ?? "–"} {plan.leaf?.diffserv ?? ""}</td></tr>
          </tbody>
        </table>
        <QueueTable q={c.queue} />
      </section>
      <section class="panel wide">
        <h2>Devices and addresses</h2>
        <table class="grid" data-testid="devices">
          <thead><tr><th>Device</th><th>Name</th><th>MAC</th><th>IPv4</th><th>IPv6</th><th>Comment</th></tr></thead>
          <tbody>
            {(c.devices ?? []).map((d) => (
              <tr>
                <td class="mono">{d.id}</td><td>{d.name}</td><td class="mono">{d.mac || "–"}</td>
                <td class="mono">{(d.ipv4 ?? []).join(", ")}</td><td class="mono">{(d.ipv6 ?? []).join(", ")}</td>
                <td class="muted">{d.comment}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="panel wide">
        <h2>Flows ({c.flows?.length ?? 0})</h2>
        {c.flows?.length ? (
          <table class="grid" data-testid="flows">
            <thead>
              <tr><th>Proto</th><th>Source</th><th>Destination</th><th class="r">Down</th><th class="r">Up</th><th class="r">RTT</th><th class="r">Retx</th></tr>
            </thead>
            <tbody>
              {c.flows.map((f) => (
                <tr>
                  <td>{f.proto}</td>
                  <td class="mono">{f.src}{f.sport !== undefined ? `:${f.sport}` : ""}</td>
                  <td class="mono">{f.dst}{f.dport !== undefined ? `:${f.dport}` : ""}</td>
                  <td class="r">{bps(f.down_bps)}</td><td class="r">{bps(f.up_bps)}</td>
                  <td class={`r ${rttClass(f.rtt_ms)}`}>{ms(f.rtt_ms)}</td><td class="r">{num(f.retransmits)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <div class="muted">no active flows</div>
        )}
      </section>
    </div>
  );
}
