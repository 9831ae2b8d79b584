// The start page: every namespace with its dataset and job counts.

import { Link } from "react-router";
import { apiGet } from "../api/client";
import type { GraphNode, Page } from "../api/types";
import { useApi } from "../api/useApi";
import { Loaded, Section } from "../components/common";
import type { NamespaceList } from "./namespaces";

const SHOWN = 200;

/** One namespace's row: its counts load on their own, so the table shows at once. */
function NamespaceRow({ name }: { name: string }) {
  const path = `/namespaces/${encodeURIComponent(name)}`;
  const counts = useApi(
    (signal) =>
      Promise.all([
        apiGet<Page<GraphNode>>(`${path}/datasets`, { limit: 1 }, signal),
        apiGet<Page<GraphNode>>(`${path}/jobs`, { limit: 1 }, signal),
      ]),
    [name],
  );
  const [datasets, jobs] = counts.data ?? [null, null];
  return (
    <tr>
      <td className="wrap">{name}</td>
      <td className="num">
        <Link to={`/datasets?ns=${encodeURIComponent(name)}`}>{datasets ? datasets.total : "…"}</Link>
      </td>
      <td className="num">
        <Link to={`/jobs?ns=${encodeURIComponent(name)}`}>{jobs ? jobs.total : "…"}</Link>
      </td>
    </tr>
  );
}

export function Overview() {
  const state = useApi<NamespaceList>((signal) => apiGet("/namespaces", { limit: SHOWN }, signal), []);
  return (
    <>
      <h1>Namespaces</h1>
      <Loaded state={state} what="namespaces">
        {({ items, total }) =>
          items.length === 0 ? (
            <p className="empty">
              No lineage yet. Send OpenLineage events to <code>POST /api/v1/lineage</code>; they appear here.
            </p>
          ) : (
            <Section title={`${total} namespaces`}>
              <table>
                <thead>
                  <tr>
                    <th>Namespace</th>
                    <th className="num">Datasets</th>
                    <th className="num">Jobs</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map(({ name }) => (
                    <NamespaceRow key={name} name={name} />
                  ))}
                </tbody>
              </table>
              {total > items.length && <p className="muted">The first {items.length} of {total} namespaces.</p>}
            </Section>
          )
        }
      </Loaded>
    </>
  );
}
