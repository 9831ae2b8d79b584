// The datasets and jobs lists: one namespace at a time (the API lists per namespace), paged.

import { Link, useSearchParams } from "react-router";
import { apiGet } from "../api/client";
import type { GraphNode, Page } from "../api/types";
import { useApi } from "../api/useApi";
import { Loaded, Pager, Section, TypeBadge } from "../components/common";
import { formatTime } from "../util/format";
import type { NamespaceList } from "./namespaces";

const PAGE = 50;

function NamespacePicker({ value, onChange }: { value: string; onChange: (ns: string) => void }) {
  const state = useApi<NamespaceList>((s) => apiGet("/namespaces", { limit: 1000 }, s), []);
  const names = state.data?.items.map((n) => n.name) ?? [];
  return (
    <label className="picker">
      Namespace{" "}
      <select value={value} onChange={(e) => onChange(e.target.value)} aria-label="Namespace">
        {!value && <option value="">(choose one)</option>}
        {value && !names.includes(value) && <option value={value}>{value}</option>}
        {names.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </label>
  );
}

export function NodeList({ kind }: { kind: "datasets" | "jobs" }) {
  const [params, setParams] = useSearchParams();
  const ns = params.get("ns") ?? "";
  const offset = Number(params.get("offset") ?? 0) || 0;
  const state = useApi<Page<GraphNode>>(
    ns ? (s) => apiGet(`/namespaces/${encodeURIComponent(ns)}/${kind}`, { limit: PAGE, offset }, s) : null,
    [ns, offset, kind],
  );
  const title = kind === "datasets" ? "Datasets" : "Jobs";
  return (
    <>
      <h1>{title}</h1>
      <NamespacePicker value={ns} onChange={(value) => setParams({ ns: value })} />
      {!ns && <p className="muted">Choose a namespace to list its {kind}.</p>}
      <Loaded state={state} what={kind}>
        {(page) => (
          <Section title={`${page.total} ${kind} in ${ns}`}>
            {page.items.length === 0 ? (
              <p className="empty">No {kind} in this namespace.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Type</th>
                    <th>First seen</th>
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
                      <td>
                        <TypeBadge type={node.type} />
                      </td>
                      <td>{formatTime(node.firstSeenAt as string | undefined)}</td>
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
            <Pager
              total={page.total}
              limit={PAGE}
              offset={offset}
              onOffset={(next) => setParams({ ns, offset: String(next) })}
            />
          </Section>
        )}
      </Loaded>
    </>
  );
}
