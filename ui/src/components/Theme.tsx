// Light and dark themes: the system's preference until the user picks one (kept in localStorage).

import { useEffect, useState } from "react";

type Theme = "light" | "dark";
const STORAGE = "olgraph.theme";

function initialTheme(): Theme {
  const saved = localStorage.getItem(STORAGE);
  if (saved === "light" || saved === "dark") return saved;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(initialTheme);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  const toggle = () =>
    setTheme((current) => {
      const next = current === "dark" ? "light" : "dark";
      localStorage.setItem(STORAGE, next);
      return next;
    });
  return [theme, toggle];
}

/** A CSS custom property's value on the document (for the graph canvas, which is not CSS-styled). */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
