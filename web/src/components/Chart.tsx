// A uPlot time-series chart that follows its container's width and updates in place.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface SeriesSpec {
  label: string;
  color: string;
  /** Formats the series' values in the legend and axis. */
  fmt?: (v: number) => string;
  dash?: number[];
  fill?: boolean;
  width?: number;
}

interface Props {
  /** [x (unix s), ...one array per series] */
  data: (number | null)[][];
  series: SeriesSpec[];
  height?: number;
  yFmt?: (v: number) => string;
  testid?: string;
}

export function TimeChart({ data, series, height = 180, yFmt, testid }: Props) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.map((s) => s.label).join("|");

  useEffect(() => {
    if (!el.current) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.current.clientWidth),
      height,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: "#8a96a8", grid: { stroke: "#1f2a38", width: 1 }, ticks: { stroke: "#2a3646" } },
        {
          stroke: "#8a96a8",
          size: 84,
          grid: { stroke: "#1f2a38", width: 1 },
          ticks: { stroke: "#2a3646" },
          values: (_u, vals) => vals.map((v) => (yFmt ? yFmt(v) : String(v))),
        },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 1.5,
          dash: s.dash,
          fill: s.fill ? s.color + "22" : undefined,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? "–" : s.fmt ? s.fmt(v) : String(v)),
        })),
      ],
    };
    const p = new uPlot(opts, data as uPlot.AlignedData, el.current);
    plot.current = p;
    const ro = new ResizeObserver(() => {
      if (el.current) p.setSize({ width: Math.max(200, el.current.clientWidth), height });
    });
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      p.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, height]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return <div class="chart" ref={el} data-testid={testid} />;
}

/** Horizontal bars (label, value) scaled to the largest value; used for histograms and CPU. */
export function Bars({
  rows,
  fmt,
  max,
  testid,
}: {
  rows: { label: string; value: number; cls?: string; title?: string }[];
  fmt: (v: number) => string;
  max?: number;
  testid?: string;
}) {
  const top = max ?? Math.max(1e-9, ...rows.map((r) => r.value));
  return (
    <div class="bars" data-testid={testid}>
      {rows.map((r) => (
        <div class="bar-row" title={r.title ?? ""}>
          <span class="bar-label">{r.label}</span>
          <span class="bar-track">
            <span
              class={`bar-fill ${r.cls ?? ""}`}
              style={{ width: `${Math.min(100, (100 * r.value) / top)}%` }}
            />
          </span>
          <span class="bar-value">{fmt(r.value)}</span>
        </div>
      ))}
    </div>
  );
}

/** A small utilization bar (0..1) coloured by utilClass. */
export function UtilBar({ value, cls }: { value: number | null | undefined; cls: string }) {
  const v = value ?? 0;
  return (
    <span class="util" title={`${(v * 100).toFixed(0)} %`}>
      <span class={`util-fill ${cls}`} style={{ width: `${Math.min(100, v * 100)}%` }} />
      <span class="util-text">{value === null || value === undefined ? "–" : `${(v * 100).toFixed(0)}%`}</span>
    </span>
  );
}
