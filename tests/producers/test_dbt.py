"""dbt, unmodified: ``dbt-ol run`` and ``dbt-ol test`` (openlineage-dbt 1.54.0 around dbt-core 1.10
with dbt-duckdb) on a small project (``dbt_shop/``): a source, a chain of three models and three
data tests, one of which fails on purpose. The client is configured only through
openlineage-python's documented variables (``OPENLINEAGE__TRANSPORT__*``: HTTP, gzip, API key).

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
from producer_support import (
    INGEST,
    PROVISION_TIMEOUT,
    derives,
    field_key,
    producer_env,
    python_env,
    run_logged,
)

pytestmark = [pytest.mark.producers, pytest.mark.timeout(PROVISION_TIMEOUT)]

REQUIREMENTS = ["dbt-core==1.10.*", "dbt-duckdb==1.10.*", "openlineage-dbt==1.54.0"]
PROJECT = Path(__file__).parent / "dbt_shop"
RAW_ORDERS = """
create schema raw;
create table raw.orders as select * from (values
  (1, 10, 15.0, 'paid'), (2, 10, 12.5, 'paid'), (3, 11, 7.0, 'refunded'), (4, 12, 30.0, 'paid')
) t(order_id, customer_id, amount, status);
"""
NS = "dbt"  # dbt-ol's default job namespace


@pytest.fixture(scope="module")
def dbt_run(served: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``dbt-ol run`` then ``dbt-ol test`` against the module's server; their exit codes and the namespace."""
    bin_dir = python_env("dbt", REQUIREMENTS)
    work = tmp_path_factory.mktemp("dbt")
    project = work / "shop"
    shutil.copytree(PROJECT, project)
    database = work / "shop.duckdb"
    make_source = f"import duckdb, sys; duckdb.connect(sys.argv[1]).execute({RAW_ORDERS!r}).close()"
    run_logged(
        [str(bin_dir / "python"), "-c", make_source, str(database)], work / "source.log", producer_env(), work
    )
    env = producer_env(
        bin_dir,
        SHOP_DUCKDB=str(database),
        OPENLINEAGE__TRANSPORT__TYPE="http",
        OPENLINEAGE__TRANSPORT__URL=served.url,
        OPENLINEAGE__TRANSPORT__COMPRESSION="gzip",
        OPENLINEAGE__TRANSPORT__AUTH=json.dumps({"type": "api_key", "apiKey": INGEST.secret}),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    args = ["--project-dir", str(project), "--profiles-dir", str(project)]
    codes = {
        command: subprocess_run(
            [str(bin_dir / "dbt-ol"), command, *args], project, env, work / f"{command}.log"
        )
        for command in ("run", "test")
    }
    served.wait_applied()
    return {"codes": codes, "namespace": f"duckdb://{database}", "served": served}


def subprocess_run(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> int:
    """Run ``argv`` with its output in ``log``; its exit code."""
    with log.open("ab") as out:
        done = subprocess.run(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=600, check=False
        )
    return done.returncode


def _key(run: dict[str, Any], name: str) -> str:
    return f"dataset:{run['namespace']}:shop.{name}"


def test_dbt_ol_run_succeeds_and_test_reports_the_failing_test(dbt_run: dict[str, Any]) -> None:
    assert dbt_run["codes"] == {"run": 0, "test": 1}  # the accepted_values test fails on purpose
    requests = dbt_run["served"].proxy.requests
    assert len(requests) == 12  # 8 events for run (2 per model, 2 for the invocation), 4 for test
    assert {(r.path, r.status, r.headers["content-encoding"]) for r in requests} == {
        ("/api/v1/lineage", 201, "gzip")
    }
    assert {r.headers["authorization"] for r in requests} == {f"Bearer {INGEST.secret}"}


def test_models_lineage_is_the_chain_from_the_source(dbt_run: dict[str, Any]) -> None:
    graph = dbt_run["served"].graph
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
    assert sorted(graph.dataset(orders)["fields"]) == ["amount", "customer_id", "order_id", "status"]
    assert graph.dataset(stg)["node" if False else "fields"] is not None


def test_model_runs_are_children_of_the_invocation_and_completed(dbt_run: dict[str, Any]) -> None:
    graph = dbt_run["served"].graph
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


def test_column_lineage_as_dbt_reports_it(dbt_run: dict[str, Any]) -> None:
    namespace = dbt_run["namespace"]

    def field(table: str, column: str) -> str:
        return field_key(namespace, f"shop.{table}", column)

    # dbt-ol 1.54 reports which column feeds which, without transformation types
    assert derives(dbt_run["served"].graph.dump()) == {
        (field("raw.orders", c), field("analytics.stg_orders", c)): []
        for c in ("order_id", "customer_id", "amount")
    } | {
        (
            field("analytics.stg_orders", "customer_id"),
            field("analytics.customer_revenue", "customer_id"),
        ): [],
        (field("analytics.stg_orders", "amount"), field("analytics.customer_revenue", "revenue")): [],
        (
            field("analytics.customer_revenue", "customer_id"),
            field("analytics.top_customers", "customer_id"),
        ): [],
        (field("analytics.customer_revenue", "revenue"), field("analytics.top_customers", "revenue")): [],
    }


def test_test_results_are_data_quality_assertions_on_the_dataset(dbt_run: dict[str, Any]) -> None:
    stg = dbt_run["served"].graph.dataset(_key(dbt_run, "analytics.stg_orders"))
    assertions = stg["facets"]["dataQualityAssertions"]["assertions"]
    assert sorted((a["assertion"], a.get("column"), a["success"]) for a in assertions) == [
        ("accepted_values", "customer_id", False),
        ("not_null", "order_id", True),
        ("unique", "order_id", True),
    ]
