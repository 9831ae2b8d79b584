// "Can I delete X?": the verdict, every live dependent grouped by type and owner, and the CSV
// that `olgraph impact` and `GET /api/v1/impact?format=csv` give.

import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { apiGet, apiGetText } from "../api/client";
import type { Affected, Impact } from "../api/types";
import { useApi } from "../api/useApi";
import { Loaded, NodeLink, Section, StateBadge, TypeBadge } from "../components/common";
import { formatTime } from "../util/format";

function groups(affected: Affected[]): [string, Affected[]][] {
  const byGroup = new Map<string, Affected[]>();
  for (const item of affected) {
    const owner = item.owners.length > 0 ? item.owners.join(", ") : "no owner";
    const key = `${item.type} · ${owner}`;
    const list = byGroup.get(key);
    if (list) list.push(item);
    else byGroup.set(key, [item]);
  }
  for (const list of byGroup.values()) list.sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name));
  return [...byGroup.entries()].sort(([a], [b]) => a.localeCompare(b));
}

function fileName(node: string): string {
  return `impact-${node.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80)}.csv`;
}

function CsvButton({ node }: { node: string }) {
  const [problem, setProblem] = useState<string | null>(null);
  const download = async () => {
    try {
      const csv = await apiGetText("/impact", { nodeId: node, format: "csv" });
      const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      const anchor = document.createElement("a");
      anchor.href = url;
      anchor.download = fileName(node);
      anchor.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setProblem(null);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  };
  return (
    <>
      <button type="button" onClick={download}>
        Download CSV
      </button>
      {problem && <span role="alert"> {problem}</span>}
    </>
  );
}

export function ImpactPage() {
  const [params] = useSearchParams();
  const node = params.get("node") ?? "";
  const state = useApi<Impact>(node ? (s) => apiGet("/impact", { nodeId: node }, s) : null, [node]);
  if (!node) {
    return (
      <>
        <h1>Impact</h1>
        <p className="muted">Open a dataset, model or job and choose “impact”.</p>
      </>
    );
  }
  return (
    <Loaded state={state} what="impact">
      {(impact) => (
        <>
          <h1 className="wrap">Can I delete {impact.root.name}?</h1>
          <p className="muted wrap">
            {impact.root.type} in {impact.root.namespace} ·{" "}
            <Link to={`/lineage?node=${encodeURIComponent(impact.root.id)}&direction=downstream`}>downstream graph</Link>
          </p>
          {impact.summary.total === 0 ? (
            <p className="verdict yes" data-testid="verdict">
              Yes: nothing live depends on it.
            </p>
          ) : (
            <p className="verdict no" data-testid="verdict">
              No: {impact.summary.total} live {impact.summary.total === 1 ? "dependent" : "dependents"} (
              {Object.entries(impact.summary.byType)
                .map(([type, count]) => `${count} ${type}${count === 1 ? "" : "s"}`)
                .join(", ")}
              ).
            </p>
          )}
          {impact.truncated && (
            <p className="notice" role="status">
              The answer is capped by the server's limits: there may be more dependents than listed.
            </p>
          )}
          <Section title="Dependents" actions={<CsvButton node={node} />}>
            {groups(impact.affected).map(([group, items]) => (
              <div key={group} className="group">
                <h3>
                  {group} <span className="muted">({items.length})</span>
                </h3>
                <table className="fixed">
                  <colgroup>
                    <col />
                    <col style={{ width: "9em" }} />
                    <col style={{ width: "7em" }} />
                    <col style={{ width: "13em" }} />
                    <col style={{ width: "9em" }} />
                  </colgroup>
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Type</th>
                      <th className="num">Distance</th>
                      <th>Last run</th>
                      <th>State</th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((item) => (
                      <tr key={item.id}>
                        <td className="wrap">
                          <NodeLink node={item} />
                        </td>
                        <td>
                          <TypeBadge type={item.type} />
                        </td>
                        <td className="num">{item.distance}</td>
                        <td>{formatTime(item.lastRunAt)}</td>
                        <td>
                          <StateBadge state={item.lastRunState} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ))}
            {impact.affected.length === 0 && <p className="empty">No dependents.</p>}
          </Section>
        </>
      )}
    </Loaded>
  );
}
