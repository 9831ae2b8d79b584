// A job's overview: what it is, its inputs and outputs, and its run history with a chart.

import { Link, useSearchParams } from "react-router";
import { apiGet } from "../api/client";
import type { Page, Run } from "../api/types";
import { useApi } from "../api/useApi";
import { Loaded, NodeLink, Pager, Section, StateBadge, TypeBadge } from "../components/common";
import { RunChart } from "../components/RunChart";
import { durationMs, formatDuration, formatTime } from "../util/format";
import { neighbours } from "./related";

const PAGE = 50;
const FACTS = ["integration", "jobType", "processingType", "firstSeenAt", "lastSeenAt"];

function failureRate(runs: Run[]): string {
  const finished = runs.filter((r) => r.state === "COMPLETE" || r.state === "FAIL" || r.state === "ABORT");
  if (finished.length === 0) return "—";
  const failed = finished.filter((r) => r.state !== "COMPLETE").length;
  return `${Math.round((failed / finished.length) * 100)}% of the last ${finished.length} finished runs`;
}

export function JobPage() {
  const [params, setParams] = useSearchParams();
  const id = params.get("id") ?? "";
  const offset = Number(params.get("offset") ?? 0) || 0;
  const job = useApi(id ? (s) => neighbours(id, s) : null, [id]);
  const runs = useApi<Page<Run>>(
    id ? (s) => apiGet("/jobs/runs", { nodeId: id, limit: PAGE, offset }, s) : null,
    [id, offset],
  );
  return (
    <Loaded state={job} what="the job">
      {({ node, upstream, downstream }) => (
        <>
          <div className="page-head">
            <h1 className="wrap">
              {node.name} <TypeBadge type="job" />
            </h1>
            <div className="actions">
              <Link className="button" to={`/lineage?node=${encodeURIComponent(node.id)}`}>
                Lineage
              </Link>
              <Link className="button secondary" to={`/impact?node=${encodeURIComponent(node.id)}`}>
                Impact
              </Link>
            </div>
          </div>
          <dl className="facts">
            <div>
              <dt>Namespace</dt>
              <dd className="wrap">{node.namespace}</dd>
            </div>
            {FACTS.filter((f) => node[f] !== undefined).map((fact) => (
              <div key={fact}>
                <dt>{fact}</dt>
                <dd>{fact.endsWith("At") ? formatTime(node[fact] as string) : String(node[fact])}</dd>
              </div>
            ))}
            <div>
              <dt>Failure rate</dt>
              <dd>{runs.data ? failureRate(runs.data.items) : "…"}</dd>
            </div>
          </dl>
          <div className="two-columns">
            <Section title={`Inputs (${upstream.length})`}>
              <ul className="plain">
                {upstream.map((n) => (
                  <li key={n.id}>
                    <NodeLink node={n} /> <TypeBadge type={n.type} />
                  </li>
                ))}
                {upstream.length === 0 && <li className="muted">None.</li>}
              </ul>
            </Section>
            <Section title={`Outputs (${downstream.length})`}>
              <ul className="plain">
                {downstream.map((n) => (
                  <li key={n.id}>
                    <NodeLink node={n} /> <TypeBadge type={n.type} />
                  </li>
                ))}
                {downstream.length === 0 && <li className="muted">None.</li>}
              </ul>
            </Section>
          </div>
          <Loaded state={runs} what="runs">
            {(page) => (
              <Section title={`Runs (${page.total})`}>
                {page.items.length > 0 && <RunChart runs={page.items} />}
                <table>
                  <thead>
                    <tr>
                      <th>Run</th>
                      <th>State</th>
                      <th>Started</th>
                      <th>Ended</th>
                      <th className="num">Duration</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((run) => (
                      <tr key={run.runId}>
                        <td className="mono">
                          <Link to={`/run/${run.runId}`}>{run.runId}</Link>
                        </td>
                        <td>
                          <StateBadge state={run.state} />
                        </td>
                        <td>{formatTime(run.startedAt)}</td>
                        <td>{formatTime(run.endedAt)}</td>
                        <td className="num">{formatDuration(durationMs(run.startedAt, run.endedAt))}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                {page.items.length === 0 && <p className="muted">No runs recorded.</p>}
                <Pager
                  total={page.total}
                  limit={PAGE}
                  offset={offset}
                  onOffset={(next) => setParams({ id, offset: String(next) })}
                />
              </Section>
            )}
          </Loaded>
        </>
      )}
    </Loaded>
  );
}
