// HTTP access to the operator API (docs/api.md; contract in notes/api-contract.md):
// session cookie (sent by the browser) + X-CSRF-Token on state-changing requests, JSON bodies,
// errors normalized to ApiError with field-level entries (422 from live changes and config).

export interface FieldError {
  field?: string;
  message: string;
  value?: unknown;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public errors: FieldError[],
    public body: unknown,
  ) {
    super(message);
  }
}

let csrfToken = "";
let unauthorizedHandler: (() => void) | null = null;

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when any request answers 401 (session expired or logged out elsewhere). */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

/** Entries of an error body's "errors": objects as they are, strings as {message}. */
export function normalizeErrors(raw: unknown): FieldError[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((e) => {
    if (typeof e === "string") return { message: e };
    if (e && typeof e === "object") {
      const o = e as Record<string, unknown>;
      return {
        field: typeof o.field === "string" ? o.field : undefined,
        message: String(o.message ?? o.error ?? JSON.stringify(o)),
        value: o.value,
      };
    }
    return { message: String(e) };
  });
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (e) {
    throw new ApiError(0, `cannot reach sluiced: ${(e as Error).message}`, [], null);
  }
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && path !== "/api/login" && unauthorizedHandler) unauthorizedHandler();
    const obj = (data && typeof data === "object" ? data : {}) as Record<string, unknown>;
    const message =
      typeof obj.error === "string"
        ? obj.error
        : typeof obj.message === "string"
          ? obj.message
          : typeof data === "string" && data
            ? data
            : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message, normalizeErrors(obj.errors), data);
  }
  return data as T;
}

export const get = <T>(path: string) => request<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => request<T>("POST", path, body ?? {});
export const put = <T>(path: string, body?: unknown) => request<T>("PUT", path, body ?? {});
export const patch = <T>(path: string, body?: unknown) => request<T>("PATCH", path, body ?? {});
export const del = <T>(path: string) => request<T>("DELETE", path);

// ---- response shapes (the parts the UI reads) ----

export interface Me {
  user: string;
  role: "admin" | "read-only" | string;
  csrf_token: string;
}

export interface Point {
  t: number | string;
  down_bps: number;
  up_bps: number;
  rtt_p50_ms?: number | null;
}

export interface Summary {
  t?: number | string;
  down_bps: number;
  up_bps: number;
  down_pps?: number;
  up_pps?: number;
  shaped?: { down_bps: number; up_bps: number };
  unknown?: { down_bps: number; up_bps: number };
  protocols?: Record<string, { down_pps?: number; up_pps?: number }>;
  rtt_ms?: { p50?: number | null; p90?: number | null };
  rtt_histogram?: { le_ms: number | null; count: number }[];
  retransmit_pct?: number | null;
  queues?: { queue: number; cpu: number; down_bps: number; up_bps: number; cpu_pct: number }[];
  history?: Point[];
}

export interface TreeNode {
  name: string;
  type?: string;
  max_down_mbps?: number;
  max_up_mbps?: number;
  down_bps: number;
  up_bps: number;
  utilization_down?: number;
  utilization_up?: number;
  rtt_p50_ms?: number | null;
  circuits?: number;
  children?: TreeNode[];
}

export interface CircuitRow {
  id: string;
  name: string;
  parent?: string;
  max_down_mbps?: number;
  max_up_mbps?: number;
  down_bps?: number;
  up_bps?: number;
  rtt_p50_ms?: number | null;
  retransmit_pct?: number | null;
  devices?: number | unknown[];
  /** Where the circuit comes from (GET /api/circuits; absent from /api/top). */
  owner?: Owner;
}

export interface Device {
  id: string;
  name: string;
  mac?: string;
  ipv4?: string[];
  ipv6?: string[];
  comment?: string;
}

export interface QueueStats {
  drops?: number;
  overlimits?: number;
  backlog_bytes?: number;
  backlog_packets?: number;
  sent_bytes?: number;
  leaf_kind?: string;
  tins?: { drops?: number; marks?: number; delay_us?: number }[];
}

export interface CircuitDetail {
  id: string;
  name: string;
  parent?: string;
  sqm?: string;
  owner?: Owner;
  plan?: {
    min_down_mbps?: number;
    min_up_mbps?: number;
    max_down_mbps?: number;
    max_up_mbps?: number;
    down_classid?: string;
    up_classid?: string;
    queue?: number;
    leaf?: { kind?: string; diffserv?: string };
  };
  devices?: Device[];
  live?: {
    down_bps?: number;
    up_bps?: number;
    down_pps?: number;
    up_pps?: number;
    rtt_p50_ms?: number | null;
    rtt_p90_ms?: number | null;
    retransmit_pct?: number | null;
  };
  history?: Point[];
  flows?: {
    src: string;
    dst: string;
    sport?: number;
    dport?: number;
    proto?: string;
    down_bps?: number;
    up_bps?: number;
    rtt_ms?: number | null;
    retransmits?: number;
  }[];
  queue?: { down?: QueueStats; up?: QueueStats };
}

// ---- sync: integrations, custom pipeline, ownership (GET/POST /api/integration*) ----

/** Where network.json and ShapedDevices.csv come from ([sync] mode); "invalid": unusable [sync]. */
export type InputMode = "manual" | "integration" | "custom" | "invalid";

/**
 * Where a circuit comes from: "overrides" (the devices overrides file, where live edits of a
 * synced circuit persist), the integration ("uisp", "splynx", "sonar"), "custom" (the custom
 * pipeline) or "file" (a hand-written ShapedDevices.csv).
 */
export type Owner = "overrides" | "uisp" | "splynx" | "sonar" | "custom" | "file" | "radius";

/** A list the server caps (200 entries) with its full count alongside. */
export interface Counted<T> {
  count: number;
  items: T[];
}

/** [before, after] in Mbps. */
export type MbpsPair = [number, number];

export interface SpeedChange {
  circuit_id: string;
  download_min_mbps: MbpsPair;
  upload_min_mbps: MbpsPair;
  download_max_mbps: MbpsPair;
  upload_max_mbps: MbpsPair;
}

export interface Reparent {
  circuit_id: string;
  from: string;
  to: string;
}

/** What a sync changes against the inputs in force (integrations/ChangeSummary.h). */
export interface SyncChanges {
  circuits_before: number;
  circuits_after: number;
  /** Share (0..1) of the circuits in force removed or re-parented: what the guard compares. */
  disruptive_share: number;
  summary: string;
  circuits_added: Counted<string>;
  circuits_removed: Counted<string>;
  circuits_reparented: Counted<Reparent>;
  speed_changes: Counted<SpeedChange>;
  circuits_otherwise_changed: Counted<string>;
  nodes_added: Counted<string>;
  nodes_removed: Counted<string>;
  nodes_changed: Counted<string>;
}

export type SyncOutcomeKind = "applied" | "unchanged" | "held" | "failed" | "dry-run";

/**
 * One sync (POST /api/integration/run|approve; "last" and "pending" of GET /api/integration).
 * The run answers 200 applied/unchanged/dry-run, 409 held, 502 failed, each with this body.
 */
export interface SyncOutcome {
  outcome: SyncOutcomeKind;
  source: string;
  message: string;
  started_unix: number;
  duration_ms: number;
  warnings: string[];
  changes: SyncChanges;
}

export interface IntegrationStatus {
  mode: InputMode;
  integration: "uisp" | "splynx" | "sonar" | "";
  interval_s?: number;
  mass_change_threshold_percent?: number;
  runs: number;
  /** Seconds until the scheduler's next run; absent in manual mode. */
  next_run_in_s?: number;
  /** Why the [sync] settings are unusable (mode "invalid"). */
  error?: string;
  last: SyncOutcome | null;
  /** A sync held by the mass-change guard, waiting for approval. */
  pending: SyncOutcome | null;
}

/** GET /api/status's input_mode. */
export interface StatusInputMode {
  mode: InputMode;
  integration: string;
}
