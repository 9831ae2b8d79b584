import { describe, expect, it } from "vitest";
import { columnSources, versionLabels } from "./DatasetPage";

describe("the dataset page", () => {
  it("lists each column's input fields with their transformations", () => {
    const facets = {
      columnLineage: {
        fields: {
          total: {
            inputFields: [
              { namespace: "db", name: "orders", field: "amount", transformations: [{ type: "DIRECT", subtype: "AGGREGATION" }] },
              { namespace: "db", name: "fx", field: "rate", transformations: [{ type: "INDIRECT", subtype: "JOIN", masking: true }] },
            ],
          },
          id: { inputFields: [{ namespace: "db", name: "orders", field: "id" }] },
        },
      },
    };
    expect(columnSources(facets)).toEqual([
      { column: "id", dataset: "dataset:db:orders", field: "id", transformation: "" },
      { column: "total", dataset: "dataset:db:fx", field: "rate", transformation: "INDIRECT/JOIN (masked)" },
      { column: "total", dataset: "dataset:db:orders", field: "amount", transformation: "DIRECT/AGGREGATION" },
    ]);
    expect(columnSources({})).toEqual([]);
  });

  it("reads model stages and aliases from the tags", () => {
    const labels = versionLabels(["alias.champion=2", "stage.Production=2", "stage.Staging=1", "team=ml"]);
    expect(Object.fromEntries(labels)).toEqual({ "2": ["@champion", "Production"], "1": ["Staging"] });
  });
});
