// Formatting of times, durations and node ids for display.

/** A Date from an ISO time, also with more than millisecond precision (OpenLineage allows nanoseconds). */
export function parseTime(iso: string): Date {
  return new Date(iso.replace(/(\.\d{3})\d+/, "$1"));
}

/** "2026-11-20 10:00:03" in the browser's time zone, or "—". */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = parseTime(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** Milliseconds between two ISO times, or null when either is missing or unparseable. */
export function durationMs(start: string | null | undefined, end: string | null | undefined): number | null {
  if (!start || !end) return null;
  const ms = parseTime(end).getTime() - parseTime(start).getTime();
  return Number.isNaN(ms) || ms < 0 ? null : ms;
}

/** "850 ms", "12.3 s", "4 min 5 s", "2 h 3 min", or "—". */
export function formatDuration(ms: number | null): string {
  if (ms === null) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

export type NodeKind = "dataset" | "job" | "model";

export interface ParsedId {
  kind: NodeKind;
  /** everything after "kind:" — namespace and name cannot be split apart from the id alone */
  rest: string;
}

/** The kind of a node id (`dataset:…`, `job:…`, `model:…`), or null for anything else. */
export function parseNodeId(id: string): ParsedId | null {
  const match = /^(dataset|job|model):(.+)$/.exec(id.trim());
  if (!match) return null;
  return { kind: match[1] as NodeKind, rest: match[2] as string };
}

/** The page of a node: jobs have job pages, datasets and models dataset pages, columns their dataset's. */
export function nodePath(node: { id: string; type: string; dataset?: unknown }): string {
  if (node.type === "column" && typeof node.dataset === "string") return `/dataset?id=${encodeURIComponent(node.dataset)}`;
  const page = node.type === "job" ? "job" : "dataset";
  return `/${page}?id=${encodeURIComponent(node.id)}`;
}

/** A short label for a node in the graph: the last path segment of its name, or a dotted name's table. */
export function shortName(name: string): string {
  const trimmed = name.replace(/\/+$/, "");
  if (trimmed.length <= 28) return trimmed;
  const slash = trimmed.lastIndexOf("/");
  let tail = slash >= 0 && slash < trimmed.length - 1 ? trimmed.slice(slash + 1) : trimmed;
  if (tail.length > 28 && slash < 0 && tail.includes(".")) tail = tail.slice(tail.lastIndexOf(".") + 1) || tail;
  return tail.length > 28 ? `${tail.slice(0, 27)}…` : tail;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a string that looks like a run id (a UUID). */
export function looksLikeRunId(text: string): boolean {
  return UUID.test(text.trim());
}
