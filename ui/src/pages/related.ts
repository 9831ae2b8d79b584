// Producers, consumers, inputs and outputs of a node, from its one-hop lineage.

import { apiGet } from "../api/client";
import type { GraphNode, Lineage, Page, Run } from "../api/types";

export interface Neighbours {
  node: GraphNode;
  upstream: GraphNode[];
  downstream: GraphNode[];
  truncated: boolean;
}

export async function neighbours(id: string, signal?: AbortSignal): Promise<Neighbours> {
  const lineage = await apiGet<Lineage>("/lineage", { nodeId: id, direction: "both", depth: 1 }, signal);
  const byId = new Map(lineage.nodes.map((n) => [n.id, n]));
  const pick = (ids: string[]) =>
    [...new Set(ids)].map((i) => byId.get(i)).filter((n): n is GraphNode => n !== undefined && n.id !== id);
  return {
    node: byId.get(id) ?? (lineage.nodes[0] as GraphNode),
    upstream: pick(lineage.edges.filter((e) => e.target === id).map((e) => e.source)),
    downstream: pick(lineage.edges.filter((e) => e.source === id).map((e) => e.target)),
    truncated: lineage.truncated,
  };
}

/** The newest run of each job (at most `cap` jobs are asked). */
export async function lastRuns(jobs: GraphNode[], cap: number, signal?: AbortSignal): Promise<Map<string, Run | null>> {
  const asked = jobs.filter((j) => j.type === "job").slice(0, cap);
  const runs = await Promise.all(
    asked.map((job) => apiGet<Page<Run>>("/jobs/runs", { nodeId: job.id, limit: 1 }, signal)),
  );
  return new Map(asked.map((job, i) => [job.id, runs[i]?.items[0] ?? null]));
}
