"""Column lineage and column impact, shared by both graph stores (pure, no I/O).

A store walks columns with :data:`~olgraph.store.walk.COLUMN_LINEAGE` (or, for impact,
:data:`~olgraph.store.walk.COLUMN_IMPACT`) and hands the finished walk to these functions,
with the views of the datasets and jobs it names, to get the answer. Rules decided here:

* column lineage of a dataset is that of all its columns at once (the dataset is a start
  node too, so the columns that influence it as a whole are found upstream);
* column impact lists the live columns downstream of the root column, the datasets holding
  them or influenced by it as a whole (a dataset influenced as a whole passes the impact on
  through every one of its columns), and the jobs that reported those edges; each at the
  smallest distance at which it is reached; columns of deleted datasets are not live.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from olgraph.normalize.mutations import RelType
from olgraph.store.base import ColumnLineageResult, ImpactItem, ImpactResult, LineageResult, NodeView
from olgraph.store.walk import LineageWalk

COLUMN_EDGE_TYPES = (RelType.DERIVES.value, RelType.INFLUENCES.value)


def dataset_of(view: NodeView) -> str | None:
    """The dataset key of a column view (None for other views)."""
    dataset = view.props.get("dataset")
    return str(dataset) if view.type == "column" and dataset is not None else None


def datasets_named(result: LineageResult) -> set[str]:
    """Keys of every dataset a column lineage answer refers to: its columns' and its own nodes."""
    keys = {d for n in result.nodes if (d := dataset_of(n)) is not None}
    keys.update(n.id for n in result.nodes if n.type in ("dataset", "model"))
    return keys


def column_lineage_result(result: LineageResult, datasets: Mapping[str, NodeView]) -> ColumnLineageResult:
    """The answer of a column lineage walk, with the views of the datasets it names."""
    named = datasets_named(result)
    return ColumnLineageResult(lineage=result, datasets={k: v for k, v in datasets.items() if k in named})


@dataclass(slots=True)
class ImpactPlan:
    """What a finished column-impact walk reached: key → distance, by kind."""

    columns: dict[str, int] = field(default_factory=dict)
    datasets: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)
    column_datasets: dict[str, str] = field(default_factory=dict)

    def keys(self) -> set[str]:
        """The datasets and jobs whose views, owners and last runs the answer needs."""
        return set(self.datasets) | set(self.jobs)


def _keep_min(target: dict[str, int], key: str, distance: int) -> None:
    if key not in target or distance < target[key]:
        target[key] = distance


def plan_column_impact(walk: LineageWalk) -> ImpactPlan:
    """Sort what the walk reached beyond its root into columns, datasets and jobs."""
    plan = ImpactPlan()
    for key, distance in walk.distances.items():
        view = walk.views[key]
        if distance == 0:
            continue
        if view.type == "column":
            plan.columns[key] = distance
            dataset = dataset_of(view)
            if dataset is not None:
                plan.column_datasets[key] = dataset
                _keep_min(plan.datasets, dataset, distance)
        elif view.type in ("dataset", "model"):
            _keep_min(plan.datasets, key, distance)
    for edge in walk.result().edges:
        if edge.type not in COLUMN_EDGE_TYPES or edge.target not in walk.distances:
            continue
        jobs = edge.props.get("jobs")
        for job in jobs if isinstance(jobs, list) else ():
            _keep_min(plan.jobs, str(job), walk.distances[edge.target])
    return plan


def build_column_impact(
    walk: LineageWalk,
    plan: ImpactPlan,
    views: Mapping[str, NodeView],
    owners: Mapping[str, Sequence[str]],
    last_runs: Mapping[str, tuple[str | None, str | None]],
) -> ImpactResult:
    """Assemble the :class:`ImpactResult` of a column: live columns, datasets and jobs.

    ``views``: the datasets and jobs of ``plan`` (missing or deleted ones are left out, with
    their columns); ``owners``/``last_runs``: by dataset or job key.
    """
    live = {k for k, v in views.items() if not v.deleted}
    items: list[ImpactItem] = []
    for key, distance in plan.columns.items():
        dataset = plan.column_datasets.get(key)
        if dataset is None or dataset not in live:
            continue
        view = walk.views[key]
        items.append(_item(view, distance, owners.get(dataset, ()), last_runs.get(dataset), dataset))
    for key, distance in (*plan.datasets.items(), *plan.jobs.items()):
        if key in live:
            items.append(_item(views[key], distance, owners.get(key, ()), last_runs.get(key), None))
    items.sort(key=lambda i: (i.distance, i.id))
    return ImpactResult(
        root=walk.start, affected=items, truncated=walk.truncated, truncated_by=walk.truncation()
    )


def _item(
    view: NodeView,
    distance: int,
    owners: Iterable[str],
    last_run: tuple[str | None, str | None] | None,
    dataset: str | None,
) -> ImpactItem:
    at, state = last_run or (None, None)
    return ImpactItem(
        id=view.id,
        type=view.type,
        namespace=view.namespace,
        name=view.name,
        distance=distance,
        owners=sorted(set(owners)),
        last_run_at=at,
        last_run_state=state,
        dataset=dataset,
    )
