// What the lineage graph shows, computed from the API's answers (pure; tested on its own).
//
// The view asks the API one hop further than it shows: a node whose next hop is in the answer
// but not on screen has more lineage beyond it and gets a "+" (UI: expand). Expanding a node
// adds its own answer (one hop shown, the second one for its "+" marks); collapsing removes it.

import type { GraphEdge, GraphNode, Lineage } from "../api/types";

export type Direction = "upstream" | "downstream" | "both";

export interface ViewNode extends GraphNode {
  focus: boolean;
  /** lineage beyond this node is known to exist and is not shown */
  more: boolean;
  expanded: boolean;
}

export interface View {
  nodes: ViewNode[];
  edges: GraphEdge[];
  /** the node cap cut an answer */
  truncated: boolean;
  /** the node cap the (base) answer ran under and the server's ceiling, when the server says */
  maxNodes?: number;
  serverMaxNodes?: number;
}

/** The next node cap to ask for after a capped answer: double, up to the server's; null at the ceiling. */
export function nextCap(view: Pick<View, "maxNodes" | "serverMaxNodes">): number | null {
  const { maxNodes, serverMaxNodes } = view;
  if (maxNodes === undefined || serverMaxNodes === undefined || maxNodes >= serverMaxNodes) return null;
  return Math.min(maxNodes * 2, serverMaxNodes);
}

export interface Answer {
  root: string;
  direction: Direction;
  /** hops shown; the answer was asked for `shown + 1` (or less when the server caps depth) */
  shown: number;
  /** true when the answer reaches one hop beyond `shown`, so "+" marks are exact */
  lookahead: boolean;
  lineage: Lineage;
}

export function edgeKey(edge: GraphEdge): string {
  return `${edge.source}|${edge.type}|${edge.target}`;
}

/** Hops from `root` over `edges`: downstream follows edges, upstream walks them backwards. */
export function distances(root: string, edges: GraphEdge[], direction: Direction): Map<string, number> {
  const forward = new Map<string, string[]>();
  const backward = new Map<string, string[]>();
  const link = (map: Map<string, string[]>, from: string, to: string) => {
    const list = map.get(from);
    if (list) list.push(to);
    else map.set(from, [to]);
  };
  for (const edge of edges) {
    link(forward, edge.source, edge.target);
    link(backward, edge.target, edge.source);
    if (edge.type === "ALIAS_OF") {
      // a symlink is the same dataset: it can be walked either way
      link(forward, edge.target, edge.source);
      link(backward, edge.source, edge.target);
    }
  }
  const walk = (next: Map<string, string[]>): Map<string, number> => {
    const seen = new Map<string, number>([[root, 0]]);
    let frontier = [root];
    for (let hop = 1; frontier.length > 0; hop += 1) {
      const following: string[] = [];
      for (const id of frontier) {
        for (const neighbour of next.get(id) ?? []) {
          if (!seen.has(neighbour)) {
            seen.set(neighbour, hop);
            following.push(neighbour);
          }
        }
      }
      frontier = following;
    }
    return seen;
  };
  const result = new Map<string, number>();
  const merge = (part: Map<string, number>) => {
    for (const [id, hop] of part) result.set(id, Math.min(hop, result.get(id) ?? Infinity));
  };
  if (direction !== "upstream") merge(walk(forward));
  if (direction !== "downstream") merge(walk(backward));
  return result;
}

/** The nodes of one answer within its shown hops, and those whose next hop is unknown. */
function shownBy(answer: Answer): { visible: Set<string>; unknown: Set<string> } {
  const hops = distances(answer.root, answer.lineage.edges, answer.direction);
  const visible = new Set<string>([answer.root]);
  for (const [id, hop] of hops) if (hop <= answer.shown) visible.add(id);
  const unknown = new Set<string>();
  if (!answer.lookahead) {
    // the server's depth cap stopped the lookahead: the outermost ring may have more
    for (const [id, hop] of hops) if (hop === answer.shown) unknown.add(id);
  }
  return { visible, unknown };
}

/** True when the server's node cap cut an answer (a depth cut is expected: the lookahead hop). */
export function cappedByNodes(answer: { truncated: boolean; truncatedBy?: string[] }): boolean {
  return answer.truncatedBy ? answer.truncatedBy.includes("nodes") : answer.truncated;
}

/** The graph on screen: the base answer and every expansion, merged. */
export function composeView(base: Answer, expansions: Answer[]): View {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const visible = new Set<string>();
  const unknown = new Set<string>();
  let truncated = false;
  for (const answer of [base, ...expansions]) {
    for (const node of answer.lineage.nodes) nodes.set(node.id, node);
    for (const edge of answer.lineage.edges) edges.set(edgeKey(edge), edge);
    const part = shownBy(answer);
    part.visible.forEach((id) => visible.add(id));
    part.unknown.forEach((id) => unknown.add(id));
    truncated ||= cappedByNodes(answer.lineage);
  }
  // a node has more lineage when some answer links it to a node that is not on screen
  const hidden = new Set<string>();
  const shownEdges: GraphEdge[] = [];
  for (const edge of edges.values()) {
    const inSource = visible.has(edge.source);
    const inTarget = visible.has(edge.target);
    if (inSource && inTarget) shownEdges.push(edge);
    else if (inSource) hidden.add(edge.source);
    else if (inTarget) hidden.add(edge.target);
  }
  const expanded = new Set(expansions.map((answer) => answer.root));
  const viewNodes: ViewNode[] = [];
  for (const id of visible) {
    const node = nodes.get(id);
    if (!node) continue;
    const more = !expanded.has(id) && (hidden.has(id) || unknown.has(id));
    viewNodes.push({ ...node, focus: id === base.root, more, expanded: expanded.has(id) });
  }
  const { maxNodes, serverMaxNodes } = base.lineage;
  return { nodes: viewNodes, edges: shownEdges, truncated, maxNodes, serverMaxNodes };
}

/** Node ids of one shortest path between `from` and `to`, walking edges either way, or []. */
export function findPath(edges: GraphEdge[], from: string, to: string): string[] {
  if (from === to) return [from];
  const next = new Map<string, string[]>();
  const link = (a: string, b: string) => {
    const list = next.get(a);
    if (list) list.push(b);
    else next.set(a, [b]);
  };
  const directed = (forward: boolean): string[] => {
    next.clear();
    for (const edge of edges) (forward ? link(edge.source, edge.target) : link(edge.target, edge.source));
    const previous = new Map<string, string>();
    const queue = [from];
    const seen = new Set([from]);
    while (queue.length > 0) {
      const id = queue.shift() as string;
      if (id === to) break;
      for (const neighbour of next.get(id) ?? []) {
        if (!seen.has(neighbour)) {
          seen.add(neighbour);
          previous.set(neighbour, id);
          queue.push(neighbour);
        }
      }
    }
    if (!seen.has(to)) return [];
    const path = [to];
    while (path[0] !== from) path.unshift(previous.get(path[0] as string) as string);
    return path;
  };
  // data flows one way: the path is downstream from one node to the other
  const down = directed(true);
  return down.length > 0 ? down : directed(false);
}

/** The edges along a path of node ids. */
export function pathEdges(edges: GraphEdge[], path: string[]): Set<string> {
  const onPath = new Set<string>();
  for (let i = 0; i + 1 < path.length; i += 1) {
    const a = path[i] as string;
    const b = path[i + 1] as string;
    for (const edge of edges) {
      if ((edge.source === a && edge.target === b) || (edge.source === b && edge.target === a)) {
        onPath.add(edgeKey(edge));
      }
    }
  }
  return onPath;
}
