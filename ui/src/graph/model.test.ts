import { describe, expect, it } from "vitest";
import type { GraphEdge, GraphNode, Lineage } from "../api/types";
import { type Answer, cappedByNodes, composeView, distances, findPath, nextCap, pathEdges } from "./model";

const node = (id: string, type = id.startsWith("job") ? "job" : "dataset"): GraphNode => ({
  id,
  type,
  namespace: "ns",
  name: id,
  deleted: false,
});

// a chain d0 -> j1 -> d1 -> j2 -> d2 -> j3 -> d3
const chain: GraphEdge[] = [
  { source: "d0", target: "job1", type: "CONSUMED_BY" },
  { source: "job1", target: "d1", type: "PRODUCES" },
  { source: "d1", target: "job2", type: "CONSUMED_BY" },
  { source: "job2", target: "d2", type: "PRODUCES" },
  { source: "d2", target: "job3", type: "CONSUMED_BY" },
  { source: "job3", target: "d3", type: "PRODUCES" },
];

function lineage(ids: string[], edges: GraphEdge[]): Lineage {
  const keep = new Set(ids);
  return {
    nodes: ids.map((id) => node(id)),
    edges: edges.filter((e) => keep.has(e.source) && keep.has(e.target)),
    truncated: false,
  };
}

describe("distances", () => {
  it("walks downstream forwards, upstream backwards, both either way", () => {
    expect(distances("d1", chain, "downstream").get("d3")).toBe(4);
    expect(distances("d1", chain, "downstream").has("d0")).toBe(false);
    expect(distances("d1", chain, "upstream").get("d0")).toBe(2);
    const both = distances("d1", chain, "both");
    expect([both.get("d0"), both.get("d3")]).toEqual([2, 4]);
  });
});

describe("composeView", () => {
  const base: Answer = {
    root: "d1",
    direction: "both",
    shown: 1,
    lookahead: true,
    lineage: lineage(["d1", "job1", "job2", "d0", "d2"], chain),
  };

  it("shows the asked hops and marks the nodes with lineage beyond", () => {
    const view = composeView(base, []);
    expect(view.nodes.map((n) => n.id).sort()).toEqual(["d1", "job1", "job2"]);
    const more = Object.fromEntries(view.nodes.map((n) => [n.id, n.more]));
    expect(more).toEqual({ d1: false, job1: true, job2: true });
    expect(view.nodes.find((n) => n.id === "d1")?.focus).toBe(true);
    expect(view.edges).toHaveLength(2);
  });

  it("expands a node by one hop and collapses it again", () => {
    const expansion: Answer = {
      root: "job2",
      direction: "both",
      shown: 1,
      lookahead: true,
      lineage: lineage(["job2", "d1", "d2", "job1", "job3"], chain),
    };
    const view = composeView(base, [expansion]);
    expect(view.nodes.map((n) => n.id).sort()).toEqual(["d1", "d2", "job1", "job2"]);
    const byId = Object.fromEntries(view.nodes.map((n) => [n.id, n]));
    expect(byId.job2?.expanded).toBe(true);
    expect(byId.job2?.more).toBe(false);
    expect(byId.d2?.more).toBe(true);
    expect(composeView(base, []).nodes).toHaveLength(3);
  });

  it("marks the outer ring as open when the depth cap stopped the lookahead", () => {
    const capped: Answer = { ...base, lookahead: false, lineage: lineage(["d1", "job1", "job2"], chain) };
    const more = composeView(capped, []).nodes.filter((n) => n.more).map((n) => n.id);
    expect(more.sort()).toEqual(["job1", "job2"]);
  });

  it("carries the truncated flag of any answer", () => {
    const cut = { ...base, lineage: { ...base.lineage, truncated: true } };
    expect(composeView(cut, []).truncated).toBe(true);
  });
});

describe("findPath", () => {
  it("finds the downstream path either way round", () => {
    expect(findPath(chain, "d0", "d2")).toEqual(["d0", "job1", "d1", "job2", "d2"]);
    expect(findPath(chain, "d2", "d0")).toEqual(["d2", "job2", "d1", "job1", "d0"]);
    expect(findPath(chain, "d0", "nowhere")).toEqual([]);
    expect(pathEdges(chain, ["d0", "job1", "d1"]).size).toBe(2);
  });
});

describe("a capped answer", () => {
  it("is one the node cap cut, not the lookahead's depth cut", () => {
    expect(cappedByNodes({ truncated: true, truncatedBy: ["depth"] })).toBe(false);
    expect(cappedByNodes({ truncated: true, truncatedBy: ["depth", "nodes"] })).toBe(true);
    expect(cappedByNodes({ truncated: false, truncatedBy: [] })).toBe(false);
    expect(cappedByNodes({ truncated: true })).toBe(true); // a server without truncatedBy
  });

  it("offers a doubled node cap, up to the server's, and none at the ceiling", () => {
    expect(nextCap({ maxNodes: 1000, serverMaxNodes: 10000 })).toBe(2000);
    expect(nextCap({ maxNodes: 3, serverMaxNodes: 5 })).toBe(5);
    expect(nextCap({ maxNodes: 5, serverMaxNodes: 5 })).toBeNull();
    expect(nextCap({})).toBeNull(); // a server that does not say its caps
  });

  it("takes the caps of the base answer into the view, and each node's stale mark", () => {
    const base: Answer = {
      root: "d1",
      direction: "both",
      shown: 1,
      lookahead: true,
      lineage: {
        ...lineage(["d1", "job1"], chain),
        truncated: true,
        truncatedBy: ["nodes"],
        maxNodes: 2,
        serverMaxNodes: 6,
      },
    };
    base.lineage.nodes[1] = { ...node("job1"), stale: true };
    const view = composeView(base, []);
    expect([view.truncated, view.maxNodes, view.serverMaxNodes, nextCap(view)]).toEqual([true, 2, 6, 4]);
    expect(view.nodes.map((n) => [n.id, n.stale ?? false])).toEqual([
      ["d1", false],
      ["job1", true],
    ]);
  });
});
