// Left-to-right layered layout by ELK (elkjs), computed in a Web Worker so that a large answer
// does not freeze the page; the graph is then drawn by Cytoscape at the positions ELK chose.

import ELK from "elkjs/lib/elk-api.js";
import type { ElkNode } from "elkjs/lib/elk-api.js";
import workerUrl from "elkjs/lib/elk-worker.min.js?url";

export interface Box {
  id: string;
  width: number;
  height: number;
}

export interface Link {
  id: string;
  source: string;
  target: string;
}

let elk: InstanceType<typeof ELK> | null = null;

function engine(): InstanceType<typeof ELK> {
  elk ??= new ELK({ workerUrl });
  return elk;
}

/** Start the layout worker (loading ELK takes a while) before the first graph arrives. */
export function warmUpLayout(): void {
  engine();
}

const COMMON = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.layered.spacing.nodeNodeBetweenLayers": "48",
  "elk.spacing.nodeNode": "18",
  "elk.spacing.componentComponent": "40",
  // Cytoscape draws its own edges: ELK's cheapest routing is enough
  "elk.edgeRouting": "POLYLINE",
};

/** Careful placement for the graphs people read node by node. */
const DETAILED = {
  ...COMMON,
  "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
};

/**
 * Large answers: one crossing-minimization pass and simple placement. ELK's defaults grow
 * much faster than linearly with a wide layer (measured: a 2,000-node fan-out took minutes).
 */
const FAST = {
  ...COMMON,
  "elk.layered.thoroughness": "1",
  "elk.layered.nodePlacement.strategy": "SIMPLE",
  "elk.layered.crossingMinimization.greedySwitch.type": "OFF",
};

export const DETAILED_MAX_NODES = 200;

/** Top-left positions of `boxes`, laid out in layers from left to right along `links`. */
export async function layeredPositions(
  boxes: Box[],
  links: Link[],
  layerGap = 48,
): Promise<Map<string, { x: number; y: number }>> {
  const ids = new Set(boxes.map((b) => b.id));
  const graph: ElkNode = {
    id: "root",
    layoutOptions: {
      ...(boxes.length <= DETAILED_MAX_NODES ? DETAILED : FAST),
      "elk.layered.spacing.nodeNodeBetweenLayers": String(layerGap),
    },
    children: boxes.map((b) => ({ id: b.id, width: b.width, height: b.height })),
    edges: links
      .filter((l) => ids.has(l.source) && ids.has(l.target) && l.source !== l.target)
      .map((l) => ({ id: l.id, sources: [l.source], targets: [l.target] })),
  };
  const laid = await engine().layout(graph);
  const positions = new Map<string, { x: number; y: number }>();
  for (const child of laid.children ?? []) {
    positions.set(child.id, { x: (child.x ?? 0) + (child.width ?? 0) / 2, y: (child.y ?? 0) + (child.height ?? 0) / 2 });
  }
  return positions;
}
