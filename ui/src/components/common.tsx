// Small building blocks shared by the pages.

import type { ReactNode } from "react";
import { Link } from "react-router";
import { ApiError } from "../api/client";
import { useKeyPrompt } from "./KeyPrompt";
import { nodePath } from "../util/format";

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function Problem({ error }: { error: Error }) {
  const ask = useKeyPrompt();
  if (error instanceof ApiError && error.needsKey) {
    return (
      <div className="problem" role="alert">
        <p>{error.status === 403 ? "Your API key may not read this." : "An API key is needed to read this."}</p>
        <button type="button" onClick={ask}>
          Enter an API key
        </button>
      </div>
    );
  }
  // the API's messages usually start with the field they name already
  const field = error instanceof ApiError ? error.field : null;
  const detail = field && !error.message.startsWith(field) ? ` (${field})` : "";
  return (
    <div className="problem" role="alert">
      {error instanceof ApiError && error.status === 404 ? "Not found: " : "Error: "}
      {error.message}
      {detail}
    </div>
  );
}

/** Loading, error or content, for one API answer. */
export function Loaded<T>(props: {
  state: { data: T | null; error: Error | null; loading: boolean };
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (props.state.error) return <Problem error={props.state.error} />;
  if (props.state.data === null) return props.state.loading ? <Loading what={props.what} /> : null;
  return <>{props.children(props.state.data)}</>;
}

export function TypeBadge({ type }: { type: string }) {
  return <span className={`badge type-${type}`}>{type}</span>;
}

export function StateBadge({ state }: { state: string | null | undefined }) {
  if (!state) return <span className="muted">—</span>;
  return <span className={`badge state-${state.toLowerCase()}`}>{state}</span>;
}

export function NodeLink({ node }: { node: { id: string; type: string; name: string; namespace?: string } }) {
  return (
    <Link to={nodePath(node)} title={node.id}>
      {node.name}
    </Link>
  );
}

export function Pager(props: { total: number; limit: number; offset: number; onOffset: (offset: number) => void }) {
  const { total, limit, offset } = props;
  if (total <= limit) return <p className="muted">{total} in all</p>;
  const last = Math.min(offset + limit, total);
  return (
    <nav className="pager" aria-label="pages">
      <button type="button" className="secondary" disabled={offset === 0} onClick={() => props.onOffset(Math.max(0, offset - limit))}>
        ← Previous
      </button>
      <span>
        {offset + 1}–{last} of {total}
      </span>
      <button type="button" className="secondary" disabled={last >= total} onClick={() => props.onOffset(offset + limit)}>
        Next →
      </button>
    </nav>
  );
}

export function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="card">
      <header className="card-header">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

/** Pretty JSON of a facet, collapsed behind its name. */
export function FacetList({ facets }: { facets: Record<string, unknown> }) {
  const names = Object.keys(facets).sort();
  if (names.length === 0) return <p className="muted">No facets.</p>;
  return (
    <div className="facets">
      {names.map((name) => (
        <details key={name}>
          <summary>{name}</summary>
          <pre>{JSON.stringify(facets[name], null, 2)}</pre>
        </details>
      ))}
    </div>
  );
}
