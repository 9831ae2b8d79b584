// One version of a dataset or model (GET /datasets/version): its schema and sizes, the run
// that wrote it and the exact versions that run read ("which data was model v7 trained on"),
// and the runs that read it ("where was it loaded").

import { Link, useSearchParams } from "react-router";
import { apiGet } from "../api/client";
import type { RunBrief, VersionDetail, VersionRef } from "../api/types";
import { useApi } from "../api/useApi";
import { Loaded, Section, StateBadge } from "../components/common";
import { formatDuration, formatTime } from "../util/format";
import { formatCount, versionPath } from "./dataset/columns";

function jobLink(job: string | null) {
  if (!job) return "—";
  return <Link to={`/job?id=${encodeURIComponent(job)}`}>{job.replace(/^job:/, "")}</Link>;
}

function Runs({ runs, label }: { runs: RunBrief[]; label: string }) {
  if (runs.length === 0) return <p className="muted">None.</p>;
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th>Run</th>
          <th>Job</th>
          <th>State</th>
          <th>Started</th>
          <th>Duration</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.runId}>
            <td className="mono">
              <Link to={`/run/${run.runId}`}>{run.runId}</Link>
            </td>
            <td className="wrap">{jobLink(run.job)}</td>
            <td>
              <StateBadge state={run.state} />
            </td>
            <td>{formatTime(run.startedAt ?? run.at)}</td>
            <td>{formatDuration(run.durationMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Inputs({ refs }: { refs: VersionRef[] }) {
  if (refs.length === 0) return <p className="muted">The writing run read nothing olgraph knows of.</p>;
  return (
    <table aria-label="trained on">
      <thead>
        <tr>
          <th>Dataset</th>
          <th>Version read</th>
        </tr>
      </thead>
      <tbody>
        {refs.map((ref) => (
          <tr key={ref.versionId}>
            <td className="wrap">
              <Link to={`/dataset?id=${encodeURIComponent(ref.dataset)}`}>{ref.dataset.replace(/^dataset:/, "")}</Link>
            </td>
            <td className="mono wrap">
              <Link to={versionPath(ref.dataset, ref.version)}>{ref.version}</Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function VersionPage() {
  const [params] = useSearchParams();
  const id = params.get("id") ?? "";
  const version = params.get("v") ?? "";
  const state = useApi<VersionDetail>(
    id && version ? (s) => apiGet("/datasets/version", { nodeId: id, version }, s) : null,
    [id, version],
  );
  return (
    <Loaded state={state} what="the version">
      {(detail) => (
        <>
          <h1 className="wrap">
            <Link to={`/dataset?id=${encodeURIComponent(detail.dataset)}`}>{detail.dataset.replace(/^dataset:[^:]*:/, "")}</Link>{" "}
            version <span className="mono-title">{detail.version}</span>
          </h1>
          <dl className="facts">
            <div>
              <dt>Created</dt>
              <dd>{formatTime(detail.createdAt)}</dd>
            </div>
            <div>
              <dt>Rows</dt>
              <dd>{formatCount(detail.rowCount)}</dd>
            </div>
            <div>
              <dt>Bytes</dt>
              <dd>{formatCount(detail.size)}</dd>
            </div>
            <div>
              <dt>Read by</dt>
              <dd>{detail.readersTotal} runs</dd>
            </div>
          </dl>
          <Section title="Written by">
            <Runs runs={detail.writer ? [detail.writer] : []} label="writer" />
          </Section>
          <Section title={`Inputs of the writing run (${detail.writerInputs.length})`}>
            <Inputs refs={detail.writerInputs} />
          </Section>
          <Section title={`Read by (${detail.readersTotal})`}>
            <Runs runs={detail.readers} label="readers" />
            {detail.readersTotal > detail.readers.length && (
              <p className="muted">The first {detail.readers.length} of {detail.readersTotal} are listed.</p>
            )}
          </Section>
          <Section title={`Schema of this version (${detail.schema?.length ?? 0} fields)`}>
            {detail.schema && detail.schema.length > 0 ? (
              <table aria-label="version schema">
                <thead>
                  <tr>
                    <th>Field</th>
                    <th>Type</th>
                    <th>Description</th>
                  </tr>
                </thead>
                <tbody>
                  {detail.schema.map((field) => (
                    <tr key={field.name}>
                      <td className="mono">{field.name}</td>
                      <td className="mono">{field.type ?? "—"}</td>
                      <td>{field.description ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p className="muted">No schema recorded for this version.</p>
            )}
          </Section>
        </>
      )}
    </Loaded>
  );
}
