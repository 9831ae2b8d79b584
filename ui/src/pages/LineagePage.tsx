// The lineage graph page. Its URL holds what is on screen: node, direction, depth, expanded
// nodes, the selection and the far end of a highlighted path, so a view can be shared.

import { useMemo, useRef } from "react";
import { Link, useSearchParams } from "react-router";
import { ApiError, apiGet } from "../api/client";
import type { GraphNode, Lineage } from "../api/types";
import { useApi } from "../api/useApi";
import { Loaded } from "../components/common";
import { useKeyVersion } from "../components/KeyPrompt";
import { GraphView } from "../graph/GraphView";
import { warmUpLayout } from "../graph/layout";
import { type ColumnLineage, columnTitle, columnView } from "../graph/columns";
import { type Answer, composeView, type Direction, findPath, pathEdges, type View } from "../graph/model";
import { formatTime, nodePath } from "../util/format";

const DIRECTIONS: Direction[] = ["upstream", "downstream", "both"];
export const DEFAULT_DEPTH = 2;
const EXPAND_DEPTH = 2;

async function fetchAnswer(root: string, direction: Direction, shown: number, deleted: boolean): Promise<Answer> {
  const ask = (depth: number) =>
    apiGet<Lineage>("/lineage", { nodeId: root, direction, depth, includeDeleted: deleted || undefined });
  try {
    return { root, direction, shown, lookahead: true, lineage: await ask(shown + 1) };
  } catch (error) {
    // at the server's depth cap the lookahead hop is refused: ask for what is shown alone
    if (error instanceof ApiError && error.status === 400 && error.field === "depth") {
      return { root, direction, shown, lookahead: false, lineage: await ask(shown) };
    }
    throw error;
  }
}

function useAnswers(node: string, direction: Direction, depth: number, expand: string[], deleted: boolean) {
  const cache = useRef(new Map<string, Promise<Answer>>());
  const keyVersion = useKeyVersion();
  const cacheVersion = useRef(keyVersion);
  if (cacheVersion.current !== keyVersion) {
    cache.current.clear();
    cacheVersion.current = keyVersion;
  }
  // answers are cached for the page's life (not cancelled: a later view may reuse them)
  const cached = (root: string, dir: Direction, shown: number) => {
    const id = `${root}|${dir}|${shown}|${deleted}`;
    let found = cache.current.get(id);
    if (!found) {
      found = fetchAnswer(root, dir, shown, deleted);
      found.catch(() => cache.current.delete(id));
      cache.current.set(id, found);
    }
    return found;
  };
  return useApi(
    node
      ? async () => {
          const [base, ...expansions] = await Promise.all([
            cached(node, direction, depth),
            ...expand.map((id) => cached(id, "both", EXPAND_DEPTH)),
          ]);
          return { base: base as Answer, expansions };
        }
      : null,
    [node, direction, depth, expand.join("\n"), deleted],
  );
}

function Summary({ node, onToggle, expanded }: { node: GraphNode; onToggle: () => void; expanded: boolean }) {
  const shown = ["firstSeenAt", "lastSeenAt", "integration", "jobType", "processingType", "lifecycleState"];
  return (
    <div className="node-summary" aria-label="selected node">
      <h2 className="wrap">{node.name}</h2>
      <p className="muted wrap">
        {node.type} in {node.namespace}
        {node.deleted && <span className="badge state-deleted">deleted</span>}
      </p>
      <dl>
        {shown
          .filter((name) => node[name] !== undefined && node[name] !== null)
          .map((name) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>{name.endsWith("At") ? formatTime(node[name] as string) : String(node[name])}</dd>
            </div>
          ))}
      </dl>
      <div className="actions">
        <Link to={nodePath(node)}>Details</Link>
        <Link to={`/lineage?node=${encodeURIComponent(node.id)}`}>Centre here</Link>
        <Link to={`/impact?node=${encodeURIComponent(node.id)}`}>Impact</Link>
        <button type="button" className="secondary" onClick={onToggle}>
          {expanded ? "Collapse" : "Expand"}
        </button>
      </div>
    </div>
  );
}

export function LineagePage({ theme }: { theme: string }) {
  warmUpLayout(); // ELK loads in its worker while the API answers
  const [params, setParams] = useSearchParams();
  const node = params.get("node") ?? "";
  const direction = (DIRECTIONS as string[]).includes(params.get("direction") ?? "")
    ? (params.get("direction") as Direction)
    : "both";
  const depth = Math.max(1, Number(params.get("depth") ?? DEFAULT_DEPTH) || DEFAULT_DEPTH);
  const expand = params.getAll("expand");
  const selected = params.get("sel");
  const pathTo = params.get("path");
  const deleted = params.get("deleted") === "1";
  const canColumns = !node.startsWith("job:");
  const columns = params.get("columns") === "1" && canColumns;
  const state = useAnswers(columns ? "" : node, direction, depth, expand, deleted);
  const columnState = useApi<ColumnLineage>(
    columns
      ? (signal) =>
          apiGet("/column-lineage", { nodeId: node, direction, depth, includeDeleted: deleted || undefined }, signal)
      : null,
    [columns, node, direction, depth, deleted],
  );

  const update = (changes: Record<string, string | string[] | null>) => {
    const next = new URLSearchParams(params);
    for (const [name, value] of Object.entries(changes)) {
      next.delete(name);
      if (Array.isArray(value)) value.forEach((v) => next.append(name, v));
      else if (value !== null && value !== "") next.set(name, value);
    }
    setParams(next);
  };
  const toggle = (id: string) => {
    if (id === node) return;
    update({ expand: expand.includes(id) ? expand.filter((e) => e !== id) : [...expand, id] });
  };

  const view: View | null = useMemo(() => {
    if (columns) return columnState.data ? columnView(columnState.data) : null;
    return state.data ? composeView(state.data.base, state.data.expansions) : null;
  }, [columns, columnState.data, state.data]);
  // what the Loaded wrapper shows: loading, an error, or the view
  const shown = {
    data: view,
    error: (columns ? columnState.error : state.error) ?? null,
    loading: columns ? columnState.loading : state.loading,
  };
  const path = useMemo(
    () => (view && selected && pathTo ? findPath(view.edges, selected, pathTo) : []),
    [view, selected, pathTo],
  );
  const onPath = useMemo(() => (view ? pathEdges(view.edges, path) : new Set<string>()), [view, path]);
  const selectedNode = view?.nodes.find((n) => n.id === selected) ?? null;

  if (!node) {
    return (
      <>
        <h1>Lineage</h1>
        <p className="muted">Open a dataset, model or job and choose “lineage”, or type a node id in the box above.</p>
      </>
    );
  }
  return (
    <div className="lineage-page">
      <div className="toolbar" role="toolbar" aria-label="graph controls">
        <h1 className="wrap">Lineage of {node.replace(/^[a-z]+:/, "")}</h1>
        <label>
          Direction{" "}
          <select value={direction} onChange={(e) => update({ direction: e.target.value, expand: [] })}>
            {DIRECTIONS.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label>
          Depth{" "}
          <input
            type="number"
            min={1}
            max={50}
            value={depth}
            onChange={(e) => update({ depth: String(Math.max(1, Number(e.target.value) || 1)) })}
          />
        </label>
        <label title={canColumns ? "column-level lineage with transformations" : "column lineage starts at a dataset"}>
          <input
            type="checkbox"
            checked={columns}
            disabled={!canColumns}
            onChange={(e) => update({ columns: e.target.checked ? "1" : null, expand: [], sel: null, path: null })}
          />{" "}
          Columns
        </label>
        <label>
          <input
            type="checkbox"
            checked={deleted}
            onChange={(e) => update({ deleted: e.target.checked ? "1" : null })}
          />{" "}
          Deleted nodes
        </label>
        {expand.length > 0 && (
          <button type="button" className="secondary" onClick={() => update({ expand: [] })}>
            Collapse all
          </button>
        )}
        {view && (
          <span className="muted" data-testid="graph-counts">
            {view.nodes.length} nodes, {view.edges.length} edges
          </span>
        )}
      </div>
      {view?.truncated && (
        <p className="notice" role="status">
          This answer is capped: the server stopped at its node limit, so some lineage is not shown. Lower the depth,
          choose one direction, or expand the nodes you need one at a time.
        </p>
      )}
      <Loaded state={shown} what="lineage">
        {(view) => (
            <div className="lineage-body">
              <GraphView
                view={view}
                selected={selected}
                path={path}
                pathEdges={onPath}
                theme={theme}
                onSelect={(id, extend) =>
                  extend && selected && id ? update({ path: id }) : update({ sel: id, path: null })
                }
                onToggle={toggle}
              />
              <aside className="side-panel">
                {selectedNode ? (
                  <Summary
                    node={selectedNode}
                    expanded={selectedNode.expanded}
                    onToggle={() => toggle(selectedNode.id)}
                  />
                ) : (
                  <p className="muted">
                    Select a node to see it here. Double-click a node with + to expand it; shift-click a second node
                    to highlight the path between them.
                  </p>
                )}
                {selectedNode && (
                  <label className="path-picker">
                    Highlight path to{" "}
                    <select value={pathTo ?? ""} onChange={(e) => update({ path: e.target.value })}>
                      <option value="">(none)</option>
                      {view.nodes
                        .filter((n) => n.id !== selectedNode.id)
                        .map((n) => (
                          <option key={n.id} value={n.id}>
                            {n.name}
                          </option>
                        ))}
                    </select>
                  </label>
                )}
                {pathTo && selected && (
                  <p className="muted" data-testid="path-length">
                    {path.length > 0 ? `Path of ${path.length - 1} hops highlighted.` : "No path between these two."}
                  </p>
                )}
                {columns && (
                  <>
                    <h3>Column edges</h3>
                    <ul className="node-list edges" aria-label="column edges">
                      {view.edges.slice(0, 300).map((edge) => {
                        const from = view.nodes.find((n) => n.id === edge.source);
                        const to = view.nodes.find((n) => n.id === edge.target);
                        return (
                          <li key={`${edge.source}|${edge.type}|${edge.target}`} className="wrap">
                            {from ? columnTitle(from) : edge.source} → {to ? columnTitle(to) : edge.target}
                            {typeof edge.label === "string" && edge.label ? ` · ${edge.label}` : ""}
                          </li>
                        );
                      })}
                    </ul>
                  </>
                )}
                <h3>Nodes on screen</h3>
                <ul className="node-list">
                  {view.nodes
                    .slice()
                    .sort((a, b) => Number(b.focus) - Number(a.focus) || a.name.localeCompare(b.name))
                    .slice(0, 300)
                    .map((n) => (
                      <li key={n.id} className={n.deleted ? "deleted" : ""}>
                        <button
                          type="button"
                          className={`link${n.id === selected ? " current" : ""}`}
                          onClick={() => update({ sel: n.id, path: null })}
                        >
                          <span className={`dot type-${n.type}`} aria-hidden="true" />
                          {columns ? columnTitle(n) : n.name}
                        </button>
                        {n.more && (
                          <button type="button" className="mini" aria-label={`expand ${n.name}`} onClick={() => toggle(n.id)}>
                            +
                          </button>
                        )}
                        {n.expanded && (
                          <button type="button" className="mini" aria-label={`collapse ${n.name}`} onClick={() => toggle(n.id)}>
                            −
                          </button>
                        )}
                      </li>
                    ))}
                </ul>
              </aside>
            </div>
          )
        }
      </Loaded>
    </div>
  );
}
