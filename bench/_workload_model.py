"""The data model of a workload: its spec, its tables and steps, and the names all parts share.

``WorkloadSpec`` says what to generate; a ``Unit`` is one run of a group (a DAG run, a dbt
invocation, ...) made of ``Step``s, each a job reading and writing ``Table``s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]
Columns = tuple[tuple[str, str], ...]
KINDS = ("airflow", "spark", "dbt", "ml", "streaming", "mixed")
SPEC_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
FACETS_URL = "https://openlineage.io/spec/facets"
PRODUCER = "https://github.com/olgraph/olgraph/tree/main/bench/workloads.py"
MAX_EVENT_BYTES = 200_000


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """What to generate; the same spec always gives the same bytes.

    ``nodes``: target graph size (module docstring); ``chain_depth``: models per dbt chain;
    ``window``: how many positions a delayed or duplicated event may move.
    """

    kind: str = "mixed"
    seed: int = 0
    nodes: int = 10_000
    chain_depth: int = 20
    fan_out: int = 0
    fan_in: int = 0
    disorder: float = 0.0
    duplicates: float = 0.0
    window: int = 50

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if min(self.nodes, self.chain_depth, self.window) < 1:
            raise ValueError("nodes, chain_depth and window must be at least 1")
        if min(self.fan_out, self.fan_in) < 0:
            raise ValueError("fan_out and fan_in must not be negative")
        if not (0 <= self.disorder <= 1 and 0 <= self.duplicates <= 1):
            raise ValueError("disorder and duplicates are fractions between 0 and 1")


@dataclass(frozen=True, slots=True)
class Table:
    """A dataset the generator reads or writes; no ``columns``, no ``schema`` facet."""

    namespace: str
    name: str
    columns: Columns = ()
    type: str = "TABLE"
    version: str | None = None
    symlink: tuple[str, str] | None = None

    @property
    def key(self) -> str:
        """olgraph's node key of the dataset."""
        return f"dataset:{self.namespace}:{self.name}"


Lineage = tuple[tuple[str, tuple[tuple[Table, str], ...]], ...]
"""Column lineage of an output: ((output column, ((input table, input column), ...)), ...)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One job's part in a unit: the job, what it reads and what it writes."""

    job: JsonDict
    sources: tuple[Table, ...] = ()
    target: Table | None = None
    lineage: Lineage = ()
    rows: int = 0


@dataclass(slots=True)
class Unit:
    """One run of a group (a DAG run, a dbt invocation, ...) with its events.

    ``chain``: dataset keys along a linear path of it, two lineage hops apart
    (dataset → job → dataset); ``shape``: a fan-out reader or the fan-in job.
    """

    group: str
    events: list[JsonDict]
    chain: tuple[str, ...] = ()
    shape: bool = False
