// The shell: header with navigation, the go-to box, key and theme buttons; the routes.

import { NavLink, Route, Routes } from "react-router";
import { GoTo } from "./components/GoTo";
import { KeyProvider, useKeyPrompt } from "./components/KeyPrompt";
import { useTheme } from "./components/Theme";
import { DatasetPage } from "./pages/DatasetPage";
import { ImpactPage } from "./pages/ImpactPage";
import { JobPage } from "./pages/JobPage";
import { LineagePage } from "./pages/LineagePage";
import { Models } from "./pages/Models";
import { NodeList } from "./pages/NodeList";
import { Overview } from "./pages/Overview";
import { RunPage } from "./pages/RunPage";

function KeyButton() {
  const open = useKeyPrompt();
  return (
    <button type="button" className="secondary" onClick={open} title="Enter or change the API key">
      API key
    </button>
  );
}

function NotFound() {
  return (
    <>
      <h1>Page not found</h1>
      <p>
        <NavLink to="/">Back to the namespaces</NavLink>
      </p>
    </>
  );
}

export function App() {
  const [theme, toggleTheme] = useTheme();
  return (
    <KeyProvider>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <NavLink to="/" className="brand" aria-label="olgraph explorer home">
          olgraph
        </NavLink>
        <nav aria-label="main">
          <NavLink to="/" end>
            Namespaces
          </NavLink>
          <NavLink to="/datasets">Datasets</NavLink>
          <NavLink to="/jobs">Jobs</NavLink>
          <NavLink to="/models">Models</NavLink>
          <NavLink to="/lineage">Lineage</NavLink>
        </nav>
        <GoTo />
        <div className="tools">
          <KeyButton />
          <button
            type="button"
            className="secondary"
            onClick={toggleTheme}
            aria-label={`Switch to the ${theme === "dark" ? "light" : "dark"} theme`}
          >
            {theme === "dark" ? "☀ Light" : "☾ Dark"}
          </button>
          <a href="/docs" className="muted">
            API
          </a>
        </div>
      </header>
      <main id="main">
        <Routes>
          <Route path="/" element={<Overview />} />
          <Route path="/datasets" element={<NodeList kind="datasets" />} />
          <Route path="/jobs" element={<NodeList kind="jobs" />} />
          <Route path="/models" element={<Models />} />
          <Route path="/dataset" element={<DatasetPage />} />
          <Route path="/job" element={<JobPage />} />
          <Route path="/run/:runId" element={<RunPage />} />
          <Route path="/lineage" element={<LineagePage theme={theme} />} />
          <Route path="/impact" element={<ImpactPage />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </KeyProvider>
  );
}
