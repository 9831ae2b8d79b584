"""Every example query in docs/graph-model.md runs through ``POST /api/v1/cypher`` against a real
Neo4j and gives the documented answer.

The queries are read from the Markdown (each follows a ``<!-- query: NAME -->`` marker), so the
page and this test cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from example_graph import DAG_RUN, REPORT_RUN, TRAIN_RUN, example_events

from olgraph.api.app import create_app
from olgraph.config import Settings
from olgraph.ingest.parse import parse_event
from olgraph.normalize.normalizer import normalize
from olgraph.store.neo4j import Neo4jStore

DOC = Path(__file__).resolve().parents[2] / "docs" / "graph-model.md"
QUERY = re.compile(r"<!-- query: (?P<name>[\w-]+) -->.*?```cypher\n(?P<cypher>.*?)```", re.S)

CLEAN = "dataset:s3://lake:clean/orders"
ORDERS = "dataset:postgres://db:5432:public.orders"
FEATURES = "dataset:s3://lake:features/customer"
MODEL = "dataset:mlflow://tracking:churn"

pytestmark = pytest.mark.neo4j


def documented_queries() -> dict[str, str]:
    """The example queries of the graph model page, by name."""
    return {m["name"]: m["cypher"] for m in QUERY.finditer(DOC.read_text(encoding="utf-8"))}


@pytest.fixture
async def graph(
    tmp_path: Path, neo4j_uri: str, neo4j_auth: tuple[str, str] | None, clean_neo4j: None
) -> AsyncIterator[httpx.AsyncClient]:
    """The example graph in Neo4j, and a client of an olgraph app on it: every documented query
    runs through ``POST /api/v1/cypher``, the guarded endpoint analysts use."""
    user, password = neo4j_auth or (None, None)
    store = Neo4jStore(neo4j_uri, user=user, password=password)
    await store.open()
    for event in example_events():
        await store.apply(normalize(parse_event(event)))
    await store.close()
    neo4j: dict[str, Any] = {"uri": neo4j_uri, "user": user, "password": password}
    settings = Settings(data_dir=tmp_path, store={"kind": "neo4j", "neo4j": neo4j})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://olgraph.test") as client:
            yield client


async def run(client: httpx.AsyncClient, name: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of documented query ``name``, as column → value maps."""
    response = await client.post(
        "/api/v1/cypher", json={"query": documented_queries()[name], "parameters": params}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["truncated"] is False
    return [dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]]


def test_the_page_documents_at_least_ten_queries() -> None:
    assert len(documented_queries()) >= 10


async def test_downstream_of_dataset(graph: Any) -> None:
    rows = await run(graph, "downstream-of-dataset", dataset=ORDERS)
    by_node = {r["node"]: r["distance"] for r in rows}
    assert by_node["job:airflow:etl_dag.load_orders"] == 1
    assert by_node[CLEAN] == 2
    assert by_node[MODEL] == 6
    assert "job:flink:orders_stream" in by_node


async def test_upstream_of_dataset(graph: Any) -> None:
    rows = await run(graph, "upstream-of-dataset", dataset=MODEL)
    assert [(r["namespace"], r["name"]) for r in rows] == [
        ("postgres://db:5432", "public.orders"),
        ("s3://lake", "clean/orders"),
        ("s3://lake", "features/customer"),
    ]


async def test_job_reads_writes(graph: Any) -> None:
    (row,) = await run(graph, "job-reads-writes", job="job:airflow:etl_dag.load_orders")
    assert row == {"job": "etl_dag.load_orders", "reads": ["public.orders"], "writes": ["clean/orders"]}


async def test_run_that_produced_model_version(graph: Any) -> None:
    (row,) = await run(graph, "run-that-produced-model-version", model=MODEL, version="7")
    assert row["run"] == TRAIN_RUN
    assert row["state"] == "COMPLETE"
    assert row["trainedOn"] == [f"{FEATURES}@run:0190b7c5-1111-7000-8000-000000000003"]


async def test_models_trained_on_dataset(graph: Any) -> None:
    rows = await run(graph, "models-trained-on-dataset", dataset=ORDERS)
    assert rows == [{"namespace": "mlflow://tracking", "model": "churn"}]


async def test_failed_runs_last_day(graph: Any) -> None:
    rows = await run(graph, "failed-runs-last-day", since="2026-11-19T12:00:00")
    assert [(r["job"], r["run"], r["error"]) for r in rows] == [
        ("job:airflow:etl_dag.report", REPORT_RUN, "division by zero")
    ]


async def test_owners_affected(graph: Any) -> None:
    rows = await run(graph, "owners-affected", dataset=ORDERS)
    owners = {r["owner"]: set(r["assets"]) for r in rows}
    assert owners["team:data-eng"] == {CLEAN}
    assert owners["team:ml"] == {FEATURES, MODEL}


async def test_column_lineage(graph: Any) -> None:
    rows = await run(graph, "column-lineage", field="field:s3://lake:clean/orders#amount")
    assert rows == [{"dataset": ORDERS, "column": "amount", "transformations": [["DIRECT/IDENTITY"]]}]


async def test_job_hierarchy(graph: Any) -> None:
    rows = await run(graph, "job-hierarchy", parentRunId=DAG_RUN)
    assert [(r["task"], r["state"]) for r in rows] == [
        ("etl_dag.build_features", "COMPLETE"),
        ("etl_dag.load_orders", "COMPLETE"),
        ("etl_dag.report", "FAIL"),
    ]


async def test_dropped_datasets(graph: Any) -> None:
    rows = await run(graph, "dropped-datasets")
    assert rows == [
        {
            "dataset": "dataset:postgres://db:5432:public.legacy_orders",
            "droppedAt": "2026-11-20T04:00:00.000000000Z",
            "readers": ["job:airflow:legacy_export"],
        }
    ]


async def test_running_streaming_jobs(graph: Any) -> None:
    rows = await run(graph, "running-streaming-jobs")
    assert [(r["job"], r["state"]) for r in rows] == [("job:flink:orders_stream", "RUNNING")]


async def test_symlinked_tables(graph: Any) -> None:
    rows = await run(graph, "symlinked-tables", dataset=CLEAN)
    assert [r["alias"] for r in rows] == ["dataset:hive://metastore:warehouse.clean_orders", CLEAN]


async def test_tagged_pii(graph: Any) -> None:
    rows = await run(graph, "tagged-pii")
    assert rows == [{"dataset": ORDERS, "owners": ["team:sales"]}]


async def test_raw_facet(graph: Any) -> None:
    (row,) = await run(graph, "raw-facet", job="job:airflow:etl_dag.load_orders")
    assert row["sql"].startswith("INSERT INTO clean.orders")
    assert '"query":"INSERT INTO clean.orders' in row["sqlFacetJson"]


async def test_declared_feeds(graph: Any) -> None:
    rows = await run(graph, "declared-feeds")
    assert rows == [
        {"kind": "Job", "source": "job:airflow:etl_dag.report", "target": "job:airflow:etl_dag.publish"}
    ]


def test_every_documented_query_has_a_test() -> None:
    tested = {name.removeprefix("test_").replace("_", "-") for name in globals() if name.startswith("test_")}
    assert set(documented_queries()) <= tested
