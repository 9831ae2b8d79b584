import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { forgetServerCap, withNodeCap } from "./cap";

/** A server whose node cap is `ceiling`: it refuses a larger maxNodes as olgraph does. */
function server(ceiling: number) {
  const asked: (number | undefined)[] = [];
  const ask = async (maxNodes: number | undefined) => {
    asked.push(maxNodes);
    if (maxNodes !== undefined && maxNodes > ceiling) {
      throw new ApiError(400, `maxNodes: must be between 1 and ${ceiling}`, "maxNodes");
    }
    return { maxNodes: maxNodes ?? ceiling, serverMaxNodes: ceiling };
  };
  return { asked, ask };
}

describe("the node cap of a request", () => {
  beforeEach(forgetServerCap);

  it("is the page's when the server allows it", async () => {
    const { asked, ask } = server(10000);
    expect((await withNodeCap(1000, ask)).maxNodes).toBe(1000);
    expect(asked).toEqual([1000]);
  });

  it("falls back to the server's cap once, then stays within it", async () => {
    const { asked, ask } = server(6);
    expect((await withNodeCap(1000, ask)).maxNodes).toBe(6);
    expect(await withNodeCap(1000, ask)).toEqual({ maxNodes: 6, serverMaxNodes: 6 });
    expect(await withNodeCap(3, ask)).toEqual({ maxNodes: 3, serverMaxNodes: 6 });
    expect(asked).toEqual([1000, undefined, 6, 3]);
  });

  it("passes other errors on", async () => {
    const failing = async () => {
      throw new ApiError(400, "depth: must be <= 50", "depth");
    };
    await expect(withNodeCap(1000, failing)).rejects.toThrow("depth");
  });
});
