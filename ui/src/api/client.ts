// The one way the explorer talks to olgraph: GET requests on the public HTTP API, with the
// API key (when one was given) as a Bearer token. Errors carry the server's message.

import { getKey } from "./key";

export class ApiError extends Error {
  readonly status: number;
  readonly field: string | null;

  constructor(status: number, message: string, field: string | null = null) {
    super(message);
    this.status = status;
    this.field = field;
  }

  /** True when a (different) API key would help: missing, unknown or too weak. */
  get needsKey(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

type Params = Record<string, string | number | boolean | null | undefined>;

export function apiUrl(path: string, params: Params = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  return `/api/v1${path}${text ? `?${text}` : ""}`;
}

const listeners = new Set<(error: ApiError) => void>();

/** Called with every 401/403, so that the shell can ask for a key. */
export function onAuthError(listener: (error: ApiError) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

async function request(path: string, params: Params, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  const response = await fetch(apiUrl(path, params), { headers, signal });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    let field: string | null = null;
    try {
      // {error: message, field} today; {error: code, field, reason: message} in the read side's contract
      const body = (await response.json()) as { error?: string; field?: string | null; reason?: string };
      if (body.reason) message = body.reason;
      else if (body.error) message = body.error;
      field = body.field ?? null;
    } catch {
      // not a JSON error body: keep the status line
    }
    const error = new ApiError(response.status, message, field);
    if (error.needsKey) listeners.forEach((listener) => listener(error));
    throw error;
  }
  return response;
}

/** GET a JSON answer. */
export async function apiGet<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  const response = await request(path, params, signal);
  return (await response.json()) as T;
}

/** GET a text answer (CSV, NDJSON). */
export async function apiGetText(path: string, params: Params = {}): Promise<string> {
  const response = await request(path, params);
  return response.text();
}
