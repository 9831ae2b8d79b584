"""A small, realistic lineage graph used by the documentation tests.

An Airflow DAG (`etl_dag`) whose tasks load orders from Postgres into the lake and build
features; an MLflow training job that turns the features into model `churn` version 7; a
failed reporting task; a dropped legacy table; a streaming Flink job.
"""

from __future__ import annotations

from typing import Any

PRODUCER = "https://github.com/olgraph/tests"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET = {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/x.json"}

DAG_RUN = "0190b7c5-1111-7000-8000-000000000001"
LOAD_RUN = "0190b7c5-1111-7000-8000-000000000002"
FEATURES_RUN = "0190b7c5-1111-7000-8000-000000000003"
TRAIN_RUN = "0190b7c5-1111-7000-8000-000000000004"
REPORT_RUN = "0190b7c5-1111-7000-8000-000000000005"
CLEANUP_RUN = "0190b7c5-1111-7000-8000-000000000006"
STREAM_RUN = "0190b7c5-1111-7000-8000-000000000007"

ORDERS = {"namespace": "postgres://db:5432", "name": "public.orders"}
LEGACY = {"namespace": "postgres://db:5432", "name": "public.legacy_orders"}
CLEAN = {"namespace": "s3://lake", "name": "clean/orders"}
FEATURES = {"namespace": "s3://lake", "name": "features/customer"}
MODEL = {"namespace": "mlflow://tracking", "name": "churn"}


def _facet(**fields: Any) -> dict[str, Any]:
    return {**FACET, **fields}


def _schema(*columns: str) -> dict[str, Any]:
    return _facet(fields=[{"name": c, "type": "string"} for c in columns])


def _run_event(
    event_type: str, when: str, run_id: str, job: str, *, namespace: str = "airflow", **parts: Any
) -> dict[str, Any]:
    run_facets = parts.pop("run_facets", {})
    job_facets = parts.pop("job_facets", {})
    return {
        "eventType": event_type,
        "eventTime": when,
        "run": {"runId": run_id, "facets": run_facets},
        "job": {"namespace": namespace, "name": job, "facets": job_facets},
        "inputs": parts.pop("inputs", []),
        "outputs": parts.pop("outputs", []),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT,
    }


def _parent(run_id: str, job: str) -> dict[str, Any]:
    return {"parent": _facet(run={"runId": run_id}, job={"namespace": "airflow", "name": job})}


def _owners(*names: str) -> dict[str, Any]:
    return _facet(owners=[{"name": n, "type": "MAINTAINER"} for n in names])


def _load_orders() -> list[dict[str, Any]]:
    orders = {
        **ORDERS,
        "facets": {
            "schema": _schema("id", "customer_id", "amount", "status"),
            "ownership": _owners("team:sales"),
            "tags": _facet(tags=[{"key": "pii", "value": "true", "source": "MANUAL"}]),
        },
    }
    direct = {"type": "DIRECT", "subtype": "IDENTITY"}
    lineage = _facet(
        fields={
            c: {"inputFields": [{**ORDERS, "field": c, "transformations": [direct]}]}
            for c in ("customer_id", "amount")
        },
        dataset=[
            {**ORDERS, "field": "status", "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}]}
        ],
    )
    clean = {
        **CLEAN,
        "facets": {
            "schema": _schema("customer_id", "amount"),
            "columnLineage": lineage,
            "symlinks": _facet(
                identifiers=[
                    {"namespace": "hive://metastore", "name": "warehouse.clean_orders", "type": "TABLE"}
                ]
            ),
            "ownership": _owners("team:data-eng"),
        },
    }
    job_facets = {
        "sql": _facet(
            query="INSERT INTO clean.orders SELECT customer_id, amount FROM orders WHERE status = 'ok'"
        )
    }
    return [
        _run_event(
            "START",
            "2026-11-20T01:00:00Z",
            LOAD_RUN,
            "etl_dag.load_orders",
            run_facets=_parent(DAG_RUN, "etl_dag"),
            job_facets=job_facets,
            inputs=[orders],
        ),
        _run_event(
            "COMPLETE",
            "2026-11-20T01:05:00Z",
            LOAD_RUN,
            "etl_dag.load_orders",
            run_facets=_parent(DAG_RUN, "etl_dag"),
            job_facets=job_facets,
            inputs=[orders],
            outputs=[clean],
        ),
    ]


def _features_and_model() -> list[dict[str, Any]]:
    features = {**FEATURES, "facets": {"ownership": _owners("team:ml")}}
    model = {
        **MODEL,
        "facets": {
            "datasetType": _facet(datasetType="MODEL"),
            "version": _facet(datasetVersion="7"),
            "ownership": _owners("team:ml"),
        },
    }
    return [
        _run_event(
            "COMPLETE",
            "2026-11-20T01:20:00Z",
            FEATURES_RUN,
            "etl_dag.build_features",
            run_facets=_parent(DAG_RUN, "etl_dag"),
            inputs=[CLEAN],
            outputs=[features],
        ),
        _run_event(
            "START", "2026-11-20T02:00:00Z", TRAIN_RUN, "train_churn", namespace="mlflow", inputs=[FEATURES]
        ),
        _run_event(
            "COMPLETE",
            "2026-11-20T02:30:00Z",
            TRAIN_RUN,
            "train_churn",
            namespace="mlflow",
            inputs=[FEATURES],
            outputs=[model],
        ),
    ]


def _failures_drops_streams() -> list[dict[str, Any]]:
    error = {"errorMessage": _facet(message="division by zero", programmingLanguage="python")}
    drop = {**LEGACY, "facets": {"lifecycleStateChange": _facet(lifecycleStateChange="DROP")}}
    stream_type = {"jobType": _facet(processingType="STREAMING", integration="FLINK", jobType="JOB")}
    return [
        _run_event("START", "2026-11-20T01:00:00Z", DAG_RUN, "etl_dag"),
        _run_event(
            "FAIL",
            "2026-11-20T03:00:00Z",
            REPORT_RUN,
            "etl_dag.report",
            run_facets={**_parent(DAG_RUN, "etl_dag"), **error},
            inputs=[CLEAN],
        ),
        _run_event(
            "COMPLETE",
            "2026-11-19T00:00:00Z",
            "0190b7c5-1111-7000-8000-000000000008",
            "legacy_export",
            inputs=[LEGACY],
        ),
        _run_event("COMPLETE", "2026-11-20T04:00:00Z", CLEANUP_RUN, "cleanup", outputs=[drop]),
        _run_event(
            "RUNNING",
            "2026-11-20T05:00:00Z",
            STREAM_RUN,
            "orders_stream",
            namespace="flink",
            job_facets=stream_type,
            inputs=[ORDERS],
        ),
    ]


def _declared_feeds() -> list[dict[str, Any]]:
    """A JobEvent declaring that the report job feeds a publishing job (job-to-job lineage)."""
    entry = {
        "type": "JOB",
        "namespace": "airflow",
        "name": "etl_dag.publish",
        "inputs": [{"type": "JOB", "namespace": "airflow", "name": "etl_dag.report"}],
    }
    return [
        {
            "eventTime": "2026-11-20T06:00:00Z",
            "job": {
                "namespace": "airflow",
                "name": "etl_dag.publish",
                "facets": {"lineage": _facet(entries=[entry])},
            },
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT.replace("RunEvent", "JobEvent"),
        }
    ]


def example_events() -> list[dict[str, Any]]:
    """Every event of the example graph, in a natural order."""
    return [*_load_orders(), *_features_and_model(), *_failures_drops_streams(), *_declared_feeds()]
