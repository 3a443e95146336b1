// Live data: one WebSocket to /api/ws carrying every channel the open page needs
// ({"subscribe":[...]} → {"channel","data"} each second). When the socket cannot be opened or
// drops, each channel is polled over HTTP (the channel's GET route) until the socket is back.
import { useEffect, useState } from "preact/hooks";
import { get } from "./api";

type Listener = (data: unknown) => void;

const POLL_MS = 2000;
const WS_RETRY_MS = 10000;

/** GET route carrying the same body as a WebSocket channel. */
export function channelUrl(channel: string): string {
  if (channel === "summary") return "/api/summary";
  if (channel === "tree") return "/api/tree";
  if (channel.startsWith("circuit:"))
    return `/api/circuits/${encodeURIComponent(channel.slice("circuit:".length))}`;
  return `/api/${channel}`;
}

class Live {
  private listeners = new Map<string, Set<Listener>>();
  private ws: WebSocket | null = null;
  private wsOpen = false;
  private pollTimer: number | null = null;
  private retryTimer: number | null = null;
  private stopped = true;
  /** "ws" while pushes arrive over the socket, "poll" while falling back. */
  mode: "ws" | "poll" = "poll";
  private modeListeners = new Set<(m: "ws" | "poll") => void>();

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close();
    this.ws = null;
    this.wsOpen = false;
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.pollTimer = this.retryTimer = null;
  }

  onMode(cb: (m: "ws" | "poll") => void): () => void {
    this.modeListeners.add(cb);
    return () => this.modeListeners.delete(cb);
  }

  private setMode(m: "ws" | "poll"): void {
    if (this.mode === m) return;
    this.mode = m;
    this.modeListeners.forEach((cb) => cb(m));
  }

  subscribe(channel: string, cb: Listener): () => void {
    let set = this.listeners.get(channel);
    const isNew = !set;
    if (!set) this.listeners.set(channel, (set = new Set()));
    set.add(cb);
    if (isNew) {
      this.sendSubscriptions();
      if (!this.wsOpen) void this.pollOne(channel);
    }
    return () => {
      set!.delete(cb);
      if (set!.size === 0) {
        this.listeners.delete(channel);
        this.sendSubscriptions();
      }
    };
  }

  private sendSubscriptions(): void {
    if (this.ws && this.wsOpen)
      this.ws.send(JSON.stringify({ subscribe: [...this.listeners.keys()] }));
  }

  private dispatch(channel: string, data: unknown): void {
    this.listeners.get(channel)?.forEach((cb) => cb(data));
  }

  private connect(): void {
    if (this.stopped) return;
    this.startPolling();
    let ws: WebSocket;
    try {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      ws = new WebSocket(`${proto}//${location.host}/api/ws`);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.wsOpen = true;
      this.stopPolling();
      this.setMode("ws");
      this.sendSubscriptions();
    };
    ws.onmessage = (ev) => {
      try {
        const msg = JSON.parse(String(ev.data)) as { channel?: string; data?: unknown; error?: string };
        if (msg.channel && msg.error === undefined && msg.data !== undefined) this.dispatch(msg.channel, msg.data);
        else if (msg.error) console.warn(`live channel ${msg.channel}: ${msg.error}`);
      } catch {
        /* not JSON: ignore */
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.wsOpen = false;
      this.setMode("poll");
      this.startPolling();
      this.scheduleRetry();
    };
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer !== null) return;
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, WS_RETRY_MS);
  }

  private startPolling(): void {
    if (this.pollTimer !== null) return;
    this.pollTimer = window.setInterval(() => {
      for (const ch of this.listeners.keys()) void this.pollOne(ch);
    }, POLL_MS);
  }

  private stopPolling(): void {
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  private async pollOne(channel: string): Promise<void> {
    try {
      this.dispatch(channel, await get(channelUrl(channel)));
    } catch {
      /* shown by the page's own error state on the next success/failure */
    }
  }
}

export const live = new Live();

/** Latest data of a live channel (null until the first update). */
export function useLive<T>(channel: string | null): T | null {
  const [data, setData] = useState<T | null>(null);
  useEffect(() => {
    setData(null);
    if (!channel) return;
    return live.subscribe(channel, (d) => setData(d as T));
  }, [channel]);
  return data;
}

/** Polls a GET route every intervalMs (for routes that are not WebSocket channels). */
export function usePoll<T>(
  path: string | null,
  intervalMs = 5000,
): { data: T | null; error: string | null; refresh: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let alive = true;
    const load = async () => {
      try {
        const d = await get<T>(path);
        if (alive) {
          setData(d);
          setError(null);
        }
      } catch (e) {
        if (alive) setError((e as Error).message);
      }
    };
    void load();
    const timer = intervalMs > 0 ? window.setInterval(load, intervalMs) : null;
    return () => {
      alive = false;
      if (timer !== null) clearInterval(timer);
    };
  }, [path, intervalMs, tick]);
  return { data, error, refresh: () => setTick((t) => t + 1) };
}
