// A dataset's or a model's page, all from its detail answer (GET /datasets): header, producers
// and consumers, statistics and data quality, schema with field tags and per-column lineage,
// where each column comes from, versions, the schema diff between two versions, facets.

import { Link, useSearchParams } from "react-router";
import { apiGet } from "../api/client";
import type { Dataset } from "../api/types";
import { useApi } from "../api/useApi";
import { FacetList, Loaded, Section, TypeBadge } from "../components/common";
import { formatTime } from "../util/format";
import { versionLabels } from "./dataset/columns";
import { SchemaDiff } from "./dataset/SchemaDiff";
import { ColumnSources, Health, Jobs, Schema, Versions } from "./dataset/sections";

function Badges({ tags }: { tags: string[] }) {
  if (tags.length === 0) return <>—</>;
  return (
    <>
      {tags.map((tag) => (
        <span key={tag} className="badge">
          {tag}
        </span>
      ))}
    </>
  );
}

function Facts({ dataset }: { dataset: Dataset }) {
  return (
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
          <Badges tags={dataset.tags} />
        </dd>
      </div>
      {dataset.aliases && dataset.aliases.length > 0 && (
        <div>
          <dt>Also known as</dt>
          <dd className="wrap">{dataset.aliases.map((a) => a.replace(/^dataset:/, "")).join(", ")}</dd>
        </div>
      )}
      <div>
        <dt>First seen</dt>
        <dd>{formatTime(dataset.firstSeenAt as string | undefined)}</dd>
      </div>
      <div>
        <dt>Last seen</dt>
        <dd>{formatTime(dataset.lastSeenAt as string | undefined)}</dd>
      </div>
    </dl>
  );
}

export function DatasetPage() {
  const [params, setParams] = useSearchParams();
  const id = params.get("id") ?? "";
  const state = useApi<Dataset>(id ? (s) => apiGet("/datasets", { nodeId: id }, s) : null, [id]);
  // from the URL as it is now (two quick picks must not undo each other)
  const pick = (end: "from" | "to", version: string, shown: { from: string; to: string }) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        for (const name of ["from", "to"] as const) if (!next.get(name)) next.set(name, shown[name]);
        next.set(end, version);
        return next;
      },
      { replace: true },
    );
  return (
    <Loaded state={state} what="the dataset">
      {(dataset) => {
        const schema = dataset.schema ?? dataset.fields.map((name) => ({ name, type: null, description: null, tags: [] }));
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
            <Facts dataset={dataset} />
            <div className="two-columns">
              <Jobs title="Upstream producers" jobs={dataset.producers ?? []} />
              <Jobs title="Downstream consumers" jobs={dataset.consumers ?? []} />
            </div>
            <Health dataset={dataset.id} statistics={dataset.statistics ?? null} quality={dataset.quality ?? null} />
            <Schema dataset={dataset.id} schema={schema} fieldTags={dataset.fieldTags ?? {}} facets={dataset.facets} />
            <ColumnSources facets={dataset.facets} />
            <Versions
              dataset={dataset.id}
              versions={dataset.versions}
              total={dataset.versionCount ?? dataset.versions.length}
              labels={versionLabels(dataset.tags)}
            />
            <SchemaDiff
              dataset={dataset.id}
              versions={dataset.versions}
              from={params.get("from")}
              to={params.get("to")}
              onPick={pick}
            />
            <Section title="Facets">
              <FacetList facets={dataset.facets} />
            </Section>
          </>
        );
      }}
    </Loaded>
  );
}
