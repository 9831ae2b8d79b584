// The search box on every page: datasets, models, jobs, columns and namespaces by part of their
// name as you type (the API's search), plus a node id or a run id typed in full.

import { useEffect, useMemo, useState, type KeyboardEvent } from "react";
import { useNavigate } from "react-router";
import { apiGet } from "../api/client";
import type { Page } from "../api/types";
import { looksLikeRunId, nodePath, parseNodeId } from "../util/format";

export interface Hit {
  id: string;
  type: string;
  namespace: string;
  name: string;
  dataset?: string | null;
  deleted?: boolean;
}

export interface Suggestion {
  label: string;
  detail: string;
  kind: string;
  to: string;
}

const LIMIT = 12;
const KINDS = ["dataset", "model", "job", "column", "namespace"];
const TYPING_PAUSE_MS = 120;

/** Where a search hit leads: its page (a column's is its dataset's), a namespace's datasets. */
export function hitSuggestion(hit: Hit): Suggestion {
  if (hit.type === "namespace") return { label: hit.name, detail: "", kind: "namespace", to: `/datasets?ns=${encodeURIComponent(hit.name)}` };
  if (hit.type === "column") {
    const dataset = hit.dataset ?? "";
    return { label: hit.name, detail: dataset.replace(/^dataset:/, ""), kind: "column", to: `/dataset?id=${encodeURIComponent(dataset)}` };
  }
  return { label: hit.name, detail: hit.namespace, kind: hit.type, to: nodePath(hit) };
}

/** Ids typed in full first, then the search hits grouped by kind (in the API's order within a kind). */
export function suggest(text: string, hits: Hit[]): Suggestion[] {
  const query = text.trim();
  if (!query) return [];
  const found: Suggestion[] = [];
  const parsed = parseNodeId(query);
  if (parsed) {
    found.push({ label: query, detail: "", kind: parsed.kind, to: nodePath({ id: query, type: parsed.kind }) });
    found.push({ label: query, detail: "lineage", kind: "graph", to: `/lineage?node=${encodeURIComponent(query)}` });
  }
  if (looksLikeRunId(query)) {
    const id = query.toLowerCase();
    found.push({ label: id, detail: "", kind: "run", to: `/run/${id}` });
  }
  const rank = (type: string) => (KINDS.indexOf(type) < 0 ? KINDS.length : KINDS.indexOf(type));
  const ordered = hits.map((hit, i) => ({ hit, i })).sort((a, b) => rank(a.hit.type) - rank(b.hit.type) || a.i - b.i);
  return [...found, ...ordered.map(({ hit }) => hitSuggestion(hit))];
}

function useSearch(text: string): Hit[] {
  const [hits, setHits] = useState<Hit[]>([]);
  useEffect(() => {
    const query = text.trim();
    if (!query || query.length > 200 || parseNodeId(query) || looksLikeRunId(query)) {
      setHits([]);
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      apiGet<Page<Hit>>("/search", { q: query, limit: LIMIT }, controller.signal).then(
        (page) => setHits(page.items),
        () => setHits([]), // a refused or failed search shows no suggestions (a key prompt, if needed)
      );
    }, TYPING_PAUSE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [text]);
  return hits;
}

export function GoTo() {
  const navigate = useNavigate();
  const [text, setText] = useState("");
  const [active, setActive] = useState(0);
  const [open, setOpen] = useState(false);
  const hits = useSearch(open ? text : "");
  const suggestions = useMemo(() => suggest(text, hits), [text, hits]);

  const go = (suggestion: Suggestion | undefined) => {
    if (!suggestion) return;
    setText("");
    setOpen(false);
    navigate(suggestion.to);
  };
  const onKey = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown") setActive((i) => Math.min(i + 1, suggestions.length - 1));
    else if (event.key === "ArrowUp") setActive((i) => Math.max(i - 1, 0));
    else if (event.key === "Enter") go(suggestions[active]);
    else if (event.key === "Escape") setOpen(false);
    else return;
    event.preventDefault();
  };
  return (
    <div className="goto" role="combobox" aria-expanded={open && suggestions.length > 0} aria-haspopup="listbox">
      <input
        type="search"
        aria-label="Search datasets, models, jobs, columns, namespaces; or a node id or run id"
        placeholder="Search datasets, jobs, models, columns…"
        value={text}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onChange={(e) => {
          setText(e.target.value);
          setActive(0);
          setOpen(true);
        }}
        onKeyDown={onKey}
      />
      {open && suggestions.length > 0 && (
        <ul className="goto-list" role="listbox">
          {suggestions.map((s, i) => (
            <li
              key={`${s.kind}:${s.to}:${s.label}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                go(s);
              }}
            >
              <span className={`badge type-${s.kind}`}>{s.kind}</span> {s.label}
              {s.detail && <span className="muted"> · {s.detail}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
