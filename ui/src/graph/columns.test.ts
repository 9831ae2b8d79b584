import { describe, expect, it } from "vitest";
import { columnTitle, columnView, transformationLabel } from "./columns";

describe("column mode", () => {
  const answer = {
    nodes: [
      { id: "field:s3://lake:clean/orders#amount_eur", type: "column", dataset: "dataset:s3://lake:clean/orders",
        namespace: "s3://lake", datasetName: "clean/orders", name: "amount_eur", deleted: false, distance: 0 },
      { id: "field:db:public.orders#amount", type: "column", dataset: "dataset:db:public.orders",
        namespace: "db", datasetName: "public.orders", name: "amount", deleted: false, distance: 1 },
      { id: "dataset:s3://lake:clean/orders", type: "dataset", dataset: "dataset:s3://lake:clean/orders",
        namespace: "s3://lake", datasetName: "clean/orders", name: "clean/orders", deleted: false, distance: 1 },
    ],
    edges: [
      { source: "field:db:public.orders#amount", target: "field:s3://lake:clean/orders#amount_eur", type: "DERIVES",
        transformations: [{ type: "DIRECT", subtype: "TRANSFORMATION" }, { type: "DIRECT", subtype: "TRANSFORMATION" }] },
      { source: "field:db:public.orders#amount", target: "dataset:s3://lake:clean/orders", type: "INFLUENCES",
        transformations: [{ type: "INDIRECT", subtype: "FILTER", masking: true }] },
    ],
    truncated: false,
  };

  it("captions columns with their dataset and labels edges with their transformations", () => {
    const view = columnView(answer);
    expect(view.nodes.map((n) => [n.type, columnTitle(n), n.focus])).toEqual([
      ["column", "clean/orders.amount_eur", true],
      ["column", "public.orders.amount", false],
      ["dataset", "clean/orders", false],
    ]);
    expect(view.edges.map((e) => e.label)).toEqual(["DIRECT/TRANSFORMATION", "INDIRECT/FILTER (masked)"]);
    expect(view.nodes.every((n) => !n.more && !n.expanded)).toBe(true);
  });

  it("keeps each column's stale mark and the answer's node caps", () => {
    const stale = { ...answer, maxNodes: 3, serverMaxNodes: 10, truncatedBy: ["nodes"], truncated: true };
    stale.nodes = answer.nodes.map((n, i) => ({ ...n, stale: i === 1 }));
    const view = columnView(stale);
    expect(view.nodes.map((n) => n.stale)).toEqual([false, true, false]);
    expect([view.truncated, view.maxNodes, view.serverMaxNodes]).toEqual([true, 3, 10]);
  });

  it("says nothing for an edge without transformations", () => {
    expect(transformationLabel({ source: "a", target: "b", type: "DERIVES" })).toBe("");
  });
});
