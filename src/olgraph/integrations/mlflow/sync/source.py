"""Which MLflow server a sync reads, and the namespaces its entities get in the graph."""

from __future__ import annotations

from dataclasses import dataclass

from olgraph.integrations.mlflow import naming


@dataclass(frozen=True)
class Source:
    """The MLflow tracking server (and model registry) to read, and the page size of its searches."""

    tracking_uri: str
    registry_uri: str | None = None
    page_size: int = 500

    @property
    def tracking_namespace(self) -> str:
        """Namespace of experiments, runs and logged models."""
        return naming.mlflow_namespace(self.tracking_uri)

    @property
    def registry_namespace(self) -> str:
        """Namespace of registered models (the registry URI's, which defaults to the tracking URI)."""
        return naming.mlflow_namespace(self.registry_uri or self.tracking_uri)
