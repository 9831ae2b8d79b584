"""Deterministic OpenLineage workloads for olgraph's benchmarks, generated lazily from a seed.

Every event is an OpenLineage 2-0-2 RunEvent made of standard facets only. Kinds:

* ``airflow``: DAG runs whose task runs carry ``parent``/``root`` facets, START/COMPLETE
  pairs (a few runs FAIL), ``sql`` job facets, tables flowing from task to task;
* ``spark``: applications whose actions read and write wide tables (50-500 columns) with
  ``schema``, ``columnLineage``, ``symlinks`` and ``outputStatistics``;
* ``dbt``: invocations building a chain of ``chain_depth`` models, with ``sql`` facets;
* ``ml``: pipelines going features → training (a ``MODEL`` dataset with a ``version``
  facet per model version) → evaluation;
* ``streaming``: STREAMING jobs sending START and periodic RUNNING events, never a terminal one;
* ``mixed``: each group (a DAG, a project, an application, ...) is one of the above.

``fan_out`` adds that many jobs reading one hot table, ``fan_in`` one job reading that many
partitions. Units (one DAG run, one dbt invocation, ...) follow each other in time, so the
natural order of the stream is ``eventTime`` order (strictly increasing); ``disorder`` then
delays that fraction of events by 1 to ``window`` positions and ``duplicates`` re-sends
that fraction (byte-identical, as a retrying client does) up to ``window`` positions later.

Graph size: ``nodes`` counts every node olgraph's normalizer creates (jobs, runs, datasets,
dataset versions, fields, namespaces, owners; docs/graph-model.md). Generation stops at the
first unit boundary at or past it once the ``fan_out``/``fan_in`` shapes are complete. The
stores may add an implicit ``initial`` version per dataset read before any write of it;
those are not counted. Events are 1 KB to 200 KB (a ``fan_in`` over ~330 exceeds that).

API: :func:`generate` (events in delivery order), :class:`Workload` (events, lines and units,
plus what they counted), :func:`node_keys` and :func:`event_node_keys` (the graph nodes a
workload or an event creates), :func:`lineage_anchors` (start nodes for lineage queries of a
given depth), :func:`write_ndjson`.

Command line (a one-line summary goes to stderr)::

    python bench/workloads.py --kind airflow --seed 1 --nodes 10000 --out events.ndjson

>>> spec = WorkloadSpec(kind="dbt", seed=1, nodes=500, chain_depth=5)
>>> first = next(generate(spec))
>>> first["eventType"], first["job"]["name"]
('START', 'dbt-run-customer_analytics_00000')
>>> len(node_keys(spec)) >= 500
True
"""

from __future__ import annotations

import argparse
import copy
import heapq
import itertools
import random
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson

JsonDict = dict[str, Any]
Columns = tuple[tuple[str, str], ...]
KINDS = ("airflow", "spark", "dbt", "ml", "streaming", "mixed")
SPEC_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
FACETS_URL = "https://openlineage.io/spec/facets"
PRODUCER = "https://github.com/olgraph/olgraph/tree/main/bench/workloads.py"
MAX_EVENT_BYTES = 200_000
_EPOCH_MS = 1_714_521_600_000  # 2024-05-01T00:00:00Z
_MIX = {"airflow": 35, "streaming": 20, "dbt": 15, "ml": 15, "spark": 15}
_FACET_VERSIONS = {
    "ParentRunFacet": "1-2-0", "NominalTimeRunFacet": "1-0-1", "ProcessingEngineRunFacet": "1-1-1",
    "ErrorMessageRunFacet": "1-0-1", "JobTypeJobFacet": "2-0-4", "SQLJobFacet": "1-1-0",
    "OwnershipJobFacet": "1-0-1", "SourceCodeLocationJobFacet": "1-1-0", "SchemaDatasetFacet": "1-2-0",
    "ColumnLineageDatasetFacet": "1-2-0", "DatasourceDatasetFacet": "1-0-1", "SymlinksDatasetFacet": "1-0-1",
    "DatasetTypeDatasetFacet": "1-0-1", "DatasetVersionDatasetFacet": "1-0-1",
    "OutputStatisticsOutputDatasetFacet": "1-0-2",
}  # fmt: skip
_WORDS = (
    "customer", "order", "product", "session", "payment", "invoice", "shipment", "account",
    "campaign", "device", "store", "region", "supplier", "refund", "user", "page", "item",
    "price", "discount", "subscription", "ticket", "review", "return", "cart",
)  # fmt: skip
_SUFFIXES = (
    ("id", "bigint"), ("name", "varchar"), ("amount", "decimal(18,2)"), ("count", "integer"),
    ("created_at", "timestamp"), ("updated_at", "timestamp"), ("status", "varchar"),
    ("code", "varchar"), ("flag", "boolean"), ("score", "double"), ("date", "date"), ("ts", "timestamp"),
)  # fmt: skip
_VERBS = ("daily", "hourly", "sync", "rollup", "snapshot", "enrichment", "dedup", "backfill")
_TEAMS = ("team:data-eng", "team:analytics", "team:growth", "team:finance-data", "team:ml-platform")
_WAREHOUSE = "postgres://pg-warehouse.internal:5432"
_SNOWFLAKE = "snowflake://acme-xy12345.eu-west-1"
_KAFKA = "kafka://broker-1.kafka.internal:9092"
_REPO = "https://github.com/acme/data-pipelines"
_STACKS = {  # kind: (job namespace, integration, engine, engine version)
    "airflow": ("airflow-prod", "AIRFLOW", "Airflow", "2.10.3"),
    "dbt": ("dbt-prod", "DBT", "dbt", "1.8.7"),
    "spark": ("spark-prod", "SPARK", "spark", "3.5.1"),
    "ml": ("ml-platform", "KUBEFLOW", "python", "3.11.9"),
    "streaming": ("flink-prod", "FLINK", "flink", "1.18.1"),
}
_POOLS = {
    "pg": (6, 30, 4),
    "lake": (50, 500, 20),
    "snow": (5, 30, 4),
    "kafka": (5, 15, 4),
    "hot": (12, 12, 0),
}
"""Source-table pools: (fewest columns, most columns, tables per 1/sqrt(nodes); 0: one table)."""


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


# --------------------------------------------------------------------------- facets and events


def _facet(definition: str, **fields: Any) -> JsonDict:
    url = f"{FACETS_URL}/{_FACET_VERSIONS[definition]}/{definition}.json#/$defs/{definition}"
    return {"_producer": PRODUCER, "_schemaURL": url, **fields}


def _job(
    kind: str, name: str, job_type: str, team: str, *, parent: bool = False, **facets: JsonDict
) -> JsonDict:
    """A job of ``kind`` with its type and owner; a job that is no parent also says where its code is."""
    namespace, integration, _, _ = _STACKS[kind]
    processing = "STREAMING" if kind == "streaming" else "BATCH"
    typed = _facet("JobTypeJobFacet", processingType=processing, integration=integration, jobType=job_type)
    if kind == "streaming":
        pattern = {"eventTrigger": "PERIODIC", "eventContentMode": "ACCUMULATIVE", "windowDuration": 60}
        typed["emissionPattern"] = pattern
    owners = _facet("OwnershipJobFacet", owners=[{"name": team, "type": "TEAM"}])
    job_facets = {"jobType": typed, "ownership": owners, **facets}
    if not parent:
        url = f"{_REPO}/blob/main/{kind}/{name.replace('.', '/')}.py"
        job_facets["sourceCodeLocation"] = _facet(
            "SourceCodeLocationJobFacet", type="git", url=url, repoUrl=_REPO
        )
    return {"namespace": namespace, "name": name, "facets": job_facets}


def _engine(kind: str) -> JsonDict:
    """The ``processing_engine`` run facet of ``kind``'s stack."""
    _, _, name, version = _STACKS[kind]
    return _facet("ProcessingEngineRunFacet", name=name, version=version, openlineageAdapterVersion="1.23.0")


def _parent(run_id: str, job: JsonDict) -> JsonDict:
    ref = {"namespace": job["namespace"], "name": job["name"]}
    return _facet(
        "ParentRunFacet", run={"runId": run_id}, job=ref, root={"run": {"runId": run_id}, "job": ref}
    )


def _dataset(table: Table, lineage: Lineage = (), rows: int = 0) -> JsonDict:
    """The event entry for ``table``; ``lineage`` and ``rows`` only on outputs."""
    facets: JsonDict = {
        "dataSource": _facet("DatasourceDatasetFacet", name=table.namespace, uri=table.namespace)
    }
    if table.columns:
        fields = [{"name": n, "type": t, "ordinal_position": i} for i, (n, t) in enumerate(table.columns, 1)]
        facets["schema"] = _facet("SchemaDatasetFacet", fields=fields)
    facets["datasetType"] = _facet("DatasetTypeDatasetFacet", datasetType=table.type)
    if table.version is not None:
        facets["version"] = _facet("DatasetVersionDatasetFacet", datasetVersion=table.version)
    if table.symlink is not None:
        ident = {"namespace": table.symlink[0], "name": table.symlink[1], "type": "TABLE"}
        facets["symlinks"] = _facet("SymlinksDatasetFacet", identifiers=[ident])
    if lineage:
        facets["columnLineage"] = _column_lineage(lineage)
    entry: JsonDict = {"namespace": table.namespace, "name": table.name, "facets": facets}
    if rows:
        stats = {"rowCount": rows, "size": rows * 96, "fileCount": 1 + rows // 500_000}
        entry["outputFacets"] = {"outputStatistics": _facet("OutputStatisticsOutputDatasetFacet", **stats)}
    return entry


def _column_lineage(lineage: Lineage) -> JsonDict:
    fields = {}
    for out, ins in lineage:
        change = {
            "type": "DIRECT",
            "subtype": "IDENTITY" if len(ins) == 1 else "TRANSFORMATION",
            "masking": False,
        }
        refs = [
            {"namespace": t.namespace, "name": t.name, "field": c, "transformations": [change]}
            for t, c in ins
        ]
        fields[out] = {"inputFields": refs}
    table, column = lineage[0][1][0]
    change = {"type": "INDIRECT", "subtype": "FILTER", "masking": False}
    where = {"namespace": table.namespace, "name": table.name, "field": column, "transformations": [change]}
    return _facet("ColumnLineageDatasetFacet", fields=fields, dataset=[where])


def _event(
    event_type: str, at: str, run_id: str, run_facets: JsonDict, step: Step, *, final: bool
) -> JsonDict:
    """A RunEvent of ``step``; ``final`` events carry the output's column lineage and statistics."""
    outputs = []
    if step.target is not None:
        outputs = [_dataset(step.target, step.lineage, step.rows) if final else _dataset(step.target)]
    return {
        "eventType": event_type,
        "eventTime": at,
        "producer": PRODUCER,
        "schemaURL": f"{SPEC_URL}#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": run_facets},
        "job": step.job,
        "inputs": [_dataset(t) for t in step.sources],
        "outputs": outputs,
    }


def _sql(step: Step, dialect: str) -> JsonDict:
    """The INSERT … SELECT … JOIN that computes ``step``'s column lineage."""
    alias = {t: f"s{i}" for i, t in enumerate(t for t in step.sources if t.columns)}
    first, *rest = alias
    select = ",\n    ".join(
        " + ".join(f"{alias[t]}.{c}" for t, c in ins) + f" AS {out}" for out, ins in step.lineage
    )
    joins = "".join(f"\nLEFT JOIN {t.name} AS {alias[t]} ON s0.id = {alias[t]}.id" for t in rest)
    target = step.target.name if step.target else "dual"
    columns = ", ".join(out for out, _ in step.lineage)
    where = f"s0.{step.lineage[0][1][0][1]} IS NOT NULL"
    query = f"INSERT INTO {target} ({columns})\nSELECT\n    {select}\nFROM {first.name} AS s0{joins}"
    query += f"\nWHERE {where}"
    return _facet("SQLJobFacet", query=query, dialect=dialect)


# --------------------------------------------------------------------------- shared state


def _iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def _run_id(rng: random.Random) -> str:
    """A random (version 4) UUID drawn from ``rng``, so it is reproducible."""
    value = (rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _columns(rng: random.Random, count: int) -> Columns:
    out = {"id": "bigint"}
    while len(out) < count:
        (suffix, kind), word = rng.choice(_SUFFIXES), rng.choice(_WORDS)
        name = f"{word}_{suffix}"
        out[name if name not in out else f"{name}_{len(out)}"] = kind
    return tuple(out.items())


def _pool_table(pool: str, index: int, columns: Columns) -> Table:
    word = _WORDS[index % len(_WORDS)]
    if pool == "pg":
        db = ("shop", "billing", "crm")[index % 3]
        return Table(
            f"postgres://pg-{db}-{index % 2 + 1}.internal:5432", f"{db}.public.{word}s_{index:03d}", columns
        )
    if pool == "lake":
        return Table("s3://acme-datalake-raw", f"warehouse/raw/{word}_events_{index:03d}", columns)
    if pool == "snow":
        return Table(_SNOWFLAKE, f"RAW.SRC_{index % 5}.{word.upper()}S_{index:03d}", columns)
    if pool == "kafka":
        return Table(_KAFKA, f"{word}.events.v{index:03d}", columns, "TOPIC")
    return Table("postgres://pg-shop-1.internal:5432", "shop.public.customers", columns)


class _Context:
    """What the groups of one workload share: spec, clock, source tables, node counts."""

    def __init__(self, spec: WorkloadSpec) -> None:
        self.spec = spec
        self.ms = _EPOCH_MS
        self.counts: Counter[str] = Counter()
        self._tables: dict[tuple[str, int], Table] = {}
        self._pool_keys: set[str] = set()
        self._shared: set[str] = set()
        self._group: set[str] = set()
        self._group_id = ""

    def rng(self, *parts: object) -> random.Random:
        """A generator of its own per ``parts``: no group depends on the draws of another."""
        return random.Random("/".join(map(str, (self.spec.seed, *parts))))

    def tick(self, rng: random.Random, most_ms: int = 2_000) -> str:
        """The next event time (strictly after the previous one)."""
        self.ms += rng.randint(1, most_ms)
        return _iso(self.ms)

    def advance(self, ms: int) -> str:
        """The event time exactly ``ms`` after the previous one (periodic events)."""
        self.ms += ms
        return _iso(self.ms)

    def pool(self, name: str, rng: random.Random) -> Table:
        """A source table of pool ``name``, built on first use; pools grow with ``nodes``."""
        low, high, per = _POOLS[name]
        index = rng.randrange(max(4, min(250, int(self.spec.nodes**0.5) // per))) if per else 0
        table = self._tables.get((name, index))
        if table is None:
            width = self.rng("width", name, index).randint(low, high)
            table = _pool_table(name, index, _columns(self.rng("pool", name, index), width))
            self._tables[(name, index)] = table
            self._pool_keys.add(table.key)
        return table

    def pools(self, name: str, rng: random.Random, most: int) -> tuple[Table, ...]:
        """1 to ``most`` distinct source tables of pool ``name``."""
        return tuple(dict.fromkeys(self.pool(name, rng) for _ in range(rng.randint(1, most))))

    def count(self, unit: Unit) -> None:
        """Count the unit's new nodes: private keys repeat only within a group, shared ones anywhere."""
        if unit.group != self._group_id:
            self._group.clear()
            self._group_id = unit.group
        for event in unit.events:
            for key, dataset in _event_keys(event):
                shared = dataset in self._pool_keys or key.startswith(("namespace:", "owner:"))
                seen = self._shared if shared else self._group
                if key not in seen:
                    seen.add(key)
                    self.counts[key.split(":", 1)[0]] += 1

    @property
    def nodes(self) -> int:
        """Distinct nodes counted so far."""
        return sum(self.counts.values())


def _derive(rng: random.Random, sources: Sequence[Table], target: Table, width: int, fan: int = 2) -> Step:
    """A step writing ``target`` with ``width`` columns, each computed from 1 to ``fan`` source columns."""
    candidates = [(t, c) for t in sources for c in t.columns]
    columns: dict[str, str] = {}
    lineage = []
    for index in range(width):
        ins = rng.sample(
            candidates, k=min(1 if fan == 1 or rng.random() < 0.7 else rng.randint(2, fan), len(candidates))
        )
        base, kind = ins[0][1]
        name = base if base not in columns else f"{base}_{index}"
        columns[name] = kind if len(ins) == 1 else "double"
        lineage.append((name, tuple((t, c[0]) for t, c in ins)))
    return Step({}, tuple(sources), replace(target, columns=tuple(columns.items())), tuple(lineage))


def _run(
    ctx: _Context, rng: random.Random, step: Step, run_facets: JsonDict, end: str = "COMPLETE"
) -> list[JsonDict]:
    """START and COMPLETE (or FAIL, with an error message) of one run of ``step``."""
    run_id = _run_id(rng)
    step = replace(step, rows=rng.randint(1_000, 5_000_000) if step.target and step.target.columns else 0)
    start = _event("START", ctx.tick(rng), run_id, run_facets, step, final=False)
    if end == "FAIL":
        message = "psycopg2.errors.SerializationFailure: could not serialize access due to concurrent update"
        error = _facet("ErrorMessageRunFacet", message=message, programmingLanguage="python")
        run_facets = {**run_facets, "errorMessage": error}
    return [start, _event(end, ctx.tick(rng, 600_000), run_id, run_facets, step, final=True)]


def _orchestrated(
    ctx: _Context, rng: random.Random, parent: JsonDict, steps: Sequence[Step], engine: JsonDict
) -> list[JsonDict]:
    """A parent run (DAG run, dbt invocation, Spark application) around one run per step."""
    parent_id, nominal = _run_id(rng), ctx.ms - ctx.ms % 3_600_000 + 3_600_000
    facets = {
        "nominalTime": _facet("NominalTimeRunFacet", nominalStartTime=_iso(nominal)),
        "processing_engine": engine,
    }
    fail_at = rng.randrange(len(steps)) if rng.random() < 0.03 else -1
    events = [_event("START", ctx.tick(rng), parent_id, facets, Step(parent), final=False)]
    for index, step in enumerate(steps):
        child = {"parent": _parent(parent_id, parent), **facets}
        events += _run(ctx, rng, step, child, "FAIL" if index == fail_at else "COMPLETE")
        if index == fail_at:
            break
    end = "FAIL" if fail_at >= 0 else "COMPLETE"
    return [*events, _event(end, ctx.tick(rng), parent_id, facets, Step(parent), final=True)]


# --------------------------------------------------------------------------- the kinds


def _airflow(ctx: _Context, g: int) -> Iterator[Unit]:
    """A DAG of 3-10 tasks, each reading the previous task's table, run 1-4 times."""
    rng = ctx.rng("airflow", g)
    dag, team = f"{rng.choice(_WORDS)}_{rng.choice(_VERBS)}_{g:05d}", rng.choice(_TEAMS)
    steps: list[Step] = []
    for index in range(rng.randint(3, 10)):
        task = f"{('extract', 'transform', 'load')[min(index, 2)]}_{rng.choice(_WORDS)}_{index:02d}"
        sources = _after(steps) or ctx.pools("pg", rng, 2)
        if steps and rng.random() < 0.3:
            sources = (*sources, ctx.pool("pg", rng))
        target = Table(_WAREHOUSE, f"analytics.{'staging' if index < 2 else 'marts'}.{dag}_{task}")
        step = _derive(rng, sources, target, rng.randint(5, 40))
        steps.append(
            replace(step, job=_job("airflow", f"{dag}.{task}", "TASK", team, sql=_sql(step, "postgres")))
        )
    yield from _repeat(
        ctx, ("airflow", g), _job("airflow", dag, "DAG", team, parent=True), steps, rng.randint(1, 4)
    )


def _after(steps: Sequence[Step]) -> tuple[Table, ...]:
    """What the next step of a chain reads first: the previous step's table (nothing at the start)."""
    return (steps[-1].target,) if steps and steps[-1].target else ()


def _repeat(
    ctx: _Context, group: tuple[str, int], parent: JsonDict, steps: Sequence[Step], runs: int
) -> Iterator[Unit]:
    """``runs`` parent runs of the same steps, one unit each."""
    chain = (steps[0].sources[0].key, *(s.target.key for s in steps if s.target))
    for run in range(runs):
        events = _orchestrated(ctx, ctx.rng(*group, run), parent, steps, _engine(group[0]))
        yield Unit(f"{group[0]}-{group[1]}", events, chain)


def _dbt(ctx: _Context, g: int) -> Iterator[Unit]:
    """A project whose models form a chain of ``chain_depth``, invoked 1-3 times."""
    rng = ctx.rng("dbt", g)
    project, team = f"{_WORDS[g % len(_WORDS)]}_analytics_{g:05d}", rng.choice(_TEAMS)
    steps: list[Step] = []
    for index in range(ctx.spec.chain_depth):
        model = f"{'stg' if index == 0 else 'int'}_{rng.choice(_WORDS)}s_{index:02d}"
        sources = _after(steps) or ctx.pools("snow", rng, 2)
        if rng.random() < 0.15:
            sources = tuple(dict.fromkeys((*sources, ctx.pool("snow", rng))))
        target = Table(_SNOWFLAKE, f"ANALYTICS.{project.upper()}.{model.upper()}")
        step = _derive(rng, sources, target, rng.randint(5, 30))
        job = _job("dbt", f"{project}.{model}", "MODEL", team, sql=_sql(step, "snowflake"))
        steps.append(replace(step, job=job))
    invocation = _job("dbt", f"dbt-run-{project}", "JOB", team, parent=True)
    yield from _repeat(ctx, ("dbt", g), invocation, steps, rng.randint(1, 3))


def _spark(ctx: _Context, g: int) -> Iterator[Unit]:
    """An application of 1-3 actions on wide tables (sized to fit the event cap), run 1-3 times."""
    rng = ctx.rng("spark", g)
    app, team = f"{rng.choice(_WORDS)}_{rng.choice(_VERBS)}_{g:05d}", rng.choice(_TEAMS)
    steps: list[Step] = []
    for index in range(rng.randint(1, 3)):
        stage = f"{rng.choice(_WORDS)}_{('cleaned', 'joined', 'aggregated')[index]}"
        hive = ("hive://metastore.internal:9083", f"curated.{app}_{stage}")
        target = Table("s3://acme-datalake-curated", f"warehouse/{app}/{stage}", symlink=hive)
        step = _fit(rng, _after(steps) or ctx.pools("lake", rng, 2), target, int(50 * 10 ** rng.random()))
        action = f"{app}.execute_insert_into_hadoop_fs_relation_command.{stage}"
        steps.append(replace(step, job=_job("spark", action, "JOB", team)))
    app_job = _job("spark", app, "APPLICATION", team, parent=True)
    yield from _repeat(ctx, ("spark", g), app_job, steps, rng.randint(1, 3))


def _fit(rng: random.Random, sources: Sequence[Table], target: Table, width: int) -> Step:
    """``_derive`` with the widest output (up to ``width``) whose final event stays under the cap."""
    while True:
        step = _derive(rng, sources, target, width, fan=1 if width > 250 else 2)
        final = _event("COMPLETE", _iso(0), "", {}, replace(step, rows=1), final=True)
        size = len(orjson.dumps(final)) + 3_000  # room for the job and run facets
        if size <= MAX_EVENT_BYTES:
            return step
        width = int(width * MAX_EVENT_BYTES / size * 0.95)


def _ml(ctx: _Context, g: int) -> Iterator[Unit]:
    """A model trained by 2-6 pipeline runs: features → model version n → evaluation."""
    rng = ctx.rng("ml", g)
    model, team = (
        f"{rng.choice(_WORDS)}_{rng.choice(('churn', 'ranking', 'fraud'))}_{g:05d}",
        rng.choice(_TEAMS),
    )
    features_table = Table("s3://acme-ml-features", f"features/{model}/training_set")
    features = _derive(rng, ctx.pools("pg", rng, 3), features_table, rng.randint(20, 120), fan=3)
    features = replace(features, job=_job("ml", f"{model}.build_features", "TASK", team))
    holdout, metrics = (
        ctx.pool("pg", rng),
        Table("postgres://pg-ml.internal:5432", f"mlops.public.{model}_evaluation"),
    )
    pipeline = _job("ml", f"{model}.training_pipeline", "PIPELINE", team, parent=True)
    for run in range(rng.randint(2, 6)):
        version = Table("s3://acme-ml-models", f"models/{model}", type="MODEL", version=str(run + 1))
        train = Step(_job("ml", f"{model}.train", "TASK", team), (features_table,), version)
        evaluate = _derive(rng, (version, holdout), metrics, 4)
        steps = (features, train, replace(evaluate, job=_job("ml", f"{model}.evaluate", "TASK", team)))
        events = _orchestrated(ctx, ctx.rng("ml", g, run), pipeline, steps, _engine("ml"))
        yield Unit(f"ml-{g}", events, (features.sources[0].key, features_table.key, version.key, metrics.key))


def _streaming(ctx: _Context, g: int) -> Iterator[Unit]:
    """A streaming job: START, then 3-20 periodic RUNNING events with growing row counts, no end."""
    rng = ctx.rng("streaming", g)
    name, team = f"{rng.choice(_WORDS)}_{rng.choice(_VERBS)}_stream_{g:05d}", rng.choice(_TEAMS)
    if rng.random() < 0.5:
        target = Table(_KAFKA, f"{rng.choice(_WORDS)}.enriched.{g:05d}", type="TOPIC")
    else:
        target = Table("s3://acme-datalake-curated", f"iceberg/streams/{name}")
    step = _derive(rng, ctx.pools("kafka", rng, 3), target, rng.randint(5, 20))
    step = replace(step, job=_job("streaming", name, "JOB", team))
    run_id, facets = _run_id(rng), {"processing_engine": _engine("streaming")}
    events = [_event("START", ctx.tick(rng), run_id, facets, step, final=False)]
    for beat in range(1, rng.randint(3, 20) + 1):
        at = ctx.advance(60_000)
        events.append(_event("RUNNING", at, run_id, facets, replace(step, rows=beat * 60_000), final=True))
    yield Unit(f"streaming-{g}", events, (step.sources[0].key, target.key))


def _fan_out(ctx: _Context, readers: range) -> Iterator[Unit]:
    """Reports that each read the one hot table."""
    for reader in readers:
        rng = ctx.rng("fan-out", reader)
        target = Table("s3://acme-reports", f"reports/customers/report_{reader:05d}.csv", type="FILE")
        step = _derive(rng, (ctx.pool("hot", rng),), target, 8)
        name = f"report_{reader:05d}.extract_customers"
        job = _job("airflow", name, "TASK", rng.choice(_TEAMS), sql=_sql(step, "postgres"))
        events = _run(ctx, rng, replace(step, job=job), {"processing_engine": _engine("airflow")})
        yield Unit(f"fan-out-{reader}", events, (step.sources[0].key, target.key), shape=True)


def _fan_in(ctx: _Context) -> Iterator[Unit]:
    """One compaction job reading ``fan_in`` partitions."""
    rng = ctx.rng("fan-in")
    parts = range(ctx.spec.fan_in)
    sources = tuple(
        Table("s3://acme-datalake-raw", f"events/clicks/part-{i:05d}.parquet", type="FILE") for i in parts
    )
    target = Table("s3://acme-datalake-curated", "events/clicks_compacted", _columns(rng, 12))
    job = _job("spark", "lake_compaction.merge_partitions", "JOB", "team:data-eng")
    events = _run(ctx, rng, Step(job, sources, target), {"processing_engine": _engine("spark")})
    yield Unit("fan-in", events, (sources[0].key, target.key), shape=True)


_GROUPS: dict[str, Callable[[_Context, int], Iterator[Unit]]] = {
    "airflow": _airflow, "spark": _spark, "dbt": _dbt, "ml": _ml, "streaming": _streaming,
}  # fmt: skip


# --------------------------------------------------------------------------- the stream


def _schedule(ctx: _Context) -> Iterator[Iterator[Unit]]:
    """Groups in time order: the kind's groups until the target, with the shapes interleaved."""
    spec, chunk = ctx.spec, max(1, -(-ctx.spec.fan_out // 32))
    mix = list(_MIX)
    for g in itertools.count():
        if ctx.nodes >= spec.nodes and g * chunk >= spec.fan_out and not (g == 0 and spec.fan_in):
            return  # nothing owed (guards against a group that yields no unit)
        if ctx.nodes < spec.nodes:
            kind = (
                spec.kind if spec.kind != "mixed" else ctx.rng("mix", g).choices(mix, list(_MIX.values()))[0]
            )
            yield _GROUPS[kind](ctx, g)
        if g == 0 and spec.fan_in:
            yield _fan_in(ctx)
        if g * chunk < spec.fan_out:
            yield _fan_out(ctx, range(g * chunk, min((g + 1) * chunk, spec.fan_out)))


def _units(ctx: _Context) -> Iterator[Unit]:
    """The units in natural order, counted; ends at a unit boundary past the target, shapes done."""
    pending = ctx.spec.fan_out + (1 if ctx.spec.fan_in else 0)
    for group in _schedule(ctx):
        for unit in group:
            ctx.count(unit)
            pending -= unit.shape
            yield unit
            if ctx.nodes >= ctx.spec.nodes:
                if pending == 0:
                    return
                if not unit.shape:
                    break  # only the shapes are still owed


def _deliver(events: Iterable[JsonDict], spec: WorkloadSpec, stats: Counter[str]) -> Iterator[JsonDict]:
    """Delay ``disorder`` of the events by 1 to ``window`` positions; re-send ``duplicates`` of them.

    A bounded heap keyed by delivery position keeps it lazy: an event due at position
    ``i + d + 0.5`` goes out right after the event at natural position ``i + d``.
    """
    rng, order = random.Random(f"{spec.seed}/delivery"), itertools.count()
    heap: list[tuple[float, int, JsonDict]] = []
    for index, event in enumerate(events):
        delay = 0.0
        if spec.disorder and rng.random() < spec.disorder:
            delay, stats["delayed"] = rng.randint(1, spec.window) + 0.5, stats["delayed"] + 1
        heapq.heappush(heap, (index + delay, next(order), event))
        if spec.duplicates and rng.random() < spec.duplicates:
            stats["duplicated"] += 1
            heapq.heappush(
                heap, (index + rng.randint(0, spec.window) + 0.5, next(order), copy.deepcopy(event))
            )
        while heap and heap[0][0] <= index:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]


class Workload:
    """One workload's lazy event stream, and what it counted once consumed.

    ``counts``: distinct nodes by key prefix (``job``, ``dataset``, ``run``, ``field``, ...);
    ``stats``: ``events`` (distinct), ``delayed`` and ``duplicated`` deliveries.
    """

    def __init__(self, spec: WorkloadSpec) -> None:
        self.spec = spec
        self.counts: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()

    def units(self) -> Iterator[Unit]:
        """The units in natural (event time) order, before any disorder or duplicates."""
        ctx = _Context(self.spec)
        self.counts = ctx.counts
        yield from _units(ctx)

    def events(self) -> Iterator[JsonDict]:
        """The events in delivery order. Treat them as read-only."""

        def natural() -> Iterator[JsonDict]:
            for unit in self.units():
                self.stats["events"] += len(unit.events)
                yield from unit.events

        return _deliver(natural(), self.spec, self.stats)

    def lines(self) -> Iterator[bytes]:
        """The events in delivery order as compact JSON, one per line (no newline)."""
        return map(orjson.dumps, self.events())


def generate(spec: WorkloadSpec) -> Iterator[JsonDict]:
    """The events of ``spec`` in delivery order, generated lazily."""
    return Workload(spec).events()


# --------------------------------------------------------------------------- node keys


def _job_keys(ref: JsonDict) -> Iterator[tuple[str, str | None]]:
    yield f"namespace:{ref['namespace']}", None
    yield f"job:{ref['namespace']}:{ref['name']}", None


def _dataset_keys(entry: JsonDict) -> Iterator[tuple[str, str | None]]:
    key, facets = f"dataset:{entry['namespace']}:{entry['name']}", entry.get("facets", {})
    yield f"namespace:{entry['namespace']}", None
    yield key, key
    field_of = key.removeprefix("dataset:")
    for spec in facets.get("schema", {}).get("fields", []):
        yield f"field:{field_of}#{spec['name']}", key
    for ident in facets.get("symlinks", {}).get("identifiers", []):
        yield from _dataset_ref(ident)
    lineage = facets.get("columnLineage", {})
    refs = [ref for spec in lineage.get("fields", {}).values() for ref in spec["inputFields"]]
    for out in lineage.get("fields", {}):
        yield f"field:{field_of}#{out}", key
    for ref in [*refs, *lineage.get("dataset", [])]:
        source = yield from _dataset_ref(ref)
        yield f"field:{source.removeprefix('dataset:')}#{ref['field']}", source


def _dataset_ref(ref: JsonDict) -> Generator[tuple[str, str | None], None, str]:
    """The keys of a dataset named by reference (symlink, column lineage input); returns its key."""
    key = f"dataset:{ref['namespace']}:{ref['name']}"
    yield f"namespace:{ref['namespace']}", None
    yield key, key
    return key


def _event_keys(event: JsonDict) -> Iterator[tuple[str, str | None]]:
    """The keys of the nodes normalizing ``event`` upserts, each with its dataset's key if any.

    Covers the facets this module emits (docs/graph-model.md has the key formats).
    """
    job, run = event["job"], event["run"]
    run_id = run["runId"].lower()
    yield from _job_keys(job)
    for owner in job["facets"].get("ownership", {}).get("owners", []):
        yield f"owner:{owner['name']}", None
    yield f"run:{run_id}", None
    parent = run["facets"].get("parent")
    for ref in (parent, parent.get("root")) if parent else ():
        yield f"run:{ref['run']['runId'].lower()}", None
        yield from _job_keys(ref["job"])
    for role in ("inputs", "outputs"):
        for entry in event.get(role, []):
            yield from _dataset_keys(entry)
            version = entry["facets"].get("version", {}).get("datasetVersion")
            if version is None and role == "outputs":
                version = f"run:{run_id}"
            if version is not None:
                key = f"dataset:{entry['namespace']}:{entry['name']}"
                yield f"datasetVersion:{key.removeprefix('dataset:')}@{version}", key


def event_node_keys(event: JsonDict) -> set[str]:
    """The keys of the graph nodes olgraph's normalizer creates for one generated event."""
    return {key for key, _ in _event_keys(event)}


def node_keys(spec: WorkloadSpec) -> set[str]:
    """Every node key the workload creates (generates it: a 1M-node workload takes a while)."""
    return {key for unit in Workload(spec).units() for event in unit.events for key, _ in _event_keys(event)}


def lineage_anchors(spec: WorkloadSpec, depths: Sequence[int] = (1, 5, 10, 20)) -> dict[int, str]:
    """Per depth, a dataset key with at least that many lineage hops both upstream and downstream.

    Hops as olgraph's lineage counts them (dataset → job is one). Depths no chain of the
    workload reaches are left out: dbt chains give ``2 * chain_depth`` hops end to end.
    """
    found: dict[int, str] = {}
    for unit in Workload(spec).units():
        last = len(unit.chain) - 1
        for depth in depths:
            middle = (depth + 1) // 2  # 2 * middle hops upstream of it, 2 * (last - middle) downstream
            if depth not in found and 2 * (last - middle) >= depth:
                found[depth] = unit.chain[middle]
        if len(found) == len(set(depths)):
            break
    return found


# --------------------------------------------------------------------------- summary and command line


@dataclass(frozen=True, slots=True)
class Summary:
    """What a written workload holds: events, bytes, nodes by kind, event sizes."""

    spec: WorkloadSpec
    events: int
    delivered: int
    delayed: int
    duplicated: int
    bytes: int
    counts: dict[str, int]
    sizes: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        """The one-line human summary the command line prints."""
        c, spec = self.counts, self.spec
        labels = ("job", "dataset", "run", "datasetVersion", "field", "namespace", "owner")
        nodes = f"{sum(c.values())} nodes: " + ", ".join(f"{c[label]} {label}s" for label in labels)
        sizes = " ".join(f"{name} {_human(value)}" for name, value in self.sizes.items())
        delivery = f"{self.delivered} delivered: {self.delayed} delayed, {self.duplicated} duplicated"
        return (
            f"{spec.kind} seed={spec.seed}: {self.events} events ({delivery}), {_human(self.bytes)}; "
            f"{nodes}; event size {sizes}"
        )


def _human(size: int) -> str:
    if size < 1000:
        return f"{size}B"
    scaled, unit = next((size / 1000**n, u) for n, u in ((3, "GB"), (2, "MB"), (1, "KB")) if size >= 1000**n)
    return f"{scaled:.1f}{unit}"


def _percentiles(sizes: array[int]) -> dict[str, int]:
    ordered = sorted(sizes)
    if not ordered:
        return {}
    at = {"min": 0.0, "p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}
    return {name: ordered[min(len(ordered) - 1, int(q * len(ordered)))] for name, q in at.items()}


def write_ndjson(spec: WorkloadSpec, out: BinaryIO) -> Summary:
    """Write the workload to ``out`` as NDJSON, in delivery order; return its summary."""
    workload, sizes, total = Workload(spec), array("I"), 0
    for line in workload.lines():
        out.write(line + b"\n")
        sizes.append(len(line))
        total += len(line) + 1
    stats = workload.stats
    return Summary(
        spec, stats["events"], len(sizes), stats["delayed"], stats["duplicated"], total,
        dict(workload.counts), _percentiles(sizes),
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """``python bench/workloads.py --kind airflow --seed 1 --nodes 10000 --out events.ndjson``."""
    parser = argparse.ArgumentParser(description="Generate a deterministic OpenLineage workload as NDJSON.")
    parser.add_argument("--kind", choices=KINDS, default="mixed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nodes", type=int, default=10_000, help="target graph size in nodes")
    parser.add_argument("--chain-depth", type=int, default=20, help="models per dbt chain")
    parser.add_argument("--fan-out", type=int, default=0, help="jobs reading one hot table")
    parser.add_argument(
        "--fan-in", type=int, default=0, help="partitions one job reads (over ~330, its events exceed 200 KB)"
    )
    parser.add_argument("--disorder", type=float, default=0.0, help="fraction delivered late")
    parser.add_argument("--duplicates", type=float, default=0.0, help="fraction delivered twice")
    parser.add_argument("--window", type=int, default=50, help="most positions an event moves")
    parser.add_argument("--out", default="-", help="output file ('-': stdout)")
    args = parser.parse_args(argv)
    try:
        spec = WorkloadSpec(
            args.kind, args.seed, args.nodes, args.chain_depth, args.fan_out, args.fan_in,
            args.disorder, args.duplicates, args.window,
        )  # fmt: skip
    except ValueError as exc:
        parser.error(str(exc))
    if args.out == "-":
        summary = write_ndjson(spec, sys.stdout.buffer)
    else:
        with open(args.out, "wb") as out:
            summary = write_ndjson(spec, out)
    print(summary.line(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
