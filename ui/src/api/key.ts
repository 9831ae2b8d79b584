// The API key the user gave, kept for the browser tab's session only (sessionStorage).

const STORAGE = "olgraph.apiKey";

export function getKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE);
  } catch {
    return null;
  }
}

export function setKey(key: string | null): void {
  if (key) sessionStorage.setItem(STORAGE, key);
  else sessionStorage.removeItem(STORAGE);
}
