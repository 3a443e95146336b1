// Sluice operator UI: login gate, navigation and hash routes.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, get, Me, onUnauthorized, post, setCsrfToken } from "./api";
import { live } from "./live";
import { Login } from "./pages/Login";
import { Dashboard } from "./pages/Dashboard";
import { Tree } from "./pages/Tree";
import { Circuit } from "./pages/Circuit";
import { Editor } from "./pages/Editor";
import { ConfigPage } from "./pages/Config";
import { Users } from "./pages/Users";
import { IntegrationPage } from "./pages/Integration";
import { TreeGuardPage } from "./pages/TreeGuard";
import { StormGuardPage } from "./pages/StormGuard";
import "./style.css";

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/");
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function LiveMode() {
  const [mode, setMode] = useState(live.mode);
  useEffect(() => live.onMode(setMode), []);
  return (
    <span class={`live-mode ${mode}`} title="WebSocket push, or HTTP polling while it is unavailable">
      {mode === "ws" ? "● live" : "○ polling"}
    </span>
  );
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checked, setChecked] = useState(false);
  const [down, setDown] = useState<string | null>(null);
  const hash = useHash();

  useEffect(() => {
    onUnauthorized(() => {
      live.stop();
      setMe(null);
    });
    get<Me>("/api/me")
      .then((m) => login(m))
      .catch((e: ApiError) => {
        if (e.status !== 401 && e.status !== 403) setDown(e.message);
      })
      .finally(() => setChecked(true));
  }, []);

  function login(m: Me) {
    setCsrfToken(m.csrf_token ?? "");
    setMe(m);
    setDown(null);
    live.start();
  }

  async function logout() {
    try {
      await post("/api/logout");
    } catch {
      /* the session is gone either way */
    }
    live.stop();
    setCsrfToken("");
    setMe(null);
  }

  if (!checked) return <div class="boot">Sluice…</div>;
  if (!me) return <Login onLogin={login} notice={down} />;

  const path = hash.replace(/^#/, "") || "/";
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const admin = me.role === "admin";
  let page;
  switch (parts[0] ?? "") {
    case "":
      page = <Dashboard />;
      break;
    case "tree":
      page = <Tree />;
      break;
    case "circuit":
      page = <Circuit id={parts[1] ?? ""} admin={admin} />;
      break;
    case "devices":
      page = <Editor id={parts[1] ?? null} admin={admin} />;
      break;
    case "integration":
      page = <IntegrationPage admin={admin} />;
      break;
    case "treeguard":
      page = <TreeGuardPage />;
      break;
    case "stormguard":
      page = <StormGuardPage />;
      break;
    case "config":
      page = <ConfigPage admin={admin} />;
      break;
    case "users":
      page = <Users admin={admin} me={me.user} />;
      break;
    default:
      page = <div class="panel">No page {path}</div>;
  }
  const nav = [
    ["#/", "Dashboard", ""],
    ["#/tree", "Network", "tree"],
    ["#/devices", "Shaped devices", "devices"],
    ["#/integration", "Integration", "integration"],
    ["#/treeguard", "TreeGuard", "treeguard"],
    ["#/stormguard", "StormGuard", "stormguard"],
    ["#/config", "Config", "config"],
    ...(admin ? [["#/users", "Users", "users"]] : []),
  ];
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">Sluice</span>
        <nav>
          {nav.map(([href, label, key]) => (
            <a
              href={href}
              class={(parts[0] ?? "") === key || (key === "tree" && parts[0] === "circuit") ? "active" : ""}
            >
              {label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <LiveMode />
        <span class="who" data-testid="whoami">
          {me.user} <span class="role">{me.role}</span>
        </span>
        <button class="link" onClick={logout}>
          Log out
        </button>
      </header>
      <main>{page}</main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
