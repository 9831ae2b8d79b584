"""A small shop's pipeline as OpenLineage events, for the explorer's browser tests and screenshots.

Postgres tables flow through ETL jobs into a data lake, a revenue mart and a dashboard, and
into the training set the MLflow scenario trains ``churn`` on (``s3://bucket/train.parquet``),
so one graph spans ETL and ML. The events carry what the pages show: schemas with types and
descriptions, owners, column lineage, output statistics, data-quality metrics, several runs
per job (one failing with an error message and stack trace) and a dropped staging table.

Everything is deterministic (fixed run ids and times), so tests can assert exact texts.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

PRODUCER = "https://github.com/olgraph/olgraph/tests/e2e/explorer_events"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACETS = "https://openlineage.io/spec/facets/1-0-1"
JOBS = "shop"
DB = "postgres://shop-db:5432"
LAKE = "s3://lake"
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)

ORDERS = (DB, "public.orders")
CUSTOMERS = (DB, "public.customers")
CLEAN = (LAKE, "clean/orders")
STAGING = (LAKE, "tmp/orders_staging")
REVENUE = (LAKE, "marts/daily_revenue")
DASHBOARD = ("superset://bi", "dashboards/revenue")
TRAIN = ("s3://bucket", "train.parquet")

LOAD_ORDERS = "etl.load_orders"
DAILY_REVENUE = "etl.daily_revenue"
DASHBOARD_JOB = "bi.refresh_dashboard"
FEATURES = "features.build_churn_training"

OWNERS = {CLEAN: "team:data-platform", REVENUE: "team:analytics", DASHBOARD: "team:bi", TRAIN: "team:ml"}
SCHEMAS: dict[tuple[str, str], list[tuple[str, str, str]]] = {
    ORDERS: [
        ("order_id", "bigint", "primary key"),
        ("customer_id", "bigint", "who ordered"),
        ("amount", "numeric(12,2)", "total in EUR"),
        ("ordered_at", "timestamp", ""),
    ],
    CUSTOMERS: [
        ("customer_id", "bigint", "primary key"),
        ("email", "varchar", "contact address (PII)"),
        ("country", "char(2)", "ISO 3166 code"),
    ],
    CLEAN: [
        ("order_id", "long", ""),
        ("customer_id", "long", ""),
        ("amount_eur", "decimal(12,2)", "amount, checked non-negative"),
        ("country", "string", "customer's country"),
        ("order_date", "date", ""),
    ],
    REVENUE: [("order_date", "date", ""), ("country", "string", ""), ("revenue_eur", "decimal(14,2)", "")],
    DASHBOARD: [("chart", "string", "")],
    TRAIN: [("tenure", "double", ""), ("spend", "double", ""), ("churned", "int", "label")],
}
COLUMNS: dict[tuple[str, str], dict[str, list[tuple[tuple[str, str], str, str, str]]]] = {
    CLEAN: {
        "order_id": [(ORDERS, "order_id", "DIRECT", "IDENTITY")],
        "customer_id": [(ORDERS, "customer_id", "DIRECT", "IDENTITY")],
        "amount_eur": [(ORDERS, "amount", "DIRECT", "TRANSFORMATION")],
        "country": [(CUSTOMERS, "country", "DIRECT", "IDENTITY")],
        "order_date": [(ORDERS, "ordered_at", "DIRECT", "TRANSFORMATION")],
    },
    REVENUE: {
        "order_date": [(CLEAN, "order_date", "DIRECT", "IDENTITY")],
        "country": [(CLEAN, "country", "DIRECT", "IDENTITY")],
        "revenue_eur": [(CLEAN, "amount_eur", "DIRECT", "AGGREGATION")],
    },
}
SQL = {
    LOAD_ORDERS: "INSERT OVERWRITE clean.orders\nSELECT o.order_id, o.customer_id, o.amount AS amount_eur,\n"
    "       c.country, CAST(o.ordered_at AS DATE) AS order_date\nFROM public.orders o\n"
    "JOIN public.customers c USING (customer_id)\nWHERE o.amount >= 0",
    DAILY_REVENUE: "SELECT order_date, country, SUM(amount_eur) AS revenue_eur\nFROM clean.orders\n"
    "GROUP BY order_date, country",
}

# (job, inputs, outputs, runs as (day, minutes it took, failed))
PIPELINE: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]], list[tuple[int, float, bool]]]] = [
    (
        LOAD_ORDERS,
        [ORDERS, CUSTOMERS],
        [CLEAN, STAGING],
        [(0, 4.0, False), (1, 5.5, False), (2, 3.2, True), (3, 6.1, False), (4, 4.4, False)],
    ),
    (DAILY_REVENUE, [CLEAN], [REVENUE], [(0, 1.5, False), (1, 1.8, False), (4, 2.1, False)]),
    (DASHBOARD_JOB, [REVENUE], [DASHBOARD], [(4, 0.4, False)]),
    (FEATURES, [CLEAN, CUSTOMERS], [TRAIN], [(3, 9.0, False), (4, 8.2, False)]),
]
ERROR = "AnalysisException: Column 'amount' is ambiguous in JOIN of public.orders and public.customers"
FAILED_RUN = "0190b7c5-5a1e-7000-8000-000000000203"


def run_id(job: str, day: int) -> str:
    """The run id of ``job``'s run on ``day`` (fixed; the failing one is :data:`FAILED_RUN`)."""
    if job == LOAD_ORDERS and day == 2:
        return FAILED_RUN
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{PRODUCER}/{job}/{day}"))


def node_id(dataset: tuple[str, str]) -> str:
    """The explorer's (and the API's) id of a dataset."""
    return f"dataset:{dataset[0]}:{dataset[1]}"


def _facet(name: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACETS}/{name}.json", **fields}


def _dataset_facets(dataset: tuple[str, str]) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    if dataset in SCHEMAS:
        fields = [
            {"name": n, "type": t, "description": d} if d else {"name": n, "type": t}
            for n, t, d in SCHEMAS[dataset]
        ]
        facets["schema"] = _facet("SchemaDatasetFacet", fields=fields)
    if dataset in OWNERS:
        facets["ownership"] = _facet(
            "OwnershipDatasetFacet", owners=[{"name": OWNERS[dataset], "type": "TEAM"}]
        )
    if dataset in COLUMNS:
        fields = {
            column: {
                "inputFields": [
                    {
                        "namespace": src[0],
                        "name": src[1],
                        "field": field,
                        "transformations": [{"type": kind, "subtype": subtype}],
                    }
                    for src, field, kind, subtype in sources
                ]
            }
            for column, sources in COLUMNS[dataset].items()
        }
        facets["columnLineage"] = _facet("ColumnLineageDatasetFacet", fields=fields)
    return facets


def _run_event(
    job: str, day: int, state: str, at: datetime, inputs: list[Any], outputs: list[Any]
) -> dict[str, Any]:
    run_facets: dict[str, Any] = {}
    if state == "FAIL":
        run_facets["errorMessage"] = _facet(
            "ErrorMessageRunFacet",
            message=ERROR,
            programmingLanguage="python",
            stackTrace=f'Traceback (most recent call last):\n  File "load_orders.py", line 42\n'
            f"pyspark.errors.{ERROR}",
        )
    job_facets: dict[str, Any] = {
        "jobType": _facet("JobTypeJobFacet", processingType="BATCH", integration="SPARK", jobType="JOB")
    }
    if job in SQL:
        job_facets["sql"] = _facet("SQLJobFacet", query=SQL[job])
    return {
        "eventType": state,
        "eventTime": at.isoformat().replace("+00:00", "Z"),
        "run": {"runId": run_id(job, day), "facets": run_facets},
        "job": {"namespace": JOBS, "name": job, "facets": job_facets},
        "inputs": inputs,
        "outputs": outputs,
        "producer": PRODUCER,
        "schemaURL": SPEC,
    }


def shop_events() -> list[dict[str, Any]]:
    """Every event of the pipeline, in time order, then the drop of the staging table."""
    events: list[tuple[datetime, dict[str, Any]]] = []
    for index, (job, inputs, outputs, runs) in enumerate(PIPELINE):
        for day, minutes, failed in runs:
            began = START + timedelta(days=day, minutes=15 * index)
            ended = began + timedelta(minutes=minutes)
            ins = [
                {"namespace": ns, "name": name, "facets": _dataset_facets((ns, name))} for ns, name in inputs
            ]
            if job == DAILY_REVENUE:
                ins[0]["inputFacets"] = {
                    "dataQualityMetrics": _facet(
                        "DataQualityMetricsInputDatasetFacet",
                        rowCount=1200 + day,
                        columnMetrics={"amount_eur": {"nullCount": 0, "min": 0.5, "max": 912.0}},
                    )
                }
            outs = [
                {
                    "namespace": ns,
                    "name": name,
                    "facets": _dataset_facets((ns, name)),
                    "outputFacets": {
                        "outputStatistics": _facet(
                            "OutputStatisticsOutputDatasetFacet", rowCount=1000 + 100 * day, size=52_000 + day
                        )
                    },
                }
                for ns, name in outputs
            ]
            events.append((began, _run_event(job, day, "START", began, ins, [])))
            events.append((ended, _run_event(job, day, "FAIL" if failed else "COMPLETE", ended, ins, outs)))
    dropped = START + timedelta(days=5)
    drop = _run_event(
        LOAD_ORDERS,
        5,
        "COMPLETE",
        dropped,
        [],
        [
            {
                "namespace": STAGING[0],
                "name": STAGING[1],
                "facets": {
                    "lifecycleStateChange": _facet(
                        "LifecycleStateChangeDatasetFacet", lifecycleStateChange="DROP"
                    )
                },
            }
        ],
    )
    events.append((dropped, drop))
    return [event for _, event in sorted(events, key=lambda pair: pair[0])]
