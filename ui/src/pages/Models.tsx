// Models: the API has no listing by type yet, so this page reads each namespace's datasets
// (a bounded number of pages) and keeps the models; it says so when it had to stop early.

import { Link } from "react-router";
import { apiGet } from "../api/client";
import type { GraphNode, Page } from "../api/types";
import { useApi } from "../api/useApi";
import { Loaded, Section } from "../components/common";
import { formatTime } from "../util/format";
import type { NamespaceList } from "./namespaces";

const PAGE = 1000;
const MAX_NAMESPACES = 100;

async function loadModels(signal: AbortSignal): Promise<{ models: GraphNode[]; partial: boolean }> {
  const namespaces = await apiGet<NamespaceList>("/namespaces", { limit: MAX_NAMESPACES }, signal);
  let partial = namespaces.total > namespaces.items.length;
  const found = await Promise.all(
    namespaces.items.map(async ({ name }) => {
      const page = await apiGet<Page<GraphNode>>(
        `/namespaces/${encodeURIComponent(name)}/datasets`,
        { limit: PAGE },
        signal,
      );
      if (page.total > page.items.length) partial = true;
      return page.items.filter((node) => node.type === "model");
    }),
  );
  return { models: found.flat(), partial };
}

export function Models() {
  const state = useApi(loadModels, []);
  return (
    <>
      <h1>Models</h1>
      <Loaded state={state} what="models">
        {({ models, partial }) => (
          <Section title={`${models.length} models`}>
            {models.length === 0 ? (
              <p className="empty">No models yet: MLflow runs report them through olgraph's MLflow plugin.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Model</th>
                    <th>Namespace</th>
                    <th>Last seen</th>
                    <th>Graph</th>
                  </tr>
                </thead>
                <tbody>
                  {models.map((model) => (
                    <tr key={model.id} className={model.deleted ? "deleted" : ""}>
                      <td className="wrap">
                        <Link to={`/dataset?id=${encodeURIComponent(model.id)}`}>{model.name}</Link>
                      </td>
                      <td className="wrap">{model.namespace}</td>
                      <td>{formatTime(model.lastSeenAt as string | undefined)}</td>
                      <td>
                        <Link to={`/lineage?node=${encodeURIComponent(model.id)}`}>lineage</Link>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {partial && (
              <p className="muted">
                Only the first {MAX_NAMESPACES} namespaces and {PAGE} datasets of each were read.
              </p>
            )}
          </Section>
        )}
      </Loaded>
    </>
  );
}
