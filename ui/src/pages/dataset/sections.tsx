// The parts of a dataset's page, each from the dataset's detail answer (GET /datasets).

import { Link } from "react-router";
import type { Assertion, DatasetVersion, LinkedJob, Quality, SchemaColumn, Statistics } from "../../api/types";
import { NodeLink, Section } from "../../components/common";
import { formatTime } from "../../util/format";
import { columnId, columnSources, formatCount, versionPath } from "./columns";

/** Producers or consumers: the jobs writing or reading the dataset, declared and/or observed. */
export function Jobs({ title, jobs }: { title: string; jobs: LinkedJob[] }) {
  return (
    <Section title={`${title} (${jobs.length})`}>
      {jobs.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Job</th>
              <th>Seen</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => (
              <tr key={job.id} className={job.deleted ? "deleted" : ""}>
                <td className="wrap">
                  <NodeLink node={job} />
                  {job.deleted && <span className="badge state-deleted">deleted</span>}
                </td>
                <td>{job.observed ? "in runs" : "declared only"}</td>
                <td>{formatTime(job.lastSeenAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function Assertions({ assertions }: { assertions: Assertion[] }) {
  return (
    <table aria-label="assertions">
      <thead>
        <tr>
          <th>Assertion</th>
          <th>Column</th>
          <th>Result</th>
        </tr>
      </thead>
      <tbody>
        {assertions.map((a, i) => (
          <tr key={`${a.assertion}|${a.column ?? ""}|${i}`}>
            <td className="mono">{a.assertion}</td>
            <td className="mono">{a.column ?? "—"}</td>
            <td>
              <span className={`badge state-${a.success ? "complete" : "fail"}`}>{a.success ? "passed" : "failed"}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

type ColumnMetrics = Record<string, Record<string, unknown>>;

function Metrics({ metrics }: { metrics: Record<string, unknown> }) {
  const columns = (metrics.columnMetrics ?? {}) as ColumnMetrics;
  const names = [...new Set(Object.values(columns).flatMap((m) => Object.keys(m)))].sort();
  return (
    <>
      <p>
        Rows read: <strong>{formatCount(metrics.rowCount)}</strong>
        {typeof metrics.bytes === "number" && <> · bytes: {formatCount(metrics.bytes)}</>}
      </p>
      {names.length > 0 && (
        <table aria-label="column metrics">
          <thead>
            <tr>
              <th>Column</th>
              {names.map((n) => (
                <th key={n} className="num">
                  {n}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {Object.entries(columns).map(([column, values]) => (
              <tr key={column}>
                <td className="mono">{column}</td>
                {names.map((n) => (
                  <td key={n} className="num">
                    {values[n] === undefined ? "—" : String(values[n])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** The newest statistics and the newest data-quality results a run gave for the dataset. */
export function Health({ dataset, statistics, quality }: { dataset: string; statistics: Statistics | null; quality: Quality | null }) {
  if (!statistics && !quality) return null;
  return (
    <Section title="Statistics and data quality">
      {statistics && (
        <dl className="facts" aria-label="statistics">
          <div>
            <dt>Rows</dt>
            <dd>{formatCount(statistics.rowCount)}</dd>
          </div>
          <div>
            <dt>Bytes</dt>
            <dd>{formatCount(statistics.size)}</dd>
          </div>
          {statistics.fileCount !== null && (
            <div>
              <dt>Files</dt>
              <dd>{formatCount(statistics.fileCount)}</dd>
            </div>
          )}
          <div>
            <dt>As of version</dt>
            <dd className="mono wrap">
              <Link to={versionPath(dataset, statistics.version)}>{statistics.version}</Link>
            </dd>
          </div>
          <div>
            <dt>Written</dt>
            <dd>{formatTime(statistics.at)}</dd>
          </div>
        </dl>
      )}
      {quality && (
        <div aria-label="data quality">
          <h3>
            Data quality{quality.job ? <> reported by {quality.job.replace(/^job:/, "")}</> : null}, {formatTime(quality.at)}
          </h3>
          {quality.metrics && <Metrics metrics={quality.metrics} />}
          {quality.assertions && quality.assertions.length > 0 && <Assertions assertions={quality.assertions} />}
        </div>
      )}
    </Section>
  );
}

/** Columns with types, descriptions, field-level tags, where each comes from, and a link to its lineage. */
export function Schema(props: {
  dataset: string;
  schema: SchemaColumn[];
  fieldTags: Record<string, string[]>;
  facets: Record<string, unknown>;
}) {
  const { dataset, schema, fieldTags } = props;
  const sources = columnSources(props.facets);
  return (
    <Section title={`Schema (${schema.length} fields)`}>
      {schema.length === 0 ? (
        <p className="muted">No schema reported.</p>
      ) : (
        <table aria-label="schema">
          <thead>
            <tr>
              <th>Field</th>
              <th>Type</th>
              <th>Description</th>
              <th>Tags</th>
              <th>Lineage</th>
            </tr>
          </thead>
          <tbody>
            {schema.map((field) => {
              const tags = [...new Set([...field.tags, ...(fieldTags[field.name] ?? [])])];
              const from = sources.some((s) => s.column === field.name);
              return (
                <tr key={field.name}>
                  <td className="mono">{field.name}</td>
                  <td className="mono">{field.type ?? "—"}</td>
                  <td>{field.description ?? ""}</td>
                  <td>
                    {tags.map((tag) => (
                      <span key={tag} className="badge">
                        {tag}
                      </span>
                    ))}
                  </td>
                  <td>
                    <Link
                      to={`/lineage?node=${encodeURIComponent(columnId(dataset, field.name))}&columns=1`}
                      aria-label={`column lineage of ${field.name}`}
                      className={from ? "" : "muted"}
                    >
                      columns
                    </Link>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Section>
  );
}

/** Where each column comes from (the dataset's columnLineage facet). */
export function ColumnSources({ facets }: { facets: Record<string, unknown> }) {
  const rows = columnSources(facets);
  if (rows.length === 0) return null;
  return (
    <Section title="Column lineage (where each column comes from)">
      <table>
        <thead>
          <tr>
            <th>Column</th>
            <th>From</th>
            <th>Transformation</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.column}|${row.dataset}|${row.field}`}>
              <td className="mono">{row.column}</td>
              <td className="wrap">
                <Link to={`/dataset?id=${encodeURIComponent(row.dataset)}`}>{row.dataset.replace(/^dataset:/, "")}</Link>
                <span className="mono"> · {row.field}</span>
              </td>
              <td className="mono">{row.transformation || "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

const STATS = ["rowCount", "size", "fileCount"];

/** The newest versions: when, which run wrote them, stages and aliases (models), sizes. */
export function Versions(props: {
  dataset: string;
  versions: DatasetVersion[];
  total: number;
  labels: Map<string, string[]>;
}) {
  const { dataset, versions, labels } = props;
  const stats = STATS.filter((name) => versions.some((v) => v[name] !== undefined && v[name] !== null));
  const title = props.total > versions.length ? `Versions (newest ${versions.length} of ${props.total})` : `Versions (${versions.length})`;
  return (
    <Section title={title}>
      {versions.length === 0 ? (
        <p className="muted">No versions recorded.</p>
      ) : (
        <table aria-label="versions">
          <thead>
            <tr>
              <th>Version</th>
              <th>Created</th>
              <th>Written by run</th>
              {labels.size > 0 && <th>Stage / alias</th>}
              <th className="num">Fields</th>
              {stats.map((name) => (
                <th key={name} className="num">
                  {name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {versions.map((version) => (
              <tr key={version.id}>
                <td className="mono wrap">
                  <Link to={versionPath(dataset, version.version)}>{version.version}</Link>
                  {version.implicit && <span className="muted"> (implicit)</span>}
                </td>
                <td>{formatTime(version.createdAt)}</td>
                <td className="mono">{version.runId ? <Link to={`/run/${version.runId}`}>{version.runId}</Link> : "—"}</td>
                {labels.size > 0 && (
                  <td>
                    {(labels.get(version.version) ?? []).map((label) => (
                      <span key={label} className="badge stage">
                        {label}
                      </span>
                    ))}
                  </td>
                )}
                <td className="num">{version.schema ? version.schema.length : (version.fields?.length ?? "—")}</td>
                {stats.map((name) => (
                  <td key={name} className="num">
                    {version[name] === undefined || version[name] === null ? "—" : formatCount(version[name])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
