// Asks for an API key when the server answers 401/403, and re-runs the page's requests with it.

import { createContext, useContext, useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { type ApiError, onAuthError } from "../api/client";
import { getKey, setKey } from "../api/key";

interface KeyState {
  /** bumped whenever the key changes, so that pages load again */
  version: number;
  open: () => void;
}

const KeyContext = createContext<KeyState>({ version: 0, open: () => undefined });

export function useKeyVersion(): number {
  return useContext(KeyContext).version;
}

export function useKeyPrompt(): () => void {
  return useContext(KeyContext).open;
}

function explain(error: ApiError, hadKey: boolean): string {
  if (error.status === 403) return `This key may not read: ${error.message}. A key with the read role is needed.`;
  if (hadKey) return `That key was not accepted (${error.message}).`;
  return "This olgraph server needs an API key. A key with the read role is enough.";
}

export function KeyProvider({ children }: { children: ReactNode }) {
  const [version, setVersion] = useState(0);
  const [problem, setProblem] = useState<{ text: string; refused: boolean } | null>(null);
  const [shown, setShown] = useState(false);
  const [draft, setDraft] = useState("");
  const input = useRef<HTMLInputElement>(null);

  useEffect(
    () =>
      onAuthError((error) => {
        setProblem({ text: explain(error, getKey() !== null), refused: error.status === 403 || getKey() !== null });
        setShown(true);
      }),
    [],
  );
  useEffect(() => {
    if (shown) input.current?.focus();
  }, [shown]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setKey(draft.trim() || null);
    setDraft("");
    setShown(false);
    setVersion((v) => v + 1);
  };
  const forget = () => {
    setKey(null);
    setShown(false);
    setVersion((v) => v + 1);
  };

  const state: KeyState = {
    version,
    open: () => {
      setProblem(null);
      setShown(true);
    },
  };
  return (
    <KeyContext.Provider value={state}>
      {children}
      {shown && (
        <div className="modal-backdrop">
          <form className="modal" role="dialog" aria-modal="true" aria-labelledby="key-title" onSubmit={submit}>
            <h2 id="key-title">API key</h2>
            {problem && (
              <p className={problem.refused ? "modal-problem" : "modal-info"} role="alert">
                {problem.text}
              </p>
            )}
            <label htmlFor="api-key">Key (sent as a Bearer token, kept for this tab only)</label>
            <input
              id="api-key"
              ref={input}
              type="password"
              autoComplete="off"
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              onKeyDown={(e) => e.key === "Escape" && setShown(false)}
            />
            <div className="modal-actions">
              {getKey() && (
                <button type="button" className="secondary" onClick={forget}>
                  Forget key
                </button>
              )}
              <button type="button" className="secondary" onClick={() => setShown(false)}>
                Cancel
              </button>
              <button type="submit">Use key</button>
            </div>
          </form>
        </div>
      )}
    </KeyContext.Provider>
  );
}
