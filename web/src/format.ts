// Formatting of rates (bits/s), sizes, times and utilization for dense tables.

export function bps(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)} Gb/s`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(a >= 1e8 ? 0 : 1)} Mb/s`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(0)} kb/s`;
  return `${v.toFixed(0)} b/s`;
}

export function mbps(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return v >= 1000 ? `${(v / 1000).toFixed(v % 1000 ? 1 : 0)} Gb/s` : `${v} Mb/s`;
}

export function num(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`;
}

export function pct(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return `${v.toFixed(digits)} %`;
}

export function bytes(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < u.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i ? 1 : 0)} ${u[i]}`;
}

/** Unix seconds of a history point's t (number of seconds or ISO-8601 string). */
export function unixSeconds(t: number | string | undefined): number {
  if (typeof t === "number") return t > 1e12 ? t / 1000 : t;
  if (typeof t === "string") {
    const p = Date.parse(t);
    if (!Number.isNaN(p)) return p / 1000;
  }
  return Date.now() / 1000;
}

/** CSS class of a utilization 0..1: ok < 0.6 ≤ warm < 0.85 ≤ hot. */
export function utilClass(u: number | null | undefined): string {
  if (u === null || u === undefined || !Number.isFinite(u)) return "util-none";
  if (u >= 0.85) return "util-hot";
  if (u >= 0.6) return "util-warm";
  return "util-ok";
}

/** RTT colour class: good < 50 ms ≤ fair < 150 ms ≤ bad. */
export function rttClass(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "";
  if (v >= 150) return "rtt-bad";
  if (v >= 50) return "rtt-fair";
  return "rtt-good";
}
