"""What the graph holds for an MLflow server, read back through the query API's listings.

An earlier sync (or the plugin) put it there. The sync compares it with MLflow: to find what
vanished (:mod:`~olgraph.integrations.mlflow.sync.deletions`), and to see where the graph holds
another state of a registered model than MLflow (:func:`state_differs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from olgraph.integrations.mlflow import naming
from olgraph.integrations.mlflow.sync.source import Source

GraphLookup = Callable[[str, str], Mapping[str, Any] | None]
"""``graph_facets(namespace, name)``: the facets the graph holds for a dataset (``None`` if none)."""


@dataclass(frozen=True)
class GraphNode:
    """A live model dataset or experiment job the graph holds for this MLflow server."""

    namespace: str
    name: str
    last_seen: str | None = None
    description: str | None = None

    @property
    def run_id(self) -> str | None:
        """The run of a run-artifact model (``runs/{run_id}/{path}``)."""
        if not self.name.startswith(naming.RUN_ARTIFACTS):
            return None
        return self.name.removeprefix(naming.RUN_ARTIFACTS).split("/", 1)[0]


@dataclass(frozen=True)
class Previous:
    """What an earlier sync (or the plugin) put in the graph: live models and experiment jobs."""

    models: tuple[GraphNode, ...] = ()
    experiments: Mapping[str, GraphNode] = field(default_factory=dict)

    @classmethod
    def from_listings(
        cls, source: Source, datasets: Iterable[Mapping[str, Any]], jobs: Iterable[Mapping[str, Any]]
    ) -> Previous:
        """Keep, from the query API's dataset and job listings, what this server's sync owns."""
        owned = {(source.registry_namespace, naming.REGISTERED_MODELS)}
        owned |= {(source.tracking_namespace, p) for p in (naming.LOGGED_MODELS, naming.RUN_ARTIFACTS)}
        models = tuple(
            _node(d)
            for d in datasets
            if d.get("type") == "model"
            and not d.get("deleted")
            and any(d.get("namespace") == ns and str(d.get("name", "")).startswith(p) for ns, p in owned)
        )
        experiments = {
            str(j["name"]): _node(j)
            for j in jobs
            if j.get("namespace") == source.tracking_namespace
            and j.get("integration") == "MLFLOW"
            and j.get("jobType") == "EXPERIMENT"
        }
        return cls(models, experiments)


def _node(item: Mapping[str, Any]) -> GraphNode:
    return GraphNode(
        str(item["namespace"]), str(item["name"]), item.get("lastSeenAt"), item.get("description")
    )


def state_differs(event: Mapping[str, Any], graph_facets: Mapping[str, Any]) -> bool:
    """Whether the graph's ``tags`` or ``mlflow_model`` facet says something else than ``event``."""
    facets = event["dataset"]["facets"]
    return any(
        _payload(facets.get(name)) != _payload(graph_facets.get(name)) for name in ("tags", "mlflow_model")
    )


def _payload(facet: Any) -> Any:
    if not isinstance(facet, Mapping):
        return None
    return {k: v for k, v in facet.items() if k not in {"_producer", "_schemaURL"}}
