// The box on every page: namespaces by part of their name, a node id or a run id, as you type.

import { useMemo, useState, type KeyboardEvent } from "react";
import { useNavigate } from "react-router";
import { apiGet } from "../api/client";
import type { NamespaceList } from "../pages/namespaces";
import { useApi } from "../api/useApi";
import { looksLikeRunId, nodePath, parseNodeId } from "../util/format";

interface Suggestion {
  label: string;
  kind: string;
  to: string;
}

const MAX_SUGGESTIONS = 8;

export function suggest(text: string, namespaces: string[]): Suggestion[] {
  const query = text.trim();
  if (!query) return [];
  const found: Suggestion[] = [];
  const parsed = parseNodeId(query);
  if (parsed) {
    found.push({ label: query, kind: parsed.kind, to: nodePath({ id: query, type: parsed.kind }) });
    found.push({ label: `lineage of ${query}`, kind: "graph", to: `/lineage?node=${encodeURIComponent(query)}` });
  }
  if (looksLikeRunId(query)) found.push({ label: query.toLowerCase(), kind: "run", to: `/run/${query.toLowerCase()}` });
  const lower = query.toLowerCase();
  const ranked = namespaces
    .filter((ns) => ns.toLowerCase().includes(lower))
    .sort((a, b) => rank(a, lower) - rank(b, lower) || a.localeCompare(b));
  for (const ns of ranked) found.push({ label: ns, kind: "namespace", to: `/datasets?ns=${encodeURIComponent(ns)}` });
  return found.slice(0, MAX_SUGGESTIONS);
}

/** Exact, then prefix, then at a word's start (after / : . _ -), then anywhere. */
export function rank(name: string, query: string): number {
  const lower = name.toLowerCase();
  if (lower === query) return 0;
  if (lower.startsWith(query)) return 1;
  let at = lower.indexOf(query);
  while (at > 0) {
    if ("/:._- @".includes(lower[at - 1] as string)) return 2;
    at = lower.indexOf(query, at + 1);
  }
  return 3;
}

export function GoTo() {
  const navigate = useNavigate();
  const [text, setText] = useState("");
  const [active, setActive] = useState(0);
  const [open, setOpen] = useState(false);
  const namespaces = useApi<NamespaceList>(open ? (s) => apiGet("/namespaces", { limit: 1000 }, s) : null, [open]);
  const names = useMemo(() => namespaces.data?.items.map((n) => n.name) ?? [], [namespaces.data]);
  const suggestions = useMemo(() => suggest(text, names), [text, names]);

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
        aria-label="Go to a namespace, node id or run id"
        placeholder="Namespace, dataset:ns:name, job:…, run id"
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
              key={`${s.kind}:${s.to}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                go(s);
              }}
            >
              <span className="badge">{s.kind}</span> {s.label}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
