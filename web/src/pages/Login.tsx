import { useState } from "preact/hooks";
import { ApiError, Me, post } from "../api";

export function Login({ onLogin, notice }: { onLogin: (m: Me) => void; notice: string | null }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLogin(await post<Me>("/api/login", { username, password }));
    } catch (err) {
      const a = err as ApiError;
      setError(
        a.status === 401 || a.status === 403
          ? "Wrong user name or password."
          : a.status === 429
            ? "Too many attempts; wait a minute and try again."
            : a.message,
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="login-wrap">
      <form class="login panel" onSubmit={submit}>
        <h1>Sluice</h1>
        {notice && <div class="error">{notice}</div>}
        <label>
          User
          <input name="username" autocomplete="username" value={username} autofocus
            onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" value={password}
            onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {error && <div class="error" data-testid="login-error">{error}</div>}
        <button type="submit" disabled={busy || !username}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </div>
  );
}
