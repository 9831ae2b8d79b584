// The datasets and jobs lists, across namespaces (GET /list/datasets, /list/jobs): namespace,
// type, owner and tag filters, deleted ones on request, ordered by name (or another sort:
// Name Z→A, recently seen…), paged by cursor. The URL holds the filters, the sort and the
// page, so a list can be bookmarked.

import { type FormEvent, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { apiGet } from "../api/client";
import type { CursorPage, GraphNode, Page } from "../api/types";
import { useApi } from "../api/useApi";
import { Loaded, Section, TypeBadge } from "../components/common";
import { formatTime } from "../util/format";
import type { NamespaceList } from "./namespaces";
import { DEFAULT_SORT, SORT_OPTIONS, sortParam } from "./sorts";

const PAGE = 50;
const FILTERS = ["ns", "type", "owner", "tag", "deleted", "sort"];

interface TagCount {
  tag: string;
  datasets: number;
  jobs: number;
}

function Filters({ kind }: { kind: "datasets" | "jobs" }) {
  const [params, setParams] = useSearchParams();
  const namespaces = useApi<NamespaceList>((s) => apiGet("/namespaces", { limit: 1000 }, s), []);
  const tags = useApi<Page<TagCount>>((s) => apiGet("/list/tags", { limit: 1000 }, s), []);
  const names = namespaces.data?.items.map((n) => n.name) ?? [];
  const tagNames = (tags.data?.items ?? []).filter((t) => (kind === "jobs" ? t.jobs : t.datasets) > 0).map((t) => t.tag);
  const ns = params.get("ns") ?? "";
  const tag = params.get("tag") ?? "";
  const [owner, setOwner] = useState(params.get("owner") ?? "");
  const set = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    // A cursor (and the trail of those before it) belongs to the filters and sort it was made for.
    next.delete("cursor");
    next.delete("back");
    next.delete("page");
    for (const [name, value] of Object.entries(changes)) {
      if (value) next.set(name, value);
      else next.delete(name);
    }
    setParams(next);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    set({ owner: owner.trim() });
  };
  return (
    <form className="toolbar filters" aria-label="filters" onSubmit={submit}>
      <label>
        Namespace{" "}
        <select value={ns} aria-label="Namespace" onChange={(e) => set({ ns: e.target.value })}>
          <option value="">(all)</option>
          {ns && !names.includes(ns) && <option value={ns}>{ns}</option>}
          {names.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      {kind === "datasets" && (
        <label>
          Type{" "}
          <select value={params.get("type") ?? ""} aria-label="Type" onChange={(e) => set({ type: e.target.value })}>
            <option value="">(all)</option>
            <option value="dataset">dataset</option>
            <option value="model">model</option>
          </select>
        </label>
      )}
      <label>
        Tag{" "}
        <select value={tag} aria-label="Tag" onChange={(e) => set({ tag: e.target.value })}>
          <option value="">(any)</option>
          {tag && !tagNames.includes(tag) && <option value={tag}>{tag}</option>}
          {tagNames.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Owner <input value={owner} aria-label="Owner" onChange={(e) => setOwner(e.target.value)} placeholder="team:data" size={14} />
      </label>
      <button type="submit" className="secondary">
        Apply
      </button>
      <label>
        Sort{" "}
        <select
          value={sortParam(params.get("sort")) ?? DEFAULT_SORT}
          aria-label="Sort"
          onChange={(e) => set({ sort: sortParam(e.target.value) ?? "" })}
        >
          {SORT_OPTIONS.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        <input
          type="checkbox"
          checked={params.get("deleted") === "1"}
          onChange={(e) => set({ deleted: e.target.checked ? "1" : "" })}
        />{" "}
        Deleted ones too
      </label>
    </form>
  );
}

/** Cursor paging: the URL holds the current cursor and the ones before it (for "Previous"). */
function CursorPager({ page, start }: { page: CursorPage<GraphNode>; start: number }) {
  const [params, setParams] = useSearchParams();
  const trail = params.getAll("back");
  const go = (cursor: string | null, back: string[]) => {
    const next = new URLSearchParams(params);
    next.delete("cursor");
    next.delete("back");
    if (cursor) next.set("cursor", cursor);
    back.forEach((b) => next.append("back", b));
    setParams(next);
  };
  if (page.total <= page.items.length && !params.get("cursor")) return <p className="muted">{page.total} in all</p>;
  const current = params.get("cursor") ?? "";
  return (
    <nav className="pager" aria-label="pages">
      <button
        type="button"
        className="secondary"
        disabled={!current}
        onClick={() => go(trail[trail.length - 1] || null, trail.slice(0, -1))}
      >
        ← Previous
      </button>
      <span>
        {start + 1}–{start + page.items.length} of {page.total}
      </span>
      <button
        type="button"
        className="secondary"
        disabled={!page.nextCursor}
        onClick={() => go(page.nextCursor, [...trail, current])}
      >
        Next →
      </button>
    </nav>
  );
}

export function NodeList({ kind }: { kind: "datasets" | "jobs" }) {
  const [params] = useSearchParams();
  const filters = FILTERS.map((name) => params.get(name) ?? "");
  const cursor = params.get("cursor") ?? "";
  const start = params.getAll("back").length * PAGE;
  const state = useApi<CursorPage<GraphNode>>(
    (s) =>
      apiGet(
        `/list/${kind}`,
        {
          namespace: params.get("ns"),
          type: kind === "datasets" ? params.get("type") : null,
          owner: params.get("owner"),
          tag: params.get("tag"),
          includeDeleted: params.get("deleted") === "1" || null,
          sort: sortParam(params.get("sort")),
          limit: PAGE,
          cursor: cursor || null,
        },
        s,
      ),
    [kind, ...filters, cursor],
  );
  const title = kind === "datasets" ? "Datasets" : "Jobs";
  const ns = params.get("ns");
  return (
    <>
      <h1>{title}</h1>
      <Filters key={kind} kind={kind} />
      <Loaded state={state} what={kind}>
        {(page) => (
          <Section title={`${page.total} ${kind}${ns ? ` in ${ns}` : ""}`}>
            {page.items.length === 0 ? (
              <p className="empty">No {kind} match.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Namespace</th>
                    <th>Type</th>
                    <th>Last seen</th>
                    <th>Graph</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((node) => (
                    <tr key={node.id} className={node.deleted ? "deleted" : ""}>
                      <td className="wrap">
                        <Link to={`/${kind === "jobs" ? "job" : "dataset"}?id=${encodeURIComponent(node.id)}`}>
                          {node.name}
                        </Link>
                        {node.deleted && <span className="badge state-deleted">deleted</span>}
                      </td>
                      <td className="wrap">{node.namespace}</td>
                      <td>
                        <TypeBadge type={node.type} />
                      </td>
                      <td>{formatTime(node.lastSeenAt as string | undefined)}</td>
                      <td>
                        <Link to={`/lineage?node=${encodeURIComponent(node.id)}`} aria-label={`lineage of ${node.name}`}>
                          lineage
                        </Link>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <CursorPager page={page} start={start} />
          </Section>
        )}
      </Loaded>
    </>
  );
}
