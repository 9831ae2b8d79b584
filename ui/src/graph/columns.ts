// Column mode: the API's column lineage as a graph view (pure; tested on its own).

import type { GraphEdge } from "../api/types";
import { cappedByNodes, type View, type ViewNode } from "./model";

export interface ColumnNode {
  id: string;
  type: string; // "column", or "dataset" for the target of a dataset-wide INFLUENCES edge
  dataset: string;
  namespace: string;
  datasetName: string;
  name: string;
  fieldType?: string | null;
  deleted: boolean;
  stale?: boolean;
  distance?: number;
}

export interface ColumnEdge {
  source: string;
  target: string;
  type: string; // DERIVES or INFLUENCES
  masking?: boolean;
  transformations?: { type?: string | null; subtype?: string | null; description?: string | null; masking?: boolean }[];
}

export interface ColumnLineage {
  nodes: ColumnNode[];
  edges: ColumnEdge[];
  truncated: boolean;
  truncatedBy?: string[];
  maxNodes?: number;
  serverMaxNodes?: number;
}

/** "DIRECT/AGGREGATION, INDIRECT/FILTER (masked)": what an edge's transformations say. */
export function transformationLabel(edge: ColumnEdge): string {
  const parts = (edge.transformations ?? []).map(
    (t) => [t.type, t.subtype].filter(Boolean).join("/") + (t.masking ? " (masked)" : ""),
  );
  return [...new Set(parts.filter(Boolean))].join(", ");
}

/** The column graph as a view: columns captioned with their dataset, edges labelled. */
export function columnView(answer: ColumnLineage): View {
  const nodes: ViewNode[] = answer.nodes.map((node) => ({
    id: node.id,
    type: node.type === "column" ? "column" : node.type,
    namespace: node.namespace,
    name: node.name,
    deleted: node.deleted,
    stale: node.stale ?? false,
    caption: node.type === "column" ? node.datasetName : undefined,
    dataset: node.dataset,
    fieldType: node.fieldType ?? undefined,
    focus: node.distance === 0,
    more: false,
    expanded: false,
  }));
  const edges: GraphEdge[] = answer.edges.map((edge) => ({
    source: edge.source,
    target: edge.target,
    type: edge.type,
    label: transformationLabel(edge),
  }));
  return {
    nodes,
    edges,
    truncated: cappedByNodes(answer),
    maxNodes: answer.maxNodes,
    serverMaxNodes: answer.serverMaxNodes,
  };
}

/** "public.orders.amount": a column with its dataset's name, or a dataset's name. */
export function columnTitle(node: { name: string; caption?: unknown }): string {
  return typeof node.caption === "string" ? `${node.caption}.${node.name}` : node.name;
}
