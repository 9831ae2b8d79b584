"""What an olgraph deployment holds, read only through its public HTTP routes with a ``read`` key.

The producer scenarios assert on what a user of the query API would see: runs and their
parents (``/api/v1/runs/{id}``, ``/api/v1/jobs/runs``), jobs (``/api/v1/jobs``), datasets with
their schemas, aliases and data-quality facets (``/api/v1/datasets``), job-level lineage
(``/api/v1/lineage``) and column lineage (``/api/v1/column-lineage``). The same class reads
``olgraph serve`` (embedded store) and ``olgraph api`` (Neo4j, written by ``olgraph consume``),
so one set of expectations checks both deployments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

ColumnEdges = dict[tuple[str, str, str], list[str]]
"""Column lineage as ``(DERIVES or INFLUENCES, source, target) → ["TYPE/SUBTYPE", …]`` (sorted)."""


@dataclass(frozen=True)
class Graph:
    """A deployment's query API at ``url``, read with the API key ``key``."""

    url: str
    key: str

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30.0)

    def get(self, path: str, **params: Any) -> Any:
        """``GET path``; the JSON answer (fails the test on anything but 200)."""
        with self._client() as client:
            response = client.get(path, params=params)
        assert response.status_code == 200, f"GET {path} {params}: {response.status_code} {response.text}"
        return response.json()

    def status(self, path: str, **params: Any) -> int:
        """The status code of ``GET path``."""
        with self._client() as client:
            return int(client.get(path, params=params).status_code)

    def run(self, run_id: str) -> dict[str, Any]:
        """``/api/v1/runs/{runId}``: state, times, parent, input and output versions, facets."""
        return dict(self.get(f"/api/v1/runs/{run_id}"))

    def runs_of(self, job: str) -> list[dict[str, Any]]:
        """The runs of ``job`` (a ``job:…`` key), newest first."""
        return list(self.get("/api/v1/jobs/runs", nodeId=job, limit=100)["items"])

    def job(self, key: str) -> dict[str, Any]:
        """``/api/v1/jobs``: the job's facets, parent, inputs and outputs (with ``declared``/``observed``)."""
        return dict(self.get("/api/v1/jobs", nodeId=key))

    def dataset(self, key: str) -> dict[str, Any]:
        """``/api/v1/datasets``: fields, schema, aliases, facets, versions, quality."""
        return dict(self.get("/api/v1/datasets", nodeId=key))

    def schema(self, key: str) -> dict[str, str]:
        """A dataset's current columns and their types."""
        return {column["name"]: column["type"] for column in self.dataset(key)["schema"]}

    def lineage(self, key: str, direction: str = "both", depth: int = 10) -> dict[str, Any]:
        """``/api/v1/lineage`` around ``key``, checked not to be truncated."""
        answer = self.get("/api/v1/lineage", nodeId=key, direction=direction, depth=depth)
        assert not answer["truncated"], answer["truncatedBy"]
        return dict(answer)

    def edges(self, key: str, direction: str = "both", depth: int = 10) -> set[tuple[str, str, str]]:
        """``(source, type, target)`` of the lineage around ``key``."""
        return {(e["source"], e["type"], e["target"]) for e in self.lineage(key, direction, depth)["edges"]}

    def column_edges(self, *datasets: str) -> ColumnEdges:
        """The column lineage into every column of ``datasets`` (one hop upstream of each)."""
        found: ColumnEdges = {}
        for dataset in datasets:
            answer = self.get("/api/v1/column-lineage", nodeId=dataset, direction="upstream", depth=1)
            assert "nodes" not in answer["truncatedBy"], answer["truncatedBy"]  # beyond one hop is fine
            for edge in answer["edges"]:
                found[(edge["type"], edge["source"], edge["target"])] = sorted(
                    f"{t['type']}/{t['subtype']}" if t.get("subtype") else t["type"]
                    for t in edge["transformations"]
                )
        return found

    def datasets(self, namespace: str) -> set[str]:
        """The names of the datasets in ``namespace``."""
        items = self.get(f"/api/v1/namespaces/{namespace}/datasets", limit=500)["items"]
        return {item["name"] for item in items}

    def jobs(self, namespace: str) -> set[str]:
        """The names of the jobs in ``namespace``."""
        return {item["name"] for item in self.get(f"/api/v1/namespaces/{namespace}/jobs", limit=500)["items"]}
