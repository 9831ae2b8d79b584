import { describe, expect, it } from "vitest";
import { type Hit, suggest } from "./GoTo";

const hit = (type: string, name: string, extra: Partial<Hit> = {}): Hit => ({
  id: `${type}:ns:${name}`,
  type,
  namespace: "ns",
  name,
  ...extra,
});

describe("the search box", () => {
  it("groups hits by kind and keeps the API's order within a kind", () => {
    const found = suggest("ord", [
      hit("column", "order_id", { dataset: "dataset:db:public.orders" }),
      hit("job", "load_orders"),
      hit("dataset", "orders"),
      hit("namespace", "orders-db"),
      hit("dataset", "orders_clean"),
    ]);
    expect(found.map((s) => `${s.kind} ${s.label}`)).toEqual([
      "dataset orders",
      "dataset orders_clean",
      "job load_orders",
      "column order_id",
      "namespace orders-db",
    ]);
    expect(found[3]?.to).toBe("/dataset?id=dataset%3Adb%3Apublic.orders");
    expect(found[3]?.detail).toBe("db:public.orders");
    expect(found[4]?.to).toBe("/datasets?ns=orders-db");
  });

  it("opens node ids and run ids typed in full", () => {
    const node = suggest("dataset:s3://lake:clean/orders", []);
    expect(node.map((s) => s.kind)).toEqual(["dataset", "graph"]);
    expect(node[0]?.to).toBe("/dataset?id=dataset%3As3%3A%2F%2Flake%3Aclean%2Forders");
    const run = suggest("0190B7C5-5A1E-7000-8000-000000000203", []);
    expect(run.map((s) => s.to)).toEqual(["/run/0190b7c5-5a1e-7000-8000-000000000203"]);
    expect(suggest("  ", [hit("dataset", "x")])).toEqual([]);
  });
});
