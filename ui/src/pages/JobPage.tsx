// A job's overview: what it is, its inputs and outputs, and its run history with a chart.

import { Link, useSearchParams } from "react-router";
import { apiGet } from "../api/client";
import type { Page, Run } from "../api/types";
import { useApi } from "../api/useApi";
import { Loaded, NodeLink, Pager, Section, StateBadge, TypeBadge } from "../components/common";
import { RunChart } from "../components/RunChart";
import { durationMs, formatDuration, formatTime } from "../util/format";
import type { GraphNode } from "../api/types";

const PAGE = 50;

interface Related extends GraphNode {
  declared?: boolean;
  observed?: boolean;
}

interface JobDetail extends GraphNode {
  sql?: string | null;
  owners: string[];
  tags: (string | { tag: string })[];
  parent: GraphNode | null;
  children: GraphNode[];
  childrenTotal?: number;
  inputs: Related[];
  outputs: Related[];
  runStats?: { total: number; failureRate: number | null; byState: Record<string, number> };
}

const SQL_WORDS =
  /\b(SELECT|FROM|WHERE|JOIN|LEFT|RIGHT|INNER|OUTER|ON|USING|GROUP|BY|ORDER|HAVING|INSERT|INTO|OVERWRITE|UPDATE|DELETE|CREATE|TABLE|VIEW|AS|AND|OR|NOT|NULL|IS|IN|CASE|WHEN|THEN|ELSE|END|UNION|ALL|DISTINCT|LIMIT|WITH|CAST|SUM|COUNT|MIN|MAX|AVG)\b/gi;

/** SQL with its keywords marked (a small highlighter: keywords only, no parsing). */
function Sql({ text }: { text: string }) {
  const parts: (string | { word: string })[] = [];
  let last = 0;
  for (const match of text.matchAll(SQL_WORDS)) {
    parts.push(text.slice(last, match.index), { word: match[0] });
    last = (match.index ?? 0) + match[0].length;
  }
  parts.push(text.slice(last));
  return (
    <pre className="sql" aria-label="SQL">
      {parts.map((part, i) => (typeof part === "string" ? part : <b key={i}>{part.word}</b>))}
    </pre>
  );
}

function tagText(tag: string | { tag: string }): string {
  return typeof tag === "string" ? tag : tag.tag;
}

function Lineage({ nodes }: { nodes: Related[] }) {
  if (nodes.length === 0) return <p className="muted">None.</p>;
  return (
    <ul className="plain">
      {nodes.map((n) => (
        <li key={n.id} className={n.deleted ? "deleted" : ""}>
          <NodeLink node={n} /> <TypeBadge type={n.type} />
          {n.declared && !n.observed && <span className="badge">declared only</span>}
          {n.deleted && <span className="badge state-deleted">deleted</span>}
        </li>
      ))}
    </ul>
  );
}
const FACTS = ["integration", "jobType", "processingType", "firstSeenAt", "lastSeenAt"];

function failureRate(stats: JobDetail["runStats"]): string {
  if (!stats || stats.failureRate === null) return "—";
  const failed = (stats.byState.FAIL ?? 0) + (stats.byState.ABORT ?? 0);
  return `${Math.round(stats.failureRate * 100)}% (${failed} of ${stats.total} runs)`;
}

export function JobPage() {
  const [params, setParams] = useSearchParams();
  const id = params.get("id") ?? "";
  const offset = Number(params.get("offset") ?? 0) || 0;
  const job = useApi<JobDetail>(id ? (s) => apiGet("/jobs", { nodeId: id }, s) : null, [id]);
  const runs = useApi<Page<Run>>(
    id ? (s) => apiGet("/jobs/runs", { nodeId: id, limit: PAGE, offset }, s) : null,
    [id, offset],
  );
  return (
    <Loaded state={job} what="the job">
      {(node) => (
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
              <dd>{failureRate(node.runStats)}</dd>
            </div>
            <div>
              <dt>Owners</dt>
              <dd>{node.owners.length ? node.owners.join(", ") : "—"}</dd>
            </div>
            {node.tags.length > 0 && (
              <div>
                <dt>Tags</dt>
                <dd>
                  {node.tags.map((tag) => (
                    <span key={tagText(tag)} className="badge">
                      {tagText(tag)}
                    </span>
                  ))}
                </dd>
              </div>
            )}
            {node.parent && (
              <div>
                <dt>Parent job</dt>
                <dd>
                  <NodeLink node={node.parent} />
                </dd>
              </div>
            )}
          </dl>
          {node.children.length > 0 && (
            <Section title={`Child jobs (${node.childrenTotal ?? node.children.length})`}>
              <Lineage nodes={node.children} />
            </Section>
          )}
          {node.sql && (
            <Section title="SQL">
              <Sql text={node.sql} />
            </Section>
          )}
          <div className="two-columns">
            <Section title={`Inputs (${node.inputs.length})`}>
              <Lineage nodes={node.inputs} />
            </Section>
            <Section title={`Outputs (${node.outputs.length})`}>
              <Lineage nodes={node.outputs} />
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
