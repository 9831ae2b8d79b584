// The start page: every namespace with its dataset and job counts.

import { Link } from "react-router";
import { apiGet } from "../api/client";
import type { GraphNode, Page } from "../api/types";
import { useApi } from "../api/useApi";
import { Loaded, Section } from "../components/common";
import type { NamespaceList } from "./namespaces";

interface Counted {
  name: string;
  datasets: number;
  jobs: number;
}

const SHOWN = 200;

async function loadCounts(signal: AbortSignal): Promise<{ rows: Counted[]; total: number }> {
  const namespaces = await apiGet<NamespaceList>("/namespaces", { limit: SHOWN }, signal);
  const rows = await Promise.all(
    namespaces.items.map(async ({ name }) => {
      const path = `/namespaces/${encodeURIComponent(name)}`;
      const [datasets, jobs] = await Promise.all([
        apiGet<Page<GraphNode>>(`${path}/datasets`, { limit: 1 }, signal),
        apiGet<Page<GraphNode>>(`${path}/jobs`, { limit: 1 }, signal),
      ]);
      return { name, datasets: datasets.total, jobs: jobs.total };
    }),
  );
  return { rows, total: namespaces.total };
}

export function Overview() {
  const state = useApi(loadCounts, []);
  return (
    <>
      <h1>Namespaces</h1>
      <Loaded state={state} what="namespaces">
        {({ rows, total }) =>
          rows.length === 0 ? (
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
                  {rows.map((row) => (
                    <tr key={row.name}>
                      <td className="wrap">{row.name}</td>
                      <td className="num">
                        <Link to={`/datasets?ns=${encodeURIComponent(row.name)}`}>{row.datasets}</Link>
                      </td>
                      <td className="num">
                        <Link to={`/jobs?ns=${encodeURIComponent(row.name)}`}>{row.jobs}</Link>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {total > rows.length && <p className="muted">The first {rows.length} of {total} namespaces.</p>}
            </Section>
          )
        }
      </Loaded>
    </>
  );
}
