// Users and API keys (admin).
import { useState } from "preact/hooks";
import { ApiError, del, post } from "../api";
import { usePoll } from "../live";

interface User { name?: string; username?: string; user?: string; role: string; created?: string }
interface ApiKey { name: string; role?: string; created?: string; last_used?: string | null }
const userName = (u: User) => u.name ?? u.username ?? u.user ?? "?";

export function Users({ admin, me }: { admin: boolean; me: string }) {
  const users = usePoll<{ users: User[] }>(admin ? "/api/users" : null, 0);
  const keys = usePoll<{ keys?: ApiKey[]; apikeys?: ApiKey[] }>(admin ? "/api/apikeys" : null, 0);
  const [nu, setNu] = useState({ username: "", password: "", role: "read-only" });
  const [nk, setNk] = useState({ name: "", role: "read-only" });
  const [newKey, setNewKey] = useState<string | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  if (!admin) return <div class="panel">Only admins manage users.</div>;

  async function act(what: string, f: () => Promise<unknown>, after: () => void) {
    setMessage(null);
    try {
      await f();
      setMessage({ ok: true, text: `${what}: done` });
      after();
    } catch (e) {
      const a = e as ApiError;
      setMessage({ ok: false, text: `${what}: ${a.message}${a.errors.length ? " — " + a.errors.map((x) => x.message).join("; ") : ""}` });
    }
  }

  const keyList = keys.data?.keys ?? keys.data?.apikeys ?? [];
  return (
    <div class="page two">
      {message && <div class={message.ok ? "ok-text" : "error"}>{message.text}</div>}
      <section class="panel">
        <h2>Users</h2>
        <table class="grid">
          <thead><tr><th>User</th><th>Role</th><th /></tr></thead>
          <tbody>
            {(users.data?.users ?? []).map((u) => (
              <tr>
                <td>{userName(u)}</td><td>{u.role}</td>
                <td class="r">{userName(u) !== me && (
                  <button class="link danger" onClick={() => confirm(`Delete user ${userName(u)}?`) &&
                    act("delete user", () => del(`/api/users/${encodeURIComponent(userName(u))}`), users.refresh)}>delete</button>
                )}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {users.error && <div class="error">{users.error}</div>}
        <form class="inline-form" onSubmit={(e) => { e.preventDefault();
          void act("add user", () => post("/api/users", nu), () => { setNu({ username: "", password: "", role: "read-only" }); users.refresh(); }); }}>
          <input placeholder="user name" value={nu.username} onInput={(e) => setNu({ ...nu, username: e.currentTarget.value })} />
          <input placeholder="password" type="password" autocomplete="new-password" value={nu.password} onInput={(e) => setNu({ ...nu, password: e.currentTarget.value })} />
          <select value={nu.role} onChange={(e) => setNu({ ...nu, role: e.currentTarget.value })}>
            <option value="read-only">read-only</option><option value="admin">admin</option>
          </select>
          <button type="submit" disabled={!nu.username || !nu.password}>Add user</button>
        </form>
      </section>
      <section class="panel">
        <h2>API keys</h2>
        {newKey && <div class="ok-text">New key (shown once): <code class="mono">{newKey}</code></div>}
        <table class="grid">
          <thead><tr><th>Name</th><th>Role</th><th>Created</th><th /></tr></thead>
          <tbody>
            {keyList.map((k) => (
              <tr>
                <td>{k.name}</td><td>{k.role ?? "–"}</td><td class="muted">{k.created ?? ""}</td>
                <td class="r"><button class="link danger" onClick={() => confirm(`Revoke key ${k.name}?`) &&
                  act("revoke key", () => del(`/api/apikeys/${encodeURIComponent(k.name)}`), keys.refresh)}>revoke</button></td>
              </tr>
            ))}
          </tbody>
        </table>
        <form class="inline-form" onSubmit={(e) => { e.preventDefault();
          void act("create key", async () => { const r = await post<{ key?: string; api_key?: string }>("/api/apikeys", nk); setNewKey(r.key ?? r.api_key ?? JSON.stringify(r)); },
            () => { setNk({ name: "", role: "read-only" }); keys.refresh(); }); }}>
          <input placeholder="key name" value={nk.name} onInput={(e) => setNk({ ...nk, name: e.currentTarget.value })} />
          <select value={nk.role} onChange={(e) => setNk({ ...nk, role: e.currentTarget.value })}>
            <option value="read-only">read-only</option><option value="admin">admin</option>
          </select>
          <button type="submit" disabled={!nk.name}>Create key</button>
        </form>
      </section>
    </div>
  );
}
