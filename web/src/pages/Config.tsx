// Config page: view lqos.conf, validate an edited text, save it (admin), reload, queue mode.
import { useEffect, useState } from "preact/hooks";
import { ApiError, FieldError, get, post, put } from "../api";

export function ConfigPage({ admin }: { admin: boolean }) {
  const [text, setText] = useState<string | null>(null);
  const [saved, setSaved] = useState("");
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [queueMode, setQueueMode] = useState<string | null>(null);

  useEffect(() => {
    get<{ text: string }>("/api/config")
      .then((c) => {
        setText(c.text);
        setSaved(c.text);
      })
      .catch((e: ApiError) => setMessage({ ok: false, text: e.message }));
    get<{ queue_mode?: string }>("/api/status").then((s) => setQueueMode(s.queue_mode ?? null)).catch(() => {});
  }, []);

  async function run(what: string, f: () => Promise<unknown>) {
    setBusy(true);
    setMessage(null);
    setErrors([]);
    try {
      const r = (await f()) as Record<string, unknown> | null;
      if (r && r.valid === false) {
        setErrors((r.errors as FieldError[]) ?? []);
        setMessage({ ok: false, text: `${what}: invalid` });
      } else {
        setMessage({ ok: true, text: `${what}: ${String(r?.outcome ?? (r?.valid ? "valid" : "ok"))}` });
      }
    } catch (e) {
      const a = e as ApiError;
      setErrors(a.errors);
      setMessage({ ok: false, text: `${what}: ${a.message}` });
    } finally {
      setBusy(false);
    }
  }

  const fmtErr = (e: FieldError | string) =>
    typeof e === "string" ? e : `${e.field ? `${e.field}: ` : ""}${e.message}${e.value !== undefined ? ` (${String(e.value)})` : ""}`;

  return (
    <div class="page">
      <div class="toolbar">
        <h1>Configuration</h1>
        <span class="spacer" />
        <span class="muted">queue mode: <b>{queueMode ?? "–"}</b></span>
        {admin && (
          <button disabled={busy} onClick={() => {
            const mode = queueMode === "observe" ? "shape" : "observe";
            if (confirm(`Switch queue mode to ${mode}?`))
              void run("queue mode", async () => { const r = await put("/api/queue-mode", { mode }); setQueueMode(mode); return r; });
          }}>
            {queueMode === "observe" ? "Shape" : "Observe only"}
          </button>
        )}
        {admin && <button disabled={busy} onClick={() => run("reload", () => post("/api/reload"))}>Reload inputs</button>}
      </div>
      <section class="panel">
        {message && <div class={message.ok ? "ok-text" : "error"} data-testid="config-message">{message.text}</div>}
        {errors.length > 0 && <ul class="issues">{errors.map((e) => <li class="sev-error">{fmtErr(e)}</li>)}</ul>}
        {text === null ? (
          <div class="muted">loading…</div>
        ) : (
          <textarea class="config" spellcheck={false} value={text} readOnly={!admin}
            onInput={(e) => setText(e.currentTarget.value)} />
        )}
        <div class="actions">
          <button disabled={busy || text === null} onClick={() => run("validate", () => post("/api/config/validate", { text }))}>Validate</button>
          <span class="spacer" />
          {admin && text !== saved && <button onClick={() => setText(saved)}>Discard</button>}
          {admin && (
            <button class="primary" disabled={busy || text === null || text === saved}
              onClick={() => run("save", async () => { const r = await put("/api/config", { text }); setSaved(text!); return r; })}>
              Save
            </button>
          )}
        </div>
      </section>
    </div>
  );
}
