"""Events of the Marquez-compatibility tests (the unit tests of olgraph.api.marquez and the
differential suite in tests/marquez), beyond the shared corpus.

Each scenario is a list of OpenLineage events in the order a producer would send them, on
namespaces of its own (``mq-…``) so that the scenarios and the corpus do not touch:

- ``column_lineage``: a Spark-like job cleaning ``raw.orders`` into ``clean.orders`` with a
  ``columnLineage`` facet (the deprecated per-column ``transformationType`` and the newer
  ``transformations`` list), then a job aggregating it into ``mart.revenue``.
- ``symlinks``: a file dataset whose ``symlinks`` facet names the metastore table it is.
- ``parent_runs``: an Airflow DAG run with two task runs (``parent`` run facets).
- ``failed_runs``: a job that completes once and fails once (``errorMessage`` facet).
- ``versions``: one job writing the same table three times, the schema growing each time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.30.0/integration/spark"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
BASE = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
Event = dict[str, Any]


def at(minute: int) -> str:
    """An eventTime ``minute`` minutes after the scenarios' base time."""
    return (BASE + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")


def run_id(scenario: int, n: int) -> str:
    """A deterministic UUID of run ``n`` of scenario ``scenario``."""
    return f"0190f000-0000-7000-8{scenario:03d}-{n:012d}"


def facet(name: str, **fields: Any) -> dict[str, Any]:
    """A facet with its ``_producer`` and ``_schemaURL``."""
    return {
        "_producer": PRODUCER,
        "_schemaURL": f"https://openlineage.io/spec/facets/1-0-1/{name}.json",
        **fields,
    }


def schema(*columns: tuple[str, str]) -> dict[str, Any]:
    """A ``schema`` facet."""
    return facet("SchemaDatasetFacet", fields=[{"name": n, "type": t} for n, t in columns])


def dataset(namespace: str, name: str, **facets: Any) -> dict[str, Any]:
    """An input or output dataset."""
    return {"namespace": namespace, "name": name, "facets": facets}


def event(
    kind: str,
    run: str,
    minute: int,
    job: tuple[str, str],
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> Event:
    """A RunEvent."""
    return {
        "eventType": kind,
        "eventTime": at(minute),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run, "facets": run_facets or {}},
        "job": {"namespace": job[0], "name": job[1], "facets": job_facets or {}},
        "inputs": inputs or [],
        "outputs": outputs or [],
    }


def _column(field: str, source: tuple[str, str], source_field: str, **legacy: str) -> dict[str, Any]:
    ref = {"namespace": source[0], "name": source[1], "field": source_field}
    if not legacy:
        ref["transformations"] = [
            {"type": "DIRECT", "subtype": "IDENTITY", "description": "", "masking": False}
        ]
    return {field: {"inputFields": [ref], **legacy}}


def column_lineage() -> list[Event]:
    """raw.orders → clean.orders → mart.revenue, with column lineage on both writes."""
    ns, job_ns = "mq-warehouse", "mq-spark"
    raw = dataset(ns, "raw.orders", schema=schema(("id", "long"), ("amount", "decimal"), ("email", "string")))
    lineage = facet(
        "ColumnLineageDatasetFacet",
        fields={
            **_column(
                "id", (ns, "raw.orders"), "id", transformationType="IDENTITY", transformationDescription="id"
            ),
            **_column("amount", (ns, "raw.orders"), "amount"),
            **_column("email_hash", (ns, "raw.orders"), "email", transformationType="MASKED"),
        },
    )
    clean = dataset(
        ns,
        "clean.orders",
        schema=schema(("id", "long"), ("amount", "decimal"), ("email_hash", "string")),
        columnLineage=lineage,
    )
    revenue_lineage = facet(
        "ColumnLineageDatasetFacet", fields=_column("total", (ns, "clean.orders"), "amount")
    )
    revenue = dataset(ns, "mart.revenue", schema=schema(("total", "decimal")), columnLineage=revenue_lineage)
    clean_run, mart_run = run_id(1, 1), run_id(1, 2)
    return [
        event("START", clean_run, 0, (job_ns, "clean_orders"), [raw], [clean]),
        event("COMPLETE", clean_run, 2, (job_ns, "clean_orders"), [raw], [clean]),
        event("START", mart_run, 5, (job_ns, "revenue"), [dataset(ns, "clean.orders")], [revenue]),
        event("COMPLETE", mart_run, 7, (job_ns, "revenue"), [dataset(ns, "clean.orders")], [revenue]),
    ]


def symlinks() -> list[Event]:
    """A job writing a file that the metastore knows as a table."""
    table = facet(
        "SymlinksDatasetFacet", identifiers=[{"namespace": "mq-hive", "name": "db.events", "type": "TABLE"}]
    )
    out = dataset("mq-s3", "lake/events", symlinks=table, schema=schema(("event", "string")))
    run = run_id(2, 1)
    return [
        event("START", run, 10, ("mq-spark", "ingest_events"), [dataset("mq-kafka", "events")], [out]),
        event("COMPLETE", run, 12, ("mq-spark", "ingest_events"), [dataset("mq-kafka", "events")], [out]),
    ]


def parent_runs() -> list[Event]:
    """An Airflow DAG run and two of its task runs."""
    dag_run, extract, load = run_id(3, 1), run_id(3, 2), run_id(3, 3)
    dag = ("mq-airflow", "daily_sales")

    def parent() -> dict[str, Any]:
        return {
            "parent": facet(
                "ParentRunFacet",
                run={"runId": dag_run},
                job={"namespace": dag[0], "name": dag[1]},
            )
        }

    staged = dataset("mq-warehouse", "staging.sales", schema=schema(("sale_id", "long")))
    return [
        event("START", dag_run, 20, dag),
        event(
            "START",
            extract,
            21,
            (dag[0], "daily_sales.extract"),
            [dataset("mq-pg", "public.sales")],
            [staged],
            parent(),
        ),
        event(
            "COMPLETE",
            extract,
            23,
            (dag[0], "daily_sales.extract"),
            [dataset("mq-pg", "public.sales")],
            [staged],
            parent(),
        ),
        event(
            "START",
            load,
            24,
            (dag[0], "daily_sales.load"),
            [staged],
            [dataset("mq-warehouse", "mart.sales")],
            parent(),
        ),
        event(
            "COMPLETE",
            load,
            26,
            (dag[0], "daily_sales.load"),
            [staged],
            [dataset("mq-warehouse", "mart.sales")],
            parent(),
        ),
        event("COMPLETE", dag_run, 27, dag),
    ]


def failed_runs() -> list[Event]:
    """One job, a completed run and then a failed one."""
    job = ("mq-spark", "score_customers")
    ok, bad = run_id(4, 1), run_id(4, 2)
    error = {
        "errorMessage": facet(
            "ErrorMessageRunFacet", message="division by zero", programmingLanguage="python"
        )
    }
    src, dst = dataset("mq-warehouse", "clean.customers"), dataset("mq-warehouse", "mart.scores")
    return [
        event("START", ok, 30, job, [src], [dst]),
        event("COMPLETE", ok, 31, job, [src], [dst]),
        event("START", bad, 40, job, [src], [dst]),
        event("FAIL", bad, 41, job, [src], [], error),
    ]


def versions() -> list[Event]:
    """Three runs of one job writing one table, the schema growing by a column each time."""
    job = ("mq-spark", "build_dim_users")
    columns = [("id", "long"), ("name", "string"), ("country", "string")]
    out: list[Event] = []
    for n in range(1, 4):
        run = run_id(5, n)
        target = dataset("mq-warehouse", "dim.users", schema=schema(*columns[:n]))
        source = dataset("mq-pg", "public.users")
        out += [
            event("START", run, 50 + 10 * n, job, [source], [target]),
            event("COMPLETE", run, 52 + 10 * n, job, [source], [target]),
        ]
    return out


def all_scenarios() -> dict[str, list[Event]]:
    """Every scenario by name, in the order they are posted."""
    return {
        "column_lineage": column_lineage(),
        "symlinks": symlinks(),
        "parent_runs": parent_runs(),
        "failed_runs": failed_runs(),
        "versions": versions(),
    }
