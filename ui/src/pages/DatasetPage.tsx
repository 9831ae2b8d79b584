// A dataset's or a model's overview: header, related workloads, schema, versions, facets.

import { Link, useSearchParams } from "react-router";
import { apiGet } from "../api/client";
import type { Dataset, DatasetVersion, GraphNode, Run } from "../api/types";
import { useApi } from "../api/useApi";
import { FacetList, Loaded, NodeLink, Section, StateBadge, TypeBadge } from "../components/common";
import { formatTime } from "../util/format";
import { lastRuns, neighbours } from "./related";

const RUN_LOOKUPS = 20;

interface SchemaField {
  name: string;
  type?: string;
  description?: string;
}

function schemaOf(dataset: Dataset): SchemaField[] {
  const facet = dataset.facets.schema as { fields?: SchemaField[] } | undefined;
  if (facet?.fields && Array.isArray(facet.fields)) return facet.fields;
  return dataset.fields.map((name) => ({ name }));
}

/** Stage and alias labels per model version, from the tags the MLflow plugin sets (`alias.champion=7`). */
export function versionLabels(tags: string[]): Map<string, string[]> {
  const labels = new Map<string, string[]>();
  for (const tag of tags) {
    const match = /^(stage|alias)\.([^=]+)=(.+)$/.exec(tag);
    if (!match) continue;
    const [, kind, label, version] = match as unknown as [string, string, string, string];
    const list = labels.get(version) ?? [];
    list.push(kind === "alias" ? `@${label}` : label);
    labels.set(version, list);
  }
  return labels;
}

const STATS = ["rowCount", "size", "fileCount"];

interface InputField {
  namespace: string;
  name: string;
  field: string;
  transformations?: { type?: string; subtype?: string; description?: string; masking?: boolean }[];
}

export interface ColumnSource {
  column: string;
  dataset: string;
  field: string;
  transformation: string;
}

/** The column-to-column lineage of a dataset's `columnLineage` facet, one row per input field. */
export function columnSources(facets: Record<string, unknown>): ColumnSource[] {
  const facet = facets.columnLineage as { fields?: Record<string, { inputFields?: InputField[] }> } | undefined;
  const rows: ColumnSource[] = [];
  for (const [column, entry] of Object.entries(facet?.fields ?? {})) {
    for (const input of entry.inputFields ?? []) {
      const transformation = (input.transformations ?? [])
        .map((t) => [t.type, t.subtype].filter(Boolean).join("/") + (t.masking ? " (masked)" : ""))
        .join(", ");
      rows.push({ column, dataset: `dataset:${input.namespace}:${input.name}`, field: input.field, transformation });
    }
  }
  return rows.sort((a, b) => a.column.localeCompare(b.column) || a.dataset.localeCompare(b.dataset));
}

function ColumnLineage({ facets }: { facets: Record<string, unknown> }) {
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

function Related({ title, nodes, runs }: { title: string; nodes: GraphNode[]; runs: Map<string, Run | null> }) {
  return (
    <Section title={title}>
      {nodes.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Job</th>
              <th>Last run</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((job) => {
              const run = runs.get(job.id);
              return (
                <tr key={job.id}>
                  <td className="wrap">
                    <NodeLink node={job} />
                  </td>
                  <td>{run ? <Link to={`/run/${run.runId}`}>{formatTime(run.endedAt ?? run.startedAt ?? run.updatedAt)}</Link> : "—"}</td>
                  <td>
                    <StateBadge state={run?.state} />
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

function Versions({ versions, labels }: { versions: DatasetVersion[]; labels: Map<string, string[]> }) {
  const stats = STATS.filter((name) => versions.some((v) => v[name] !== undefined));
  return (
    <Section title={`Versions (${versions.length})`}>
      {versions.length === 0 ? (
        <p className="muted">No versions recorded.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Version</th>
              <th>Created</th>
              <th>Written by run</th>
              {labels.size > 0 && <th>Stage / alias</th>}
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
                <td className="mono wrap">{version.implicit ? <span className="muted">{version.version} (implicit)</span> : version.version}</td>
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
                {stats.map((name) => (
                  <td key={name} className="num">
                    {version[name] === undefined ? "—" : String(version[name])}
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

async function loadDataset(id: string, signal: AbortSignal) {
  // one after the other: an unknown id gets one clear 404, from the dataset itself
  const dataset = await apiGet<Dataset>("/datasets", { nodeId: id }, signal);
  const around = await neighbours(id, signal);
  const runs = await lastRuns([...around.upstream, ...around.downstream], RUN_LOOKUPS, signal);
  return { dataset, around, runs };
}

export function DatasetPage() {
  const [params] = useSearchParams();
  const id = params.get("id") ?? "";
  const state = useApi(id ? (s) => loadDataset(id, s) : null, [id]);
  return (
    <Loaded state={state} what="the dataset">
      {({ dataset, around, runs }) => {
        const schema = schemaOf(dataset);
        const labels = versionLabels(dataset.tags);
        return (
          <>
            <div className="page-head">
              <h1 className="wrap">
                {dataset.name} <TypeBadge type={dataset.type} />
                {dataset.deleted && <span className="badge state-deleted">deleted</span>}
              </h1>
              <div className="actions">
                <Link className="button" to={`/lineage?node=${encodeURIComponent(dataset.id)}`}>
                  Lineage
                </Link>
                <Link className="button secondary" to={`/impact?node=${encodeURIComponent(dataset.id)}`}>
                  Can I delete it?
                </Link>
              </div>
            </div>
            <dl className="facts">
              <div>
                <dt>Namespace</dt>
                <dd className="wrap">{dataset.namespace}</dd>
              </div>
              <div>
                <dt>Owners</dt>
                <dd>{dataset.owners.length ? dataset.owners.join(", ") : "—"}</dd>
              </div>
              <div>
                <dt>Tags</dt>
                <dd>
                  {dataset.tags.length
                    ? dataset.tags.map((tag) => (
                        <span key={tag} className="badge">
                          {tag}
                        </span>
                      ))
                    : "—"}
                </dd>
              </div>
              <div>
                <dt>First seen</dt>
                <dd>{formatTime(dataset.firstSeenAt as string | undefined)}</dd>
              </div>
              <div>
                <dt>Last seen</dt>
                <dd>{formatTime(dataset.lastSeenAt as string | undefined)}</dd>
              </div>
            </dl>
            <div className="two-columns">
              <Related title="Upstream producers" nodes={around.upstream} runs={runs} />
              <Related title="Downstream consumers" nodes={around.downstream} runs={runs} />
            </div>
            <Section title={`Schema (${schema.length} fields)`}>
              {schema.length === 0 ? (
                <p className="muted">No schema reported.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th>Field</th>
                      <th>Type</th>
                      <th>Description</th>
                    </tr>
                  </thead>
                  <tbody>
                    {schema.map((field) => (
                      <tr key={field.name}>
                        <td className="mono">{field.name}</td>
                        <td className="mono">{field.type ?? "—"}</td>
                        <td>{field.description ?? ""}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Section>
            <ColumnLineage facets={dataset.facets} />
            <Versions versions={dataset.versions} labels={labels} />
            <Section title="Facets">
              <FacetList facets={dataset.facets} />
            </Section>
          </>
        );
      }}
    </Loaded>
  );
}
