import { describe, expect, it } from "vitest";
import { durationMs, formatDuration, looksLikeRunId, nodePath, parseNodeId, shortName } from "./format";

describe("durations", () => {
  it("measures between two times and refuses missing or reversed ones", () => {
    expect(durationMs("2026-01-01T00:00:00Z", "2026-01-01T00:01:05Z")).toBe(65_000);
    expect(durationMs(null, "2026-01-01T00:00:00Z")).toBeNull();
    expect(durationMs("2026-01-01T00:01:00Z", "2026-01-01T00:00:00Z")).toBeNull();
    expect(durationMs("2023-09-27T13:38:39.278000000Z", "2023-09-27T13:38:40.279999999Z")).toBe(1001);
  });

  it("formats each scale", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(12_340)).toBe("12 s");
    expect(formatDuration(4_500)).toBe("4.5 s");
    expect(formatDuration(245_000)).toBe("4 min 5 s");
    expect(formatDuration(7_380_000)).toBe("2 h 3 min");
  });
});

describe("node ids", () => {
  it("keeps colons of namespaces in the rest", () => {
    expect(parseNodeId("dataset:postgres://db:5432:public.orders")).toEqual({
      kind: "dataset",
      rest: "postgres://db:5432:public.orders",
    });
    expect(parseNodeId("run:abc")).toBeNull();
  });

  it("links jobs to job pages and models to dataset pages", () => {
    expect(nodePath({ id: "job:ns:a/b", type: "job" })).toBe("/job?id=job%3Ans%3Aa%2Fb");
    expect(nodePath({ id: "dataset:m:models/churn", type: "model" })).toBe(
      "/dataset?id=dataset%3Am%3Amodels%2Fchurn",
    );
  });

  it("shortens names to their last segment", () => {
    expect(shortName("public.orders")).toBe("public.orders");
    expect(shortName("warehouse_catalog.analytics_schema.customer_orders")).toBe("customer_orders");
    expect(shortName("clean/orders/")).toBe("clean/orders");
    expect(shortName("s3://lake/warehouse/clean/orders/")).toBe("orders");
    expect(shortName("file://localhost/in_file1.txt")).toBe("in_file1.txt");
    expect(shortName("x".repeat(40))).toHaveLength(28);
  });

  it("recognises run ids", () => {
    expect(looksLikeRunId("0190b7c5-0000-7000-8000-00000000c0de")).toBe(true);
    expect(looksLikeRunId("orders")).toBe(false);
  });
});
