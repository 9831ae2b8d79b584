// Pure helpers of the dataset pages: column sources from the columnLineage facet, model
// stages and aliases from tags, and column ids (tested on their own).

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

/** The id of a dataset's column, as the API names it (`field:NS:NAME#path`). */
export function columnId(dataset: string, column: string): string {
  return `field:${dataset.replace(/^dataset:/, "")}#${column}`;
}

/** The link to a dataset version's page. */
export function versionPath(dataset: string, version: string): string {
  return `/version?id=${encodeURIComponent(dataset)}&v=${encodeURIComponent(version)}`;
}

/** A number with thousands separated ("52,004"), or "—". */
export function formatCount(value: unknown): string {
  return typeof value === "number" ? value.toLocaleString("en-US") : "—";
}
