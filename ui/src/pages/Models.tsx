// Models: every dataset of type model, across namespaces (GET /list/datasets?type=model), paged.

import { Link, useSearchParams } from "react-router";
import { apiGet } from "../api/client";
import type { GraphNode, Page } from "../api/types";
import { useApi } from "../api/useApi";
import { Loaded, Pager, Section } from "../components/common";
import { formatTime } from "../util/format";

const PAGE = 50;

export function Models() {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const state = useApi<Page<GraphNode>>(
    (signal) => apiGet("/list/datasets", { type: "model", limit: PAGE, offset }, signal),
    [offset],
  );
  return (
    <>
      <h1>Models</h1>
      <Loaded state={state} what="models">
        {(page) => (
          <Section title={`${page.total} models`}>
            {page.items.length === 0 ? (
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
                  {page.items.map((model) => (
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
            <Pager total={page.total} limit={PAGE} offset={offset} onOffset={(next) => setParams({ offset: String(next) })} />
          </Section>
        )}
      </Loaded>
    </>
  );
}
