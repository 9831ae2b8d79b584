import { describe, expect, it } from "vitest";
import { rank, suggest } from "./GoTo";

describe("the go-to box", () => {
  it("ranks exact, prefix, word start, then anywhere", () => {
    expect(rank("lake", "lake")).toBe(0);
    expect(rank("lakehouse", "lake")).toBe(1);
    expect(rank("s3://lake", "lake")).toBe(2);
    expect(rank("abfss://x@onelake.dfs", "lake")).toBe(3);
  });

  it("suggests namespaces by rank, node ids and run ids", () => {
    const found = suggest("lake", ["abfss://onelake", "s3://lake", "lake"]);
    expect(found.map((s) => s.label)).toEqual(["lake", "s3://lake", "abfss://onelake"]);
    const node = suggest("dataset:s3://lake:clean/orders", []);
    expect(node.map((s) => s.kind)).toEqual(["dataset", "graph"]);
    expect(node[0]?.to).toBe("/dataset?id=dataset%3As3%3A%2F%2Flake%3Aclean%2Forders");
    const run = suggest("0190B7C5-5A1E-7000-8000-000000000203", []);
    expect(run).toEqual([{ label: "0190b7c5-5a1e-7000-8000-000000000203", kind: "run", to: "/run/0190b7c5-5a1e-7000-8000-000000000203" }]);
    expect(suggest("  ", ["x"])).toEqual([]);
  });
});
