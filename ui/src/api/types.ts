// The wire shapes of olgraph's query API (camelCase), as the explorer reads them.

export type NodeType = "dataset" | "model" | "job" | string;

export interface GraphNode {
  id: string;
  type: NodeType;
  namespace: string;
  name: string;
  deleted: boolean;
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
  /** the read side's extensions (absent from older servers) */
  rootRunId?: string | null;
  durationMs?: number | null;
  startedAtSource?: string | null;
  timeline?: { state: string; at: string }[];
  inputs: VersionRef[];
  outputs: VersionRef[];
  facets: Record<string, unknown>;
}

export interface DatasetVersion {
  id: string;
  version: string;
  createdAt: string | null;
  runId: string | null;
  implicit: boolean;
  [extra: string]: unknown;
}

export interface Dataset extends GraphNode {
  facets: Record<string, unknown>;
  fields: string[];
  owners: string[];
  tags: string[];
  versions: DatasetVersion[];
}

export interface ApiErrorBody {
  error: string;
  field?: string | null;
}
