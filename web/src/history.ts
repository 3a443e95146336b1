// Chart series from a live body: the server's history when it has some, else points the page
// collected itself from successive updates (so a chart moves even before history fills).
import { useRef } from "preact/hooks";
import { Point } from "./api";
import { unixSeconds } from "./format";

const KEEP_S = 600;

export function useSeries(
  history: Point[] | undefined,
  current: { t?: number | string; down_bps?: number; up_bps?: number; rtt_p50_ms?: number | null } | null,
  resetKey: string,
): Point[] {
  const own = useRef<{ key: string; points: Point[]; last: unknown }>({ key: "", points: [], last: null });
  if (own.current.key !== resetKey) own.current = { key: resetKey, points: [], last: null };
  if (current && own.current.last !== current) {
    own.current.last = current;
    const t = current.t !== undefined ? unixSeconds(current.t) : Date.now() / 1000;
    const pts = own.current.points;
    if (!pts.length || unixSeconds(pts[pts.length - 1].t) < t)
      pts.push({ t, down_bps: current.down_bps ?? 0, up_bps: current.up_bps ?? 0, rtt_p50_ms: current.rtt_p50_ms });
    while (pts.length && unixSeconds(pts[0].t) < t - KEEP_S) pts.shift();
  }
  if (history && history.length >= 2) return history;
  return own.current.points;
}

export function columns(points: Point[], ...extra: ((p: Point) => number | null)[]): (number | null)[][] {
  return [
    points.map((p) => unixSeconds(p.t)),
    points.map((p) => p.down_bps ?? null),
    points.map((p) => p.up_bps ?? null),
    ...extra.map((f) => points.map(f)),
  ];
}
