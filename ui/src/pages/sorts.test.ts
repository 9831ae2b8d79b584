import { describe, expect, it } from "vitest";
import { SORT_OPTIONS, sortParam } from "./sorts";

describe("list sorts", () => {
  it("offers the API's orders, by name first", () => {
    expect(SORT_OPTIONS.map((o) => o.value)).toEqual(["name", "-name", "-lastSeen", "lastSeen"]);
    expect(SORT_OPTIONS.map((o) => o.label)).toEqual(["Name A→Z", "Name Z→A", "Recently seen", "Least recently seen"]);
  });

  it("sends a known sort, leaves the default out, and ignores anything else", () => {
    expect(sortParam("-lastSeen")).toBe("-lastSeen");
    expect(sortParam("-name")).toBe("-name");
    expect(sortParam("name")).toBeNull();
    expect(sortParam(null)).toBeNull();
    expect(sortParam("")).toBeNull();
    expect(sortParam("updated")).toBeNull();
  });
});
