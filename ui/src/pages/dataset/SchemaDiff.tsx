// The schema change between two versions of a dataset (GET /datasets/diff): added, removed
// and retyped columns. By default the newest version against the one before it.

import { apiGet } from "../../api/client";
import type { DatasetVersion, SchemaDiff as Diff } from "../../api/types";
import { useApi } from "../../api/useApi";
import { Loaded, Section } from "../../components/common";

function Changes({ diff }: { diff: Diff }) {
  const rows = [
    ...diff.added.map((c) => ({ change: "added", name: c.name, type: c.type ?? "—" })),
    ...diff.removed.map((c) => ({ change: "removed", name: c.name, type: c.type ?? "—" })),
    ...diff.changed.map((c) => ({ change: "type changed", name: c.name, type: `${c.fromType ?? "—"} → ${c.toType ?? "—"}` })),
  ];
  if (rows.length === 0) return <p data-testid="diff-summary">Same schema in both versions.</p>;
  return (
    <>
      <p data-testid="diff-summary">
        {diff.added.length} added, {diff.removed.length} removed, {diff.changed.length} type changed
      </p>
      <table aria-label="schema changes">
        <thead>
          <tr>
            <th>Change</th>
            <th>Field</th>
            <th>Type</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.change}|${row.name}`} className={`diff-${row.change.replace(" ", "-")}`}>
              <td>{row.change}</td>
              <td className="mono">{row.name}</td>
              <td className="mono">{row.type}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function VersionPicker(props: { label: string; value: string; versions: DatasetVersion[]; onChange: (v: string) => void }) {
  return (
    <label>
      {props.label}{" "}
      <select value={props.value} aria-label={`${props.label} version`} onChange={(e) => props.onChange(e.target.value)}>
        {props.versions.map((v) => (
          <option key={v.id} value={v.version}>
            {v.version}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Two version pickers and the diff between them; the choice lives in the page's URL. */
export function SchemaDiff(props: {
  dataset: string;
  versions: DatasetVersion[];
  from: string | null;
  to: string | null;
  /** one end changed; `shown` is both ends as on screen (the other end is kept) */
  onPick: (end: "from" | "to", version: string, shown: { from: string; to: string }) => void;
}) {
  const { dataset } = props;
  // versions without any schema (models, files) have nothing to compare
  const versions = props.versions.some((v) => (v.schema?.length ?? v.fields?.length ?? 0) > 0) ? props.versions : [];
  const to = props.to ?? versions[0]?.version ?? "";
  const from = props.from ?? versions[versions.findIndex((v) => v.version === to) + 1]?.version ?? "";
  const state = useApi<Diff>(
    versions.length >= 2 && from && to ? (s) => apiGet("/datasets/diff", { nodeId: dataset, from, to }, s) : null,
    [dataset, from, to],
  );
  if (versions.length < 2) return null;
  return (
    <Section
      title="Schema changes"
      actions={
        <div className="toolbar" aria-label="versions to compare">
          <VersionPicker label="From" value={from} versions={versions} onChange={(v) => props.onPick("from", v, { from, to })} />
          <VersionPicker label="To" value={to} versions={versions} onChange={(v) => props.onPick("to", v, { from, to })} />
        </div>
      }
    >
      <Loaded state={state} what="the schema diff">
        {(diff) => <Changes diff={diff} />}
      </Loaded>
    </Section>
  );
}
