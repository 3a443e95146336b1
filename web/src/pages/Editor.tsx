// Shaped devices editor: add, change and remove circuits with their devices through
// POST/PATCH/DELETE /api/circuits. A 422's field-level errors are shown next to their inputs;
// errors that name no known field are listed above the form. The circuit's owner is shown; for a
// synced circuit (or a new one while a sync owns ShapedDevices.csv) the form says that the edit
// goes to the devices overrides layer and persists across syncs.
import { useEffect, useState } from "preact/hooks";
import { ApiError, CircuitDetail, CircuitRow, del, FieldError, get, Owner, patch, post, StatusInputMode } from "../api";
import { OverridesNote, OwnerTag } from "../components/Owner";
import { bps, mbps } from "../format";
import { usePoll } from "../live";

interface DeviceForm {
  id: string;
  name: string;
  mac: string;
  ipv4: string;
  ipv6: string;
  comment: string;
}

interface Form {
  id: string;
  name: string;
  parent: string;
  min_down_mbps: string;
  min_up_mbps: string;
  max_down_mbps: string;
  max_up_mbps: string;
  sqm: string;
  devices: DeviceForm[];
}

const CIRCUIT_FIELDS = ["id", "name", "parent", "min_down_mbps", "min_up_mbps", "max_down_mbps", "max_up_mbps", "sqm"] as const;
type CircuitField = (typeof CIRCUIT_FIELDS)[number];
const DEVICE_FIELDS = ["id", "name", "mac", "ipv4", "ipv6", "comment"] as const;
type DeviceField = (typeof DEVICE_FIELDS)[number];

// ShapedDevices.csv column names (as file-input diagnostics name them) → form fields.
const COLUMN_ALIASES: Record<string, CircuitField | `device.${DeviceField}`> = {
  circuitid: "id", circuitname: "name", parentnode: "parent", parent: "parent",
  downloadminmbps: "min_down_mbps", uploadminmbps: "min_up_mbps",
  downloadmaxmbps: "max_down_mbps", uploadmaxmbps: "max_up_mbps", sqm: "sqm",
  deviceid: "device.id", devicename: "device.name", mac: "device.mac",
  ipv4: "device.ipv4", ipv6: "device.ipv6", comment: "device.comment",
};

const emptyDevice = (): DeviceForm => ({ id: "", name: "", mac: "", ipv4: "", ipv6: "", comment: "" });
const emptyForm = (): Form => ({
  id: "", name: "", parent: "", min_down_mbps: "", min_up_mbps: "", max_down_mbps: "", max_up_mbps: "",
  sqm: "", devices: [emptyDevice()],
});

function fromDetail(c: CircuitDetail): Form {
  const n = (v: number | undefined) => (v === undefined || v === null ? "" : String(v));
  return {
    id: c.id,
    name: c.name ?? "",
    parent: c.parent ?? "",
    min_down_mbps: n(c.plan?.min_down_mbps),
    min_up_mbps: n(c.plan?.min_up_mbps),
    max_down_mbps: n(c.plan?.max_down_mbps),
    max_up_mbps: n(c.plan?.max_up_mbps),
    sqm: c.sqm ?? "",
    devices: (c.devices ?? []).map((d) => ({
      id: d.id, name: d.name ?? "", mac: d.mac ?? "", ipv4: (d.ipv4 ?? []).join(", "),
      ipv6: (d.ipv6 ?? []).join(", "), comment: d.comment ?? "",
    })),
  };
}

const list = (s: string) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

function bodyOf(f: Form): Record<string, unknown> {
  // Not a number: sent as typed, so the API's validation names the field and the value.
  const num = (s: string) => (s.trim() === "" ? undefined : Number.isFinite(Number(s)) ? Number(s) : s.trim());
  return {
    id: f.id.trim(),
    name: f.name.trim(),
    parent: f.parent.trim(),
    min_down_mbps: num(f.min_down_mbps),
    min_up_mbps: num(f.min_up_mbps),
    max_down_mbps: num(f.max_down_mbps),
    max_up_mbps: num(f.max_up_mbps),
    sqm: f.sqm.trim(),
    devices: f.devices.map((d) => ({
      id: d.id.trim(), name: d.name.trim(), mac: d.mac.trim(), ipv4: list(d.ipv4), ipv6: list(d.ipv6),
      comment: d.comment,
    })),
  };
}

/** Where a 422 entry belongs: a circuit field, a device's field, or nowhere (general). */
export function placeError(e: FieldError): { circuit?: CircuitField; device?: number; deviceField?: DeviceField } {
  const f = (e.field ?? "").trim();
  if (!f) return {};
  const dm = /^devices?\s*[[.]\s*(\d+)\s*\]?\s*\.?\s*([A-Za-z0-9_ ]+)/.exec(f);
  if (dm) {
    const key = dm[2].trim().toLowerCase().replace(/[^a-z0-9_]/g, "");
    const alias = COLUMN_ALIASES[key.replace(/_/g, "")];
    const field = (DEVICE_FIELDS as readonly string[]).includes(key)
      ? (key as DeviceField)
      : alias?.startsWith("device.") ? (alias.slice(7) as DeviceField) : undefined;
    return { device: Number(dm[1]), deviceField: field };
  }
  if ((CIRCUIT_FIELDS as readonly string[]).includes(f)) return { circuit: f as CircuitField };
  const alias = COLUMN_ALIASES[f.toLowerCase().replace(/[^a-z0-9]/g, "")];
  if (alias && !alias.startsWith("device.")) return { circuit: alias as CircuitField };
  if (alias) return { device: 0, deviceField: alias.slice(7) as DeviceField };
  return {};
}

export function Editor({ id, admin }: { id: string | null; admin: boolean }) {
  const [search, setSearch] = useState("");
  const listing = usePoll<{ total: number; circuits: CircuitRow[] }>(
    `/api/circuits?search=${encodeURIComponent(search.trim())}&limit=100&sort=name`,
    0,
  );
  const [form, setForm] = useState<Form>(emptyForm());
  const [original, setOriginal] = useState<Form | null>(null);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [owner, setOwner] = useState<Owner | undefined>(undefined);
  const inputMode = usePoll<{ input_mode?: StatusInputMode }>("/api/status", 0).data?.input_mode;
  const isNew = id === null || id === "new";

  useEffect(() => {
    setErrors([]);
    setMessage(null);
    setOwner(undefined);
    if (isNew) {
      setForm(emptyForm());
      setOriginal(null);
      return;
    }
    get<CircuitDetail>(`/api/circuits/${encodeURIComponent(id!)}`)
      .then((c) => {
        const f = fromDetail(c);
        setForm(f);
        setOriginal(f);
        setOwner(c.owner);
      })
      .catch((e: ApiError) => setMessage({ ok: false, text: e.message }));
  }, [id]);

  const placed = errors.map((e) => ({ e, at: placeError(e) }));
  const circuitErr = (f: CircuitField) => placed.filter((p) => p.at.circuit === f).map((p) => p.e.message);
  const deviceErr = (i: number, f: DeviceField) =>
    placed.filter((p) => p.at.device === i && p.at.deviceField === f).map((p) => p.e.message);
  const general = placed.filter((p) => !p.at.circuit && !(p.at.device !== undefined && p.at.deviceField));

  const set = (k: CircuitField, v: string) => setForm({ ...form, [k]: v });
  const setDev = (i: number, k: DeviceField, v: string) =>
    setForm({ ...form, devices: form.devices.map((d, j) => (j === i ? { ...d, [k]: v } : d)) });

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setErrors([]);
    setMessage(null);
    try {
      const body = bodyOf(form);
      let res: { outcome?: string; reload?: { outcome?: string; message?: string }; persisted?: string };
      if (isNew) {
        res = await post(`/api/circuits`, body);
      } else {
        // PATCH only what changed (devices as a whole list).
        const before = bodyOf(original!);
        const changes: Record<string, unknown> = {};
        for (const k of Object.keys(body))
          if (JSON.stringify(body[k]) !== JSON.stringify(before[k])) changes[k] = body[k];
        if (!Object.keys(changes).length) {
          setMessage({ ok: true, text: "Nothing changed." });
          return;
        }
        res = await patch(`/api/circuits/${encodeURIComponent(original!.id)}`, changes);
      }
      setMessage({ ok: true, text: `Saved: ${res.outcome ?? "ok"}${res.reload?.outcome ? ` (reload ${res.reload.outcome})` : ""}`
        + (res.persisted ? ` · written to ${res.persisted}` : "") });
      setOriginal(form);
      // A synced circuit's edit lands in the overrides file, which then owns it.
      if (!isNew) get<CircuitDetail>(`/api/circuits/${encodeURIComponent(form.id.trim())}`).then((c) => setOwner(c.owner)).catch(() => {});
      listing.refresh();
      if (isNew || form.id !== original?.id) location.hash = `#/devices/${encodeURIComponent(form.id.trim())}`;
    } catch (err) {
      const a = err as ApiError;
      setErrors(a.errors.length ? a.errors : []);
      setMessage({ ok: false, text: a.status === 422 ? `Not applied: ${a.message}` : a.message });
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    if (!original || !confirm(`Remove circuit ${original.id} (${original.name}) and its devices?`)) return;
    setBusy(true);
    try {
      await del(`/api/circuits/${encodeURIComponent(original.id)}`);
      listing.refresh();
      location.hash = "#/devices";
    } catch (err) {
      const a = err as ApiError;
      setErrors(a.errors);
      setMessage({ ok: false, text: a.message });
    } finally {
      setBusy(false);
    }
  }

  const input = (k: CircuitField, label: string, numeric = false) => (
    <label class={circuitErr(k).length ? "invalid" : ""}>
      {label}
      <input name={k} type="text" inputMode={numeric ? "decimal" : "text"} value={form[k]} disabled={!admin}
        onInput={(e) => set(k, e.currentTarget.value)} />
      {circuitErr(k).map((m) => <span class="field-error" data-testid={`error-${k}`}>{m}</span>)}
    </label>
  );

  return (
    <div class="page editor">
      <section class="panel side">
        <div class="toolbar">
          <input class="search" placeholder="Search circuits…" value={search}
            onInput={(e) => setSearch(e.currentTarget.value)} />
          {admin && <a class="button" href="#/devices/new">New</a>}
        </div>
        <table class="grid small pick">
          <tbody>
            {(listing.data?.circuits ?? []).map((c) => (
              <tr class={c.id === id ? "selected" : ""}>
                <td><a href={`#/devices/${encodeURIComponent(c.id)}`}>{c.name || c.id}</a><OwnerTag owner={c.owner} /></td>
                <td class="r muted">{mbps(c.max_down_mbps)}/{mbps(c.max_up_mbps)}</td>
                <td class="r">{bps(c.down_bps)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {listing.data && <div class="muted">{listing.data.circuits.length} of {listing.data.total}</div>}
        {listing.error && <div class="error">{listing.error}</div>}
      </section>

      <form class="panel main" onSubmit={save} data-testid="circuit-form">
        <div class="toolbar">
          <h2>{isNew ? "New circuit" : `Circuit ${original?.id ?? id}`}</h2>
          {!isNew && <OwnerTag owner={owner} testid="editor-owner" />}
          <span class="spacer" />
          {!isNew && <a href={`#/circuit/${encodeURIComponent(id!)}`}>live view</a>}
        </div>
        {!admin && <div class="muted">Read-only role: changes need an admin.</div>}
        <OverridesNote owner={owner} mode={inputMode?.mode} isNew={isNew} />
        {message && <div class={message.ok ? "ok-text" : "error"} data-testid="save-message">{message.text}</div>}
        {general.length > 0 && (
          <ul class="issues" data-testid="general-errors">
            {general.map(({ e }) => <li class="sev-error">{e.field ? <b>{e.field}: </b> : null}{e.message}</li>)}
          </ul>
        )}
        <div class="form-grid">
          {input("id", "Circuit ID")}
          {input("name", "Circuit name")}
          {input("parent", "Parent node")}
          {input("sqm", "SQM (e.g. cake diffserv4; empty = default)")}
          {input("min_down_mbps", "Download min (Mbps)", true)}
          {input("min_up_mbps", "Upload min (Mbps)", true)}
          {input("max_down_mbps", "Download max / ceil (Mbps)", true)}
          {input("max_up_mbps", "Upload max / ceil (Mbps)", true)}
        </div>
        <h3>Devices</h3>
        <table class="grid devices-edit">
          <thead><tr><th>Device ID</th><th>Name</th><th>MAC</th><th>IPv4 (comma separated)</th><th>IPv6</th><th>Comment</th><th /></tr></thead>
          <tbody>
            {form.devices.map((d, i) => (
              <tr>
                {DEVICE_FIELDS.map((k) => (
                  <td class={deviceErr(i, k).length ? "invalid" : ""}>
                    <input name={`devices.${i}.${k}`} value={d[k]} disabled={!admin}
                      onInput={(e) => setDev(i, k, e.currentTarget.value)} />
                    {deviceErr(i, k).map((m) => <span class="field-error">{m}</span>)}
                  </td>
                ))}
                <td>
                  {admin && (
                    <button type="button" class="link" title="remove device"
                      onClick={() => setForm({ ...form, devices: form.devices.filter((_, j) => j !== i) })}>✕</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {admin && (
          <div class="actions">
            <button type="button" onClick={() => setForm({ ...form, devices: [...form.devices, emptyDevice()] })}>Add device</button>
            <span class="spacer" />
            {!isNew && <button type="button" class="danger" disabled={busy} onClick={remove}>Remove circuit</button>}
            <button type="submit" class="primary" disabled={busy} data-testid="save-circuit">{busy ? "Applying…" : isNew ? "Add circuit" : "Save changes"}</button>
          </div>
        )}
      </form>
    </div>
  );
}
