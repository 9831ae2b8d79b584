"""dbt, unmodified: ``dbt-ol run`` and ``dbt-ol test`` (openlineage-dbt 1.54.0 around dbt-core 1.10
with dbt-duckdb) on a small project (``dbt_shop/``): a source, a chain of three models and three
data tests, one of which fails on purpose. The client is configured only through
openlineage-python's documented variables (``OPENLINEAGE__TRANSPORT__*``): a composite transport
sending each event over HTTP (gzip, API key) to ``olgraph serve`` and to ``olgraph api`` (→ Kafka
→ ``olgraph consume`` → Neo4j), and with its Kafka transport (confluent-kafka) straight onto the
distributed deployment's topic. Both deployments must hold the same, hand-checked graph, read
through their public query routes.

dbt-core 1.11+ needs a parser wheel that its build downloads from outside the package registries,
so 1.10 is what installs here. dbt-ol reports sources and models as inputs (seeds would not be),
hence a source table created in DuckDB beforehand. Run ids and times are dbt-ol's own, so runs
are found through their jobs. Every expectation was worked out by hand from the project.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from producer_graph import Graph
from producer_kafka import Distributed
from producer_support import (
    INGEST,
    PROVISION_TIMEOUT,
    field_key,
    producer_env,
    python_env,
    run_logged,
)

pytestmark = [
    pytest.mark.producers,
    pytest.mark.kafka,
    pytest.mark.neo4j,
    pytest.mark.timeout(PROVISION_TIMEOUT),
]

REQUIREMENTS = ["dbt-core==1.10.*", "dbt-duckdb==1.10.*", "openlineage-dbt==1.54.0", "confluent-kafka"]
PROJECT = Path(__file__).parent / "dbt_shop"
RAW_ORDERS = """
create schema raw;
create table raw.orders as select * from (values
  (1, 10, 15.0, 'paid'), (2, 10, 12.5, 'paid'), (3, 11, 7.0, 'refunded'), (4, 12, 30.0, 'paid')
) t(order_id, customer_id, amount, status);
"""
NS = "dbt"  # dbt-ol's default job namespace
SCHEMAS: dict[str, dict[str, str | None]] = {
    # dbt-ol reports the columns the project declares (schema.yml), without types (none declared)
    "raw.orders": {"order_id": None, "customer_id": None, "amount": None, "status": None},
    "analytics.stg_orders": {"order_id": None, "customer_id": None},
    "analytics.customer_revenue": {},
    "analytics.top_customers": {},
}


@pytest.fixture(scope="module")
def dbt_run(
    served: Any, distributed: Distributed, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """``dbt-ol run`` then ``dbt-ol test``, sending to both deployments: exit codes, namespace."""
    bin_dir = python_env("dbt", REQUIREMENTS)
    work = tmp_path_factory.mktemp("dbt")
    project = work / "shop"
    shutil.copytree(PROJECT, project)
    database = work / "shop.duckdb"
    make_source = f"import duckdb, sys; duckdb.connect(sys.argv[1]).execute({RAW_ORDERS!r}).close()"
    run_logged(
        [str(bin_dir / "python"), "-c", make_source, str(database)], work / "source.log", producer_env(), work
    )
    transports: dict[str, str] = {}
    for name, url in (("SERVE", served.url), ("API", distributed.api_url)):
        prefix = f"OPENLINEAGE__TRANSPORT__TRANSPORTS__{name}__"
        transports |= {
            f"{prefix}TYPE": "http",
            f"{prefix}URL": url,
            f"{prefix}COMPRESSION": "gzip",
            f"{prefix}AUTH": json.dumps({"type": "api_key", "apiKey": INGEST.secret}),
        }
    kafka = distributed.python_kafka_transport()
    transports |= {
        "OPENLINEAGE__TRANSPORT__TRANSPORTS__KAFKA__TYPE": "kafka",
        "OPENLINEAGE__TRANSPORT__TRANSPORTS__KAFKA__TOPIC": kafka["topic"],
        "OPENLINEAGE__TRANSPORT__TRANSPORTS__KAFKA__CONFIG": json.dumps(kafka["config"]),
    }
    env = producer_env(
        bin_dir,
        SHOP_DUCKDB=str(database),
        OPENLINEAGE__TRANSPORT__TYPE="composite",
        OPENLINEAGE__TRANSPORT__CONTINUE_ON_FAILURE="false",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        **transports,
    )
    args = ["--project-dir", str(project), "--profiles-dir", str(project)]
    codes = {
        command: subprocess_run(
            [str(bin_dir / "dbt-ol"), command, *args], project, env, work / f"{command}.log"
        )
        for command in ("run", "test")
    }
    served.wait_applied()
    distributed.wait_consumed()
    return {"codes": codes, "namespace": f"duckdb://{database}", "served": served, "distributed": distributed}


def subprocess_run(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> int:
    """Run ``argv`` with its output in ``log``; its exit code."""
    with log.open("ab") as out:
        done = subprocess.run(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=600, check=False
        )
    return done.returncode


def _key(run: dict[str, Any], name: str) -> str:
    return f"dataset:{run['namespace']}:shop.{name}"


@pytest.fixture(params=["serve", "distributed"])
def graph(request: pytest.FixtureRequest, dbt_run: dict[str, Any]) -> Graph:
    """The graph of ``olgraph serve`` (embedded store), then of ``olgraph api`` (Neo4j)."""
    return dbt_run["served" if request.param == "serve" else request.param].graph  # type: ignore[no-any-return]


def test_dbt_ol_run_succeeds_and_test_reports_the_failing_test(dbt_run: dict[str, Any]) -> None:
    assert dbt_run["codes"] == {"run": 0, "test": 1}  # the accepted_values test fails on purpose
    requests = dbt_run["served"].proxy.requests
    assert len(requests) == 12  # 8 events for run (2 per model, 2 for the invocation), 4 for test
    assert {(r.path, r.status, r.headers["content-encoding"]) for r in requests} == {
        ("/api/v1/lineage", 201, "gzip")
    }
    assert {r.headers["authorization"] for r in requests} == {f"Bearer {INGEST.secret}"}


def test_each_event_reached_kafka_through_olgraph_api_and_the_kafka_transport(
    dbt_run: dict[str, Any],
) -> None:
    dbt_run["distributed"].check_messages(events=12)


def test_models_lineage_is_the_chain_from_the_source(dbt_run: dict[str, Any], graph: Graph) -> None:
    orders, stg, revenue, top = (
        _key(dbt_run, n)
        for n in (
            "raw.orders",
            "analytics.stg_orders",
            "analytics.customer_revenue",
            "analytics.top_customers",
        )
    )
    job = f"job:{NS}:shop.analytics.shop."
    assert graph.edges(orders, "downstream") == {
        (orders, "CONSUMED_BY", f"{job}stg_orders"),
        (f"{job}stg_orders", "PRODUCES", stg),
        (stg, "CONSUMED_BY", f"{job}customer_revenue"),
        (stg, "CONSUMED_BY", f"{job}stg_orders.test"),
        (f"{job}customer_revenue", "PRODUCES", revenue),
        (revenue, "CONSUMED_BY", f"{job}top_customers"),
        (f"{job}top_customers", "PRODUCES", top),
    }
    assert {table: graph.schema(_key(dbt_run, table)) for table in SCHEMAS} == SCHEMAS


def test_model_runs_are_children_of_the_invocation_and_completed(
    dbt_run: dict[str, Any], graph: Graph
) -> None:
    [test_invocation, run_invocation] = graph.runs_of(f"job:{NS}:dbt-run-shop")  # newest first
    assert (run_invocation["state"], test_invocation["state"]) == ("COMPLETE", "FAIL")
    for model in ("stg_orders", "customer_revenue", "top_customers"):
        [run] = graph.runs_of(f"job:{NS}:shop.analytics.shop.{model}")
        detail = graph.run(run["runId"])
        assert detail["state"] == "COMPLETE"
        assert detail["parentRunId"] == run_invocation["runId"]
        assert [v["dataset"] for v in detail["outputs"]] == [_key(dbt_run, f"analytics.{model}")]
    [test_run] = graph.runs_of(f"job:{NS}:shop.analytics.shop.stg_orders.test")
    assert graph.run(test_run["runId"])["state"] == "FAIL"
    assert graph.run(test_run["runId"])["parentRunId"] == test_invocation["runId"]


def test_column_lineage_as_dbt_reports_it(dbt_run: dict[str, Any], graph: Graph) -> None:
    namespace = dbt_run["namespace"]

    def field(table: str, column: str) -> str:
        return field_key(namespace, f"shop.{table}", column)

    tables = ("raw.orders", "analytics.stg_orders", "analytics.customer_revenue", "analytics.top_customers")
    # dbt-ol 1.54 reports which column feeds which, without transformation types
    assert graph.column_edges(*(_key(dbt_run, t) for t in tables)) == {
        ("DERIVES", field("raw.orders", c), field("analytics.stg_orders", c)): []
        for c in ("order_id", "customer_id", "amount")
    } | {
        (
            "DERIVES",
            field("analytics.stg_orders", "customer_id"),
            field("analytics.customer_revenue", "customer_id"),
        ): [],
        (
            "DERIVES",
            field("analytics.stg_orders", "amount"),
            field("analytics.customer_revenue", "revenue"),
        ): [],
        (
            "DERIVES",
            field("analytics.customer_revenue", "customer_id"),
            field("analytics.top_customers", "customer_id"),
        ): [],
        (
            "DERIVES",
            field("analytics.customer_revenue", "revenue"),
            field("analytics.top_customers", "revenue"),
        ): [],
    }


def test_test_results_are_data_quality_assertions_on_the_dataset(
    dbt_run: dict[str, Any], graph: Graph
) -> None:
    stg = graph.dataset(_key(dbt_run, "analytics.stg_orders"))
    # customer 12's paid order is the one row outside the accepted values (10, 11)
    expected = [
        {
            "assertion": "accepted_values",
            "column": "customer_id",
            "success": False,
            "name": "accepted_values_stg_orders_customer_id__False__10__11",
            "actual": "1",
        },
        {
            "assertion": "not_null",
            "column": "order_id",
            "success": True,
            "name": "not_null_stg_orders_order_id",
            "actual": "0",
        },
        {
            "assertion": "unique",
            "column": "order_id",
            "success": True,
            "name": "unique_stg_orders_order_id",
            "actual": "0",
        },
    ]
    expected = [a | {"expected": "0", "params": {}, "severity": "error"} for a in expected]
    assert stg["facets"]["dataQualityAssertions"]["assertions"] == expected
    # the dataset's quality: the newest data-quality facets a run gave for it, and whose
    assert stg["quality"]["job"] == f"job:{NS}:shop.analytics.shop.stg_orders.test"
    assert stg["quality"]["assertions"] == expected
