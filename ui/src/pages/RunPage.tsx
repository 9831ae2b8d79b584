// One run: state and times, its job, parent, what it read and wrote (exact versions), the
// error when it failed, its workload facet and every other facet.

import { Link, useParams } from "react-router";
import { apiGet } from "../api/client";
import type { Run, VersionRef } from "../api/types";
import { useApi } from "../api/useApi";
import { FacetList, Loaded, Section, StateBadge } from "../components/common";
import { durationMs, formatDuration, formatTime } from "../util/format";

function datasetName(key: string): string {
  return key.replace(/^dataset:/, "");
}

function Refs({ refs }: { refs: VersionRef[] }) {
  if (refs.length === 0) return <p className="muted">None.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th>Dataset</th>
          <th>Version</th>
        </tr>
      </thead>
      <tbody>
        {refs.map((ref) => (
          <tr key={ref.versionId}>
            <td className="wrap">
              <Link to={`/dataset?id=${encodeURIComponent(ref.dataset)}`}>{datasetName(ref.dataset)}</Link>
            </td>
            <td className="mono wrap">{ref.version}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface ErrorFacet {
  message?: string;
  stackTrace?: string;
  programmingLanguage?: string;
}

function Workload({ facet }: { facet: Record<string, unknown> }) {
  const rows = Object.entries(facet).filter(([name, value]) => !name.startsWith("_") && typeof value !== "object");
  return (
    <Section title="Workload">
      <dl className="facts">
        {rows.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd className="wrap">{String(value)}</dd>
          </div>
        ))}
      </dl>
    </Section>
  );
}

export function RunPage() {
  const { runId = "" } = useParams();
  const state = useApi<Run>((s) => apiGet(`/runs/${encodeURIComponent(runId)}`, {}, s), [runId]);
  return (
    <Loaded state={state} what="the run">
      {(run) => {
        const error = run.facets.errorMessage as ErrorFacet | undefined;
        const workload = run.facets.olgraph_workload as Record<string, unknown> | undefined;
        const others = Object.fromEntries(
          Object.entries(run.facets).filter(([name]) => name !== "errorMessage" && name !== "olgraph_workload"),
        );
        return (
          <>
            <h1 className="wrap">
              Run <span className="mono-title">{run.runId}</span> <StateBadge state={run.state} />
            </h1>
            <dl className="facts">
              <div>
                <dt>Job</dt>
                <dd className="wrap">
                  {run.job ? <Link to={`/job?id=${encodeURIComponent(run.job)}`}>{run.job.replace(/^job:/, "")}</Link> : "—"}
                </dd>
              </div>
              <div>
                <dt>Started</dt>
                <dd>{formatTime(run.startedAt)}</dd>
              </div>
              <div>
                <dt>Ended</dt>
                <dd>{formatTime(run.endedAt)}</dd>
              </div>
              <div>
                <dt>Duration</dt>
                <dd>{formatDuration(run.durationMs ?? durationMs(run.startedAt, run.endedAt))}</dd>
              </div>
              <div>
                <dt>Parent run</dt>
                <dd className="mono">
                  {run.parentRunId ? <Link to={`/run/${run.parentRunId}`}>{run.parentRunId}</Link> : "—"}
                </dd>
              </div>
              {run.rootRunId && run.rootRunId !== run.runId && run.rootRunId !== run.parentRunId && (
                <div>
                  <dt>Root run</dt>
                  <dd className="mono">
                    <Link to={`/run/${run.rootRunId}`}>{run.rootRunId}</Link>
                  </dd>
                </div>
              )}
            </dl>
            {run.timeline && run.timeline.length > 0 && (
              <ol className="timeline" aria-label="state timeline">
                {run.timeline.map((step) => (
                  <li key={`${step.state}@${step.at}`}>
                    <StateBadge state={step.state} /> <span className="muted">{formatTime(step.at)}</span>
                  </li>
                ))}
              </ol>
            )}
            {error && (
              <section className="card error-card" aria-label="error">
                <h2>Error</h2>
                <p>{error.message}</p>
                {error.stackTrace && <pre>{error.stackTrace}</pre>}
              </section>
            )}
            <div className="two-columns">
              <Section title={`Inputs (${run.inputs.length})`}>
                <Refs refs={run.inputs} />
              </Section>
              <Section title={`Outputs (${run.outputs.length})`}>
                <Refs refs={run.outputs} />
              </Section>
            </div>
            {workload && <Workload facet={workload} />}
            <Section title="Facets">
              <FacetList facets={others} />
            </Section>
          </>
        );
      }}
    </Loaded>
  );
}
