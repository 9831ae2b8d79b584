// The node cap of lineage requests: the page's ask, kept within the server's cap once an answer
// said it (a server refuses a larger `maxNodes` with a 400 naming it).

import { ApiError } from "../api/client";

/** The server's node cap, once an answer said it: later asks stay within it. */
let serverMaxNodes: number | null = null;

/** Forget the server's cap (another server, or a test). */
export function forgetServerCap(): void {
  serverMaxNodes = null;
}

/** Ask with the node cap `cap` (within the server's, once known); a server whose cap is lower
 * refuses it (400 naming maxNodes): then ask again under the server's own cap. */
export async function withNodeCap<T extends { serverMaxNodes?: number }>(
  cap: number,
  ask: (maxNodes: number | undefined) => Promise<T>,
): Promise<T> {
  let answer: T;
  try {
    answer = await ask(serverMaxNodes === null ? cap : Math.min(cap, serverMaxNodes));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 400 && error.field === "maxNodes")) throw error;
    answer = await ask(undefined);
  }
  if (typeof answer.serverMaxNodes === "number") serverMaxNodes = answer.serverMaxNodes;
  return answer;
}
