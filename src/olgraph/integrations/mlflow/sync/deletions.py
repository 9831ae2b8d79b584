"""The deletion plan: which models the graph holds as live that MLflow no longer has.

The plan is refused past a share of what was synced before, unless forced: a mistyped
``--tracking-uri`` must not mark a whole registry deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from olgraph.integrations import _common as c
from olgraph.integrations.mlflow import events as ev
from olgraph.integrations.mlflow import naming
from olgraph.integrations.mlflow.sync.builders import JsonDict, dataset_dropped, millis_after, parse_time
from olgraph.integrations.mlflow.sync.errors import DeletionRefused
from olgraph.integrations.mlflow.sync.graph import GraphNode, Previous


@dataclass
class Present:
    """What the sync found in MLflow, as far as deletions need it."""

    models: set[tuple[str, str]] = field(default_factory=set)
    runs: set[str] = field(default_factory=set)  # only the runs of previously known artifact models
    experiments: set[str] = field(default_factory=set)
    logged_models_listed: bool = True


@dataclass(frozen=True)
class DeletionPlan:
    """Which previously synced models vanished from MLflow, and the DROP events that say so."""

    previous: int
    vanished: tuple[GraphNode, ...]
    vanished_experiments: tuple[str, ...] = ()

    @property
    def fraction(self) -> float:
        """Share of the previously synced models that would be deleted."""
        return len(self.vanished) / self.previous if self.previous else 0.0

    def check(self, max_fraction: float, force: bool) -> None:
        """Raise :class:`DeletionRefused` past ``max_fraction``, unless ``force``."""
        if self.vanished and self.fraction > max_fraction and not force:
            raise DeletionRefused(self, max_fraction)

    def events(self, registry_namespace: str) -> list[JsonDict]:
        """One DROP per vanished model, dated just after the graph last saw it (deterministic)."""
        out = []
        for model in self.vanished:
            at = just_after(model.last_seen)
            if model.namespace == registry_namespace and model.name.startswith(naming.REGISTERED_MODELS):
                out.append(
                    ev.model_dropped(model.name.removeprefix(naming.REGISTERED_MODELS), model.namespace, at)
                )
            else:
                out.append(dataset_dropped(model.namespace, model.name, at))
        return out


def just_after(time_text: str | None) -> str:
    """1 ms after ``time_text``: later than every write the graph saw, so the DROP wins."""
    return c.from_millis(millis_after(time_text)) if parse_time(time_text) else c.now()


def plan_deletions(previous: Previous, present: Present) -> DeletionPlan:
    """Compare the graph with MLflow: what the graph holds as live and MLflow no longer has."""
    vanished = []
    for model in previous.models:
        if model.run_id is not None:
            gone = model.run_id not in present.runs
        elif model.name.startswith(naming.LOGGED_MODELS) and not present.logged_models_listed:
            gone = False  # the server cannot list logged models: never guess they are gone
        else:
            gone = (model.namespace, model.name) not in present.models
        if gone:
            vanished.append(model)
    experiments = tuple(sorted(set(previous.experiments) - present.experiments))
    return DeletionPlan(len(previous.models), tuple(vanished), experiments)
