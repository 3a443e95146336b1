// Network tree: expandable nodes with live rates, utilization colours and RTT; search filters
// the tree (keeping the path to every match open) and lists matching circuits.
import { useState } from "preact/hooks";
import { CircuitRow, TreeNode } from "../api";
import { UtilBar } from "../components/Chart";
import { bps, mbps, ms, rttClass, utilClass } from "../format";
import { useLive, usePoll } from "../live";
import { CircuitTable } from "./Dashboard";

function matches(n: TreeNode, q: string): boolean {
  return n.name.toLowerCase().includes(q) || (n.children ?? []).some((c) => matches(c, q));
}

function Row({
  node,
  depth,
  path,
  open,
  toggle,
  q,
}: {
  node: TreeNode;
  depth: number;
  path: string;
  open: Set<string>;
  toggle: (p: string) => void;
  q: string;
}) {
  const kids = (node.children ?? []).filter((c) => !q || matches(c, q));
  const expanded = q ? true : open.has(path);
  const hit = q && node.name.toLowerCase().includes(q);
  return (
    <>
      <tr class={hit ? "hit" : ""} data-testid="tree-row" data-node={node.name}
        data-down-bps={node.down_bps} data-up-bps={node.up_bps}>
        <td style={{ paddingLeft: `${6 + depth * 16}px` }} class="tree-name">
          {kids.length ? (
            <button class="twisty" onClick={() => toggle(path)} aria-label={expanded ? "collapse" : "expand"}>
              {expanded ? "▾" : "▸"}
            </button>
          ) : (
            <span class="twisty-none" />
          )}
          {node.name}
          {node.type && <span class="tag">{node.type}</span>}
        </td>
        <td class="r rate" data-testid="node-down">{bps(node.down_bps)}</td>
        <td><UtilBar value={node.utilization_down} cls={utilClass(node.utilization_down)} /></td>
        <td class="r rate">{bps(node.up_bps)}</td>
        <td><UtilBar value={node.utilization_up} cls={utilClass(node.utilization_up)} /></td>
        <td class="r muted">{mbps(node.max_down_mbps)} / {mbps(node.max_up_mbps)}</td>
        <td class={`r ${rttClass(node.rtt_p50_ms)}`}>{ms(node.rtt_p50_ms)}</td>
        <td class="r">{node.circuits ?? "–"}</td>
      </tr>
      {expanded &&
        kids.map((c) => (
          <Row node={c} depth={depth + 1} path={`${path}/${c.name}`} open={open} toggle={toggle} q={q} />
        ))}
    </>
  );
}

export function Tree() {
  const tree = useLive<{ nodes: TreeNode[] }>("tree");
  // null until the operator expands or collapses something: the top level starts open.
  const [openState, setOpen] = useState<Set<string> | null>(null);
  const open = openState ?? new Set((tree?.nodes ?? []).map((n) => `/${n.name}`));
  const [search, setSearch] = useState("");
  const q = search.trim().toLowerCase();
  const circuits = usePoll<{ total: number; circuits: CircuitRow[] }>(
    `/api/circuits?search=${encodeURIComponent(search.trim())}&limit=50&sort=down`,
    3000,
  ).data;

  const toggle = (p: string) =>
    setOpen(() => {
      const n = new Set(open);
      if (n.has(p)) n.delete(p);
      else n.add(p);
      return n;
    });
  const all = (nodes: TreeNode[], prefix: string, out: Set<string>) => {
    for (const n of nodes) {
      const p = `${prefix}/${n.name}`;
      if (n.children?.length) {
        out.add(p);
        all(n.children, p, out);
      }
    }
    return out;
  };
  const roots = (tree?.nodes ?? []).filter((n) => !q || matches(n, q));

  return (
    <div class="page">
      <div class="toolbar">
        <input class="search" placeholder="Search nodes and circuits…" value={search} data-testid="tree-search"
          onInput={(e) => setSearch(e.currentTarget.value)} />
        <button onClick={() => setOpen(all(tree?.nodes ?? [], "", new Set()))}>Expand all</button>
        <button onClick={() => setOpen(new Set())}>Collapse all</button>
      </div>
      <section class="panel">
        <h2>Network</h2>
        {!tree ? (
          <div class="muted">loading…</div>
        ) : (
          <table class="grid tree" data-testid="tree">
            <thead>
              <tr>
                <th>Node</th>
                <th class="r">Down</th>
                <th>Util ↓</th>
                <th class="r">Up</th>
                <th>Util ↑</th>
                <th class="r">Max ↓ / ↑</th>
                <th class="r">RTT p50</th>
                <th class="r">Circuits</th>
              </tr>
            </thead>
            <tbody>
              {roots.map((n) => (
                <Row node={n} depth={0} path={`/${n.name}`} open={open} toggle={toggle} q={q} />
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="panel">
        <h2>
          Circuits{circuits ? ` (${circuits.circuits.length} of ${circuits.total})` : ""}
        </h2>
        <CircuitTable rows={circuits?.circuits} testid="circuit-list" />
      </section>
    </div>
  );
}
