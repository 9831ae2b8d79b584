// The lineage graph page. Its URL holds what is on screen: node, direction, depth, the node
// cap, expanded nodes, the selection and the far end of a highlighted path, so a view can be shared.

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
import { withNodeCap } from "../graph/cap";
import { type Answer, composeView, type Direction, findPath, nextCap, pathEdges, type View } from "../graph/model";
import { formatTime, nodePath } from "../util/format";

const DIRECTIONS: Direction[] = ["upstream", "downstream", "both"];
export const DEFAULT_DEPTH = 2;
const EXPAND_DEPTH = 2;
/** The node cap of a first answer: a graph of thousands of nodes is of no use in a browser. */
export const FIRST_MAX_NODES = 1000;

interface Ask {
  deleted: boolean;
  asOf: string;
  maxNodes: number;
}

async function fetchAnswer(root: string, direction: Direction, shown: number, opts: Ask): Promise<Answer> {
  const ask = (depth: number) =>
    withNodeCap(opts.maxNodes, (maxNodes) =>
      apiGet<Lineage>("/lineage", {
        nodeId: root,
        direction,
        depth,
        maxNodes,
        includeDeleted: opts.deleted || undefined,
        asOf: opts.asOf || undefined,
      }),
    );
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

function useAnswers(node: string, direction: Direction, depth: number, expand: string[], opts: Ask) {
  const cache = useRef(new Map<string, Promise<Answer>>());
  const keyVersion = useKeyVersion();
  const cacheVersion = useRef(keyVersion);
  if (cacheVersion.current !== keyVersion) {
    cache.current.clear();
    cacheVersion.current = keyVersion;
  }
  // answers are cached for the page's life (not cancelled: a later view may reuse them)
  const cached = (root: string, dir: Direction, shown: number) => {
    const id = `${root}|${dir}|${shown}|${opts.deleted}|${opts.asOf}|${opts.maxNodes}`;
    let found = cache.current.get(id);
    if (!found) {
      found = fetchAnswer(root, dir, shown, opts);
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
    [node, direction, depth, expand.join("\n"), opts.deleted, opts.asOf, opts.maxNodes],
  );
}

/** A date-time picker for time travel; the URL holds the ISO time. */
function AsOf({ value, onChange }: { value: string; onChange: (iso: string | null) => void }) {
  const local = value ? toLocalInput(value) : "";
  return (
    <label title="show the graph as it stood at this time">
      As of{" "}
      <input
        type="datetime-local"
        value={local}
        onChange={(e) => onChange(e.target.value ? new Date(e.target.value).toISOString() : null)}
      />
    </label>
  );
}

/** "2026-11-04T10:00" in the browser's time zone, for a datetime-local input. */
function toLocalInput(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Says that the node cap cut the answer; offers a larger cap (up to the server's) and smaller
 * views that fit. */
function Capped(props: {
  shown: number;
  cap: number | undefined;
  next: number | null;
  direction: Direction;
  depth: number;
  onMore: (cap: number) => void;
  onDirection: (d: Direction) => void;
  onDepth: (d: number) => void;
}) {
  const limit = props.cap === undefined ? "its node limit" : `${props.cap} nodes`;
  return (
    <div className="notice" role="status" data-testid="capped">
      {props.next !== null ? (
        <>
          This answer is capped at {limit} ({props.shown} shown), so some lineage is not drawn.{" "}
          <button type="button" className="secondary" onClick={() => props.onMore(props.next as number)}>
            Show more
          </button>{" "}
          asks for up to {props.next} nodes (large graphs are slow to draw). Or expand nodes one at a time, or show
        </>
      ) : (
        <>
          This answer is capped: the server stopped at {limit}, its most ({props.shown} shown), so some lineage is
          not drawn. To see the rest, expand nodes one at a time (select one, then Expand), or show
        </>
      )}
      {props.direction === "both" ? (
        <>
          {" "}
          <button type="button" className="link" onClick={() => props.onDirection("upstream")}>
            upstream only
          </button>{" "}
          /{" "}
          <button type="button" className="link" onClick={() => props.onDirection("downstream")}>
            downstream only
          </button>
        </>
      ) : null}
      {props.depth > 1 && (
        <>
          {props.direction === "both" ? " or " : " "}
          <button type="button" className="link" onClick={() => props.onDepth(props.depth - 1)}>
            depth {props.depth - 1}
          </button>
        </>
      )}
      .
    </div>
  );
}

/** "stale: last seen 2 Nov 2026, 02:05": why a node is drawn as stale. */
export function staleText(node: GraphNode): string {
  const seen = typeof node.lastSeenAt === "string" ? formatTime(node.lastSeenAt) : "long ago";
  return `stale: last seen ${seen}`;
}

function Summary({ node, onToggle, expanded }: { node: GraphNode; onToggle: () => void; expanded: boolean }) {
  const shown = ["firstSeenAt", "lastSeenAt", "integration", "jobType", "processingType", "lifecycleState"];
  return (
    <div className="node-summary" aria-label="selected node">
      <h2 className="wrap">{node.name}</h2>
      <p className="muted wrap">
        {node.type} in {node.namespace}
        {node.deleted && <span className="badge state-deleted">deleted</span>}
        {node.stale && (
          <span className="badge state-stale" data-testid="stale-badge">
            {staleText(node)}
          </span>
        )}
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
  const asOf = params.get("asOf") ?? "";
  const maxNodes = Math.max(1, Math.floor(Number(params.get("maxNodes"))) || FIRST_MAX_NODES);
  const canColumns = !node.startsWith("job:");
  const isColumn = node.startsWith("field:"); // a column's lineage is column lineage
  const columns = (params.get("columns") === "1" && canColumns) || isColumn;
  const state = useAnswers(columns ? "" : node, direction, depth, expand, { deleted, asOf, maxNodes });
  const columnState = useApi<ColumnLineage>(
    columns
      ? (signal) =>
          withNodeCap(maxNodes, (cap) =>
            apiGet<ColumnLineage>(
              "/column-lineage",
              {
                nodeId: node,
                direction,
                depth,
                maxNodes: cap,
                includeDeleted: deleted || undefined,
                asOf: asOf || undefined,
              },
              signal,
            ),
          )
      : null,
    [columns, node, direction, depth, deleted, asOf, maxNodes],
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
            disabled={!canColumns || isColumn}
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
        <AsOf value={asOf} onChange={(value) => update({ asOf: value })} />
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
      {asOf && (
        <p className="notice" role="status" data-testid="as-of">
          The graph as it stood on {formatTime(asOf)}: nodes and edges first seen by then, deletions made by then.{" "}
          <button type="button" className="link" onClick={() => update({ asOf: null })}>
            Back to now
          </button>
        </p>
      )}
      {view?.truncated && (
        <Capped
          shown={view.nodes.length}
          cap={view.maxNodes}
          next={nextCap(view)}
          onMore={(cap) => update({ maxNodes: String(cap) })}
          direction={direction}
          depth={depth}
          onDirection={(d) => update({ direction: d, expand: [] })}
          onDepth={(d) => update({ depth: String(d), expand: [] })}
        />
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
                <ul className="legend" aria-label="legend">
                  <li>
                    <span className="swatch" aria-hidden="true" />
                    live
                  </li>
                  <li title="nothing has been seen of it for a while (the server's query.stale_after_days)">
                    <span className="swatch stale" aria-hidden="true" />
                    stale: not seen lately
                  </li>
                  <li>
                    <span className="swatch deleted" aria-hidden="true" />
                    deleted
                  </li>
                </ul>
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
                      <li key={n.id} className={n.deleted ? "deleted" : n.stale ? "stale" : ""}>
                        <button
                          type="button"
                          title={n.deleted ? "deleted" : n.stale ? staleText(n) : undefined}
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
