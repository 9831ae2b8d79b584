"""The generators of each kind of group (Airflow DAGs, Spark applications, dbt projects, ML
pipelines, streaming jobs) and of the fan-out and fan-in shapes, with the state they share.

Each generator yields the ``Unit``s of one group; ``_GROUPS`` maps a kind to its generator.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import orjson
from _workload_events import _engine, _event, _facet, _iso, _job, _parent, _run_id, _sql
from _workload_keys import _event_keys
from _workload_model import MAX_EVENT_BYTES, Columns, JsonDict, Step, Table, Unit, WorkloadSpec

_EPOCH_MS = 1_714_521_600_000  # 2024-05-01T00:00:00Z
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
_POOLS = {
    "pg": (6, 30, 4),
    "lake": (50, 500, 20),
    "snow": (5, 30, 4),
    "kafka": (5, 15, 4),
    "hot": (12, 12, 0),
}
"""Source-table pools: (fewest columns, most columns, tables per 1/sqrt(nodes); 0: one table)."""


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
