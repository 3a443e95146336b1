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

/** A span of seconds, two units at most: "45 s", "12 min 5 s", "3 h 20 min", "2 d 4 h". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  const units: [string, number][] = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
  const i = units.findIndex(([, n]) => s >= n);
  if (i < 0) return "0 s";
  const [u1, n1] = units[i];
  const first = `${Math.floor(s / n1)} ${u1}`;
  if (i === units.length - 1) return first;
  const [u2, n2] = units[i + 1];
  const rest = Math.floor((s % n1) / n2);
  return rest ? `${first} ${rest} ${u2}` : first;
}

/** Unix seconds as local "YYYY-MM-DD HH:MM:SS". */
export function dateTime(unix: number | null | undefined): string {
  if (unix === null || unix === undefined || !Number.isFinite(unix) || unix <= 0) return "–";
  const d = new Date(unix * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** How long ago unix seconds were: "12 s ago", "3 min 4 s ago". */
export function ago(unix: number | null | undefined): string {
  if (unix === null || unix === undefined || !Number.isFinite(unix) || unix <= 0) return "–";
  return `${duration(Date.now() / 1000 - unix)} ago`;
}
