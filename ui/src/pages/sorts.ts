// The orders of the datasets and jobs lists: the API's `sort` values, as the sort control
// names them. The URL holds the value (`?sort=-lastSeen`); by name is the default and is
// left out of the URL, and an unknown value falls back to it rather than failing the page.

export interface SortOption {
  value: string;
  label: string;
}

export const SORT_OPTIONS: SortOption[] = [
  { value: "name", label: "Name A→Z" },
  { value: "-name", label: "Name Z→A" },
  { value: "-lastSeen", label: "Recently seen" },
  { value: "lastSeen", label: "Least recently seen" },
];

export const DEFAULT_SORT = "name";

/** The API `sort` of a URL's `sort` parameter: null (the default order) unless it is one of ours. */
export function sortParam(value: string | null): string | null {
  if (!value || value === DEFAULT_SORT) return null;
  return SORT_OPTIONS.some((o) => o.value === value) ? value : null;
}
