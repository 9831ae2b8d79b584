"""Builders of realistic OpenLineage events for the store contract suite.

Events go through the real pipeline (``parse_event`` → ``normalize``) before they reach a
store, so the contract tests exercise exactly what production writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from olgraph.ingest import parse_event
from olgraph.normalize.mutations import Mutation
from olgraph.normalize.normalizer import normalize
from olgraph.store.base import GraphStore

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.30.0/integration/spark"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_SCHEMA = "https://openlineage.io/spec/facets/1-0-1/{name}.json#/$defs/{name}"
BASE_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

Event = dict[str, Any]


def at(minute: int) -> str:
    """The eventTime ``minute`` minutes after 2024-05-01T12:00Z, as producers write it."""
    return (BASE_TIME + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")


def stored_time(minute: int) -> str:
    """The same instant as olgraph stores it (nanosecond precision)."""
    return (BASE_TIME + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")


def run_id(n: int) -> str:
    """A deterministic UUID for run number ``n``."""
    return f"0190a1b2-c3d4-7e5f-8a6b-{n:012d}"


def facet(name: str, **fields: Any) -> dict[str, Any]:
    """A facet with the base ``_producer``/``_schemaURL`` fields."""
    return {"_producer": PRODUCER, "_schemaURL": FACET_SCHEMA.format(name=name), **fields}


def dataset(namespace: str, name: str, **facets: dict[str, Any]) -> dict[str, Any]:
    """An input or output dataset; ``facets`` maps facet name → facet (see the helpers below)."""
    return {"namespace": namespace, "name": name, "facets": facets}


def schema(*columns: str) -> dict[str, Any]:
    """A ``schema`` facet with string columns."""
    return facet("SchemaDatasetFacet", fields=[{"name": c, "type": "string"} for c in columns])


def symlink(namespace: str, name: str, kind: str = "TABLE") -> dict[str, Any]:
    """A ``symlinks`` facet naming one alias."""
    return facet("SymlinksDatasetFacet", identifiers=[{"namespace": namespace, "name": name, "type": kind}])


def owners(*names: str) -> dict[str, Any]:
    """An ``ownership`` facet."""
    return facet("OwnershipDatasetFacet", owners=[{"name": n, "type": "MAINTAINER"} for n in names])


def lifecycle(state: str) -> dict[str, Any]:
    """A ``lifecycleStateChange`` facet (``DROP``, ``OVERWRITE``…)."""
    return facet("LifecycleStateChangeDatasetFacet", lifecycleStateChange=state)


def version(value: str) -> dict[str, Any]:
    """A ``version`` dataset facet."""
    return facet("DatasetVersionDatasetFacet", datasetVersion=value)


def dataset_type(kind: str) -> dict[str, Any]:
    """A ``datasetType`` facet (``MODEL`` makes the dataset a model)."""
    return facet("DatasetTypeDatasetFacet", datasetType=kind)


def documentation(text: str) -> dict[str, Any]:
    """A ``documentation`` facet."""
    return facet("DocumentationJobFacet", description=text)


def run_event(
    event_type: str | None,
    run: int,
    minute: int,
    job: tuple[str, str] = ("etl", "load_orders"),
    inputs: Sequence[dict[str, Any]] = (),
    outputs: Sequence[dict[str, Any]] = (),
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> Event:
    """A RunEvent of run number ``run`` at ``at(minute)``."""
    event: Event = {
        "eventTime": at(minute),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": run_id(run), "facets": run_facets or {}},
        "job": {"namespace": job[0], "name": job[1], "facets": job_facets or {}},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }
    if event_type is not None:
        event["eventType"] = event_type
    return event


def mutations_of(events: Iterable[Event]) -> list[Mutation]:
    """The mutations of ``events``, in order, through the real parser and normalizer."""
    return [m for event in events for m in normalize(parse_event(event))]


async def apply_events(store: GraphStore, events: Iterable[Event], *, one_batch: bool = False) -> None:
    """Apply ``events`` to ``store``: one batch per event (as the consumer does), or all in one."""
    if one_batch:
        await store.apply(mutations_of(events))
        return
    for event in events:
        await store.apply(normalize(parse_event(event)))


def chain(
    job_index: int, source: str, target: str, run: int, minute: int, ns: str = "warehouse"
) -> list[Event]:
    """START and COMPLETE of a run of job ``step{job_index}`` reading ``source`` and writing ``target``."""
    job = ("etl", f"step{job_index}")
    src, dst = dataset(ns, source), dataset(ns, target)
    return [
        run_event("START", run, minute, job, [src], [dst]),
        run_event("COMPLETE", run, minute + 1, job, [src], [dst]),
    ]


def dataset_event(minute: int, ds: dict[str, Any]) -> Event:
    """A DatasetEvent (e.g. a ``DROP TABLE`` seen by a catalog) at ``at(minute)``."""
    return {
        "eventTime": at(minute),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA.replace("RunEvent", "DatasetEvent"),
        "dataset": ds,
    }


WAREHOUSE = "warehouse"


# ---------------------------------------------------------------- a small warehouse
#
#  raw.orders -step1-> staging.orders (= hive:db.staging_orders) -step2-> mart.revenue
#  raw.customers -step4-> staging.customers -step2
#  mart.revenue -step3-> ml:churn (Model)
#  mart.revenue -step5-> tmp.scratch (DROPPED) -step6-> report.final


def warehouse_events() -> list[Event]:
    """The events of the warehouse above, in time order."""
    wh = WAREHOUSE
    orders = dataset(wh, "staging.orders", symlinks=symlink("hive", "db.staging_orders"))
    revenue = dataset(wh, "mart.revenue", schema=schema("day", "amount"), ownership=owners("team:finance"))
    customers = dataset(wh, "staging.customers")
    model = dataset("ml", "churn", datasetType=dataset_type("MODEL"))
    spark = {"spark_properties": facet("SparkPropertiesFacet", properties={"spark.master": "local"})}
    ml_owner = {"ownership": facet("OwnershipJobFacet", owners=[{"name": "team:ml"}])}
    return [
        *chain(1, "raw.orders", "staging.orders", run=1, minute=0)[:1],
        run_event("COMPLETE", 1, 1, ("etl", "step1"), [dataset(wh, "raw.orders")], [orders]),
        *chain(4, "raw.customers", "staging.customers", run=2, minute=2),
        run_event("START", 3, 4, ("etl", "step2"), [orders, customers], [revenue], spark),
        run_event("COMPLETE", 3, 5, ("etl", "step2"), [], [revenue]),
        run_event("START", 4, 6, ("etl", "step3"), [revenue], [model], job_facets=ml_owner),
        run_event("COMPLETE", 4, 7, ("etl", "step3"), [revenue], [model], job_facets=ml_owner),
        *chain(5, "mart.revenue", "tmp.scratch", run=5, minute=8),
        *chain(6, "tmp.scratch", "report.final", run=6, minute=10),
        dataset_event(12, dataset(wh, "tmp.scratch", lifecycleStateChange=lifecycle("DROP"))),
        run_event("START", 7, 20, ("etl", "step1"), [dataset(wh, "raw.orders")], []),
    ]


TRANSFORM, REPORT = ("etl", "transform"), ("etl", "report")


def run_events() -> list[Event]:
    """Two runs of two jobs: START/RUNNING/COMPLETE with inputs, outputs and facets, a FAIL, a parent."""
    raw = dataset("warehouse", "raw.orders", schema=schema("id", "amount"))
    clean_v1 = dataset("warehouse", "clean.orders", schema=schema("id"), ownership=owners("team:a"))
    clean_v2 = dataset("warehouse", "clean.orders", schema=schema("id", "amount"), ownership=owners("team:b"))
    stats = {"outputStatistics": facet("OutputStatisticsOutputDatasetFacet", rowCount=42, size=1024)}
    clean_done = {**clean_v2, "outputFacets": stats}
    parent_job = {"namespace": "etl", "name": "transform"}
    parent = {"parent": facet("ParentRunFacet", run={"runId": run_id(1)}, job=parent_job)}
    error = facet("ErrorMessageRunFacet", message="division by zero", programmingLanguage="python")
    failed = {"errorMessage": error}
    docs = {"documentation": documentation("daily report")}
    return [
        run_event("START", 1, 0, TRANSFORM, [raw], [clean_v1]),
        run_event("RUNNING", 1, 1, TRANSFORM, [], [], {"progress": facet("ProgressFacet", pct=50)}),
        run_event("COMPLETE", 1, 3, TRANSFORM, [raw], [clean_done], job_facets=docs),
        run_event("START", 2, 2, REPORT, [dataset("warehouse", "clean.orders")], [], parent),
        run_event("FAIL", 2, 4, REPORT, [], [dataset("warehouse", "report.daily")], failed),
        run_event("START", 3, -5, REPORT, [dataset("warehouse", "clean.orders")], []),
    ]


# ---------------------------------------------------------------- column lineage
#
#  raw.orders(id, email, amount, status) -etl.clean-> clean.orders(id, email_hash, amount)
#      id -> id (DIRECT/IDENTITY), email -> email_hash (DIRECT/TRANSFORMATION, masking),
#      amount -> amount (DIRECT/IDENTITY), status => clean.orders (INDIRECT/FILTER)
#  clean.orders -mart.revenue-> mart.revenue(customer, total)
#      id -> customer (DIRECT/IDENTITY), amount -> total (DIRECT/AGGREGATION "sum(amount)"),
#      id => mart.revenue (INDIRECT/GROUP_BY)


def typed_schema(**columns: str) -> dict[str, Any]:
    """A ``schema`` facet with the given column types."""
    return facet("SchemaDatasetFacet", fields=[{"name": c, "type": t} for c, t in columns.items()])


def _input_field(name: str, field_name: str, kind: str, subtype: str, **extra: Any) -> dict[str, Any]:
    transformation = {"type": kind, "subtype": subtype, **extra}
    return {"namespace": "shop", "name": name, "field": field_name, "transformations": [transformation]}


def column_lineage_facet(
    fields: dict[str, list[dict[str, Any]]], whole: list[dict[str, Any]]
) -> dict[str, Any]:
    """A ``columnLineage`` facet: output column → its input fields; ``whole``: dataset-wide inputs."""
    return facet(
        "ColumnLineageDatasetFacet",
        fields={name: {"inputFields": inputs} for name, inputs in fields.items()},
        dataset=whole,
    )


def column_events() -> list[Event]:
    """The two jobs above, one COMPLETE each (minutes 1 and 5)."""
    raw = dataset(
        "shop", "raw.orders", schema=typed_schema(id="int", email="string", amount="decimal", status="string")
    )
    clean_lineage = column_lineage_facet(
        {
            "id": [_input_field("raw.orders", "id", "DIRECT", "IDENTITY")],
            "email_hash": [
                _input_field(
                    "raw.orders",
                    "email",
                    "DIRECT",
                    "TRANSFORMATION",
                    description="sha256(email)",
                    masking=True,
                )
            ],
            "amount": [_input_field("raw.orders", "amount", "DIRECT", "IDENTITY")],
        },
        [_input_field("raw.orders", "status", "INDIRECT", "FILTER")],
    )
    clean = dataset(
        "shop",
        "clean.orders",
        schema=typed_schema(id="int", email_hash="string", amount="decimal"),
        columnLineage=clean_lineage,
    )
    revenue_lineage = column_lineage_facet(
        {
            "customer": [_input_field("clean.orders", "id", "DIRECT", "IDENTITY")],
            "total": [
                _input_field("clean.orders", "amount", "DIRECT", "AGGREGATION", description="sum(amount)")
            ],
        },
        [_input_field("clean.orders", "id", "INDIRECT", "GROUP_BY")],
    )
    revenue = dataset(
        "shop",
        "mart.revenue",
        schema=typed_schema(customer="int", total="decimal"),
        columnLineage=revenue_lineage,
    )
    return [
        run_event("COMPLETE", 501, 1, ("shop", "etl.clean"), [raw], [clean]),
        run_event("COMPLETE", 502, 5, ("shop", "mart.revenue"), [dataset("shop", "clean.orders")], [revenue]),
    ]
