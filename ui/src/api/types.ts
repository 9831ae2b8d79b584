// The wire shapes of olgraph's query API (camelCase), as the explorer reads them.

export type NodeType = "dataset" | "model" | "job" | string;

export interface GraphNode {
  id: string;
  type: NodeType;
  namespace: string;
  name: string;
  deleted: boolean;
  /** nothing seen of it for the server's stale_after_days (lineage answers only) */
  stale?: boolean;
  [extra: string]: unknown;
}

export interface GraphEdge {
  source: string;
  target: string;
  type: string;
  [extra: string]: unknown;
}

export interface Lineage {
  nodes: GraphNode[];
  edges: GraphEdge[];
  truncated: boolean;
  /** which limits cut the answer: "depth", "nodes" (absent from older servers) */
  truncatedBy?: string[];
  /** the node cap this answer ran under, and the largest one the server allows */
  maxNodes?: number;
  serverMaxNodes?: number;
}

export interface Affected {
  id: string;
  type: string;
  namespace: string;
  name: string;
  distance: number;
  owners: string[];
  lastRunAt: string | null;
  lastRunState: string | null;
}

export interface Impact {
  root: GraphNode;
  affected: Affected[];
  summary: { total: number; byType: Record<string, number>; byOwner: Record<string, number> };
  truncated: boolean;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface VersionRef {
  dataset: string;
  version: string;
  versionId: string;
}

export interface Run {
  runId: string;
  job: string | null;
  state: string | null;
  startedAt: string | null;
  endedAt: string | null;
  updatedAt: string | null;
  parentRunId: string | null;
  errorMessage?: string | null;
  parent?: RunBrief | null;
  root?: RunBrief | null;
  childCount?: number;
  /** the read side's extensions (absent from older servers) */
  rootRunId?: string | null;
  durationMs?: number | null;
  startedAtSource?: string | null;
  timeline?: { state: string; at: string }[];
  inputs: VersionRef[];
  outputs: VersionRef[];
  facets: Record<string, unknown>;
}

export interface SchemaColumn {
  name: string;
  type: string | null;
  description: string | null;
  tags: string[];
}

export interface DatasetVersion {
  id: string;
  version: string;
  createdAt: string | null;
  runId: string | null;
  implicit: boolean;
  fields?: string[];
  schema?: SchemaColumn[];
  [extra: string]: unknown;
}

/** A job writing or reading a dataset, with that link's facets. */
export interface LinkedJob extends GraphNode {
  declared: boolean;
  observed: boolean;
  firstSeenAt?: string | null;
  lastSeenAt?: string | null;
  facets: Record<string, unknown>;
}

export interface Statistics {
  version: string;
  at: string | null;
  rowCount: number | null;
  size: number | null;
  fileCount: number | null;
}

export interface Assertion {
  assertion: string;
  column?: string | null;
  success: boolean;
  [extra: string]: unknown;
}

export interface Quality {
  at: string | null;
  job: string | null;
  metrics: Record<string, unknown> | null;
  assertions: Assertion[] | null;
}

export interface Dataset extends GraphNode {
  facets: Record<string, unknown>;
  fields: string[];
  owners: string[];
  tags: string[];
  /** the read side's detail (absent from older servers) */
  schema?: SchemaColumn[];
  fieldTags?: Record<string, string[]>;
  aliases?: string[];
  producers?: LinkedJob[];
  consumers?: LinkedJob[];
  statistics?: Statistics | null;
  quality?: Quality | null;
  versionCount?: number;
  versions: DatasetVersion[];
}

/** A run in short: who, state, when. */
export interface RunBrief {
  runId: string;
  job: string | null;
  state: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  facets?: Record<string, unknown>;
  at?: string | null;
}

/** A version's provenance: the run that wrote it, the versions that run read, who read it. */
export interface VersionDetail extends DatasetVersion {
  dataset: string;
  writer: RunBrief | null;
  writerInputs: VersionRef[];
  readers: RunBrief[];
  readersTotal: number;
}

export interface SchemaDiff {
  dataset: string;
  from: string | null;
  to: string | null;
  added: { name: string; type: string | null }[];
  removed: { name: string; type: string | null }[];
  changed: { name: string; fromType: string | null; toType: string | null }[];
}

export interface CursorPage<T> extends Page<T> {
  nextCursor: string | null;
}

export interface ApiErrorBody {
  error: string;
  field?: string | null;
}
