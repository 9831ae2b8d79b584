// Workloads: the jobs of processes olgraph's Ray and MLflow plugins watched (their jobType
// facet says WORKLOAD), across namespaces (GET /list/jobs?jobType=WORKLOAD), paged. A
// workload's job page lists its process runs; a process run's page shows its workload facet
// and the runs it contains (a Ray workload's executions are its child runs).

import { Link, useSearchParams } from "react-router";
import { apiGet } from "../api/client";
import type { GraphNode, Page } from "../api/types";
import { useApi } from "../api/useApi";
import { Loaded, Pager, Section } from "../components/common";
import { formatTime } from "../util/format";

const PAGE = 50;

export function Workloads() {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const state = useApi<Page<GraphNode>>(
    (signal) => apiGet("/list/jobs", { jobType: "WORKLOAD", limit: PAGE, offset }, signal),
    [offset],
  );
  return (
    <>
      <h1>Workloads</h1>
      <p className="muted">
        Python processes that olgraph's Ray and MLflow plugins reported: open one to see its process runs, each with
        the process's details and the runs it contains.
      </p>
      <Loaded state={state} what="workloads">
        {(page) => (
          <Section title={`${page.total} workloads`}>
            {page.items.length === 0 ? (
              <p className="empty">No workloads yet: they appear when a script runs with the Ray or MLflow plugin.</p>
            ) : (
              <table aria-label="workloads">
                <thead>
                  <tr>
                    <th>Workload</th>
                    <th>Namespace</th>
                    <th>Integration</th>
                    <th>Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((job) => (
                    <tr key={job.id} className={job.deleted ? "deleted" : ""}>
                      <td className="wrap">
                        <Link to={`/job?id=${encodeURIComponent(job.id)}`}>{job.name}</Link>
                      </td>
                      <td className="wrap">{job.namespace}</td>
                      <td>{typeof job.integration === "string" ? job.integration : "—"}</td>
                      <td>{formatTime(job.lastSeenAt as string | undefined)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <Pager total={page.total} limit={PAGE} offset={offset} onOffset={(next) => setParams({ offset: String(next) })} />
          </Section>
        )}
      </Loaded>
    </>
  );
}
