"""Airflow, unmodified: Airflow 3.3.2 with ``apache-airflow-providers-openlineage`` 2.20 (and the
postgres provider), configured only by the provider's documented ``AIRFLOW__OPENLINEAGE__*``
settings: a namespace and a composite transport sending each event over HTTP (gzip, API key) to
``olgraph serve`` and to ``olgraph api`` (→ Kafka → ``olgraph consume`` → Neo4j), and with the
client's Kafka transport (confluent-kafka) straight onto the distributed deployment's topic.
Both deployments must hold the same graph, read through their public query routes.

The DAG (``airflow_dags/shop_orders.py``) runs SQL on a private PostgreSQL cluster (Debian's)
and a Python task with Asset inlets and outlets. It runs under the scheduler, as in production:
``airflow scheduler`` with the LocalExecutor, ``airflow dag-processor`` and ``airflow
api-server`` (the tasks report to it), all on loopback, the metadata database in the same
PostgreSQL cluster. (``airflow dags test`` would be quicker but sends no DAG-run START, and runs
every task in one process, so later tasks re-send earlier tasks' SQL: docs/producers.md.)
Every expectation was worked out by hand from the DAG.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from producer_graph import Graph
from producer_kafka import Distributed
from producer_support import (
    INGEST,
    PROVISION_TIMEOUT,
    Postgres,
    field_key,
    postgres_cluster,
    producer_env,
    python_env,
    run_logged,
    wait_for,
)

from olgraph.devservices._common import choose_port, tail

pytestmark = [
    pytest.mark.producers,
    pytest.mark.kafka,
    pytest.mark.neo4j,
    pytest.mark.timeout(PROVISION_TIMEOUT),
]

REQUIREMENTS = [
    "apache-airflow==3.3.2",
    "apache-airflow-providers-openlineage==2.20.*",
    "apache-airflow-providers-postgres",
    "confluent-kafka",  # for the client's Kafka transport
]
EVENTS = 8  # the DAG run's START and COMPLETE, and each task's
DAGS = Path(__file__).parent / "airflow_dags"
NS = "airflow-shop"
DAG = f"job:{NS}:shop_orders"
TASKS = ("build_daily_revenue", "add_refunds", "export_revenue")
ORDERS = """
CREATE TABLE public.orders (
  order_id int, customer_id int, amount numeric(12,2), status text, ordered_at date
);
INSERT INTO public.orders VALUES
  (1, 10, 15.0, 'paid', '2026-11-20'), (2, 10, 12.5, 'paid', '2026-11-20'),
  (3, 11, 7.0, 'refunded', '2026-11-21'), (4, 12, 30.0, 'paid', '2026-11-21');
"""
RUN_TIMEOUT = 600.0
SCHEMAS = {  # PostgreSQL's type names (udt_name), read by the provider from information_schema
    "orders": {
        "order_id": "int4",
        "customer_id": "int4",
        "amount": "numeric",
        "status": "text",
        "ordered_at": "date",
    },
    "daily_revenue": {"day": "date", "revenue": "numeric"},
}


@dataclass(frozen=True)
class AirflowRun:
    """What the scenario produced: where the SQL ran and the export went."""

    pg_namespace: str
    export_file: Path

    def table(self, name: str) -> str:
        return f"dataset:{self.pg_namespace}:shop.public.{name}"

    @property
    def export(self) -> str:
        return f"dataset:file:{self.export_file}"


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with postgres_cluster(["airflow", "shop"]) as cluster:
        cluster.psql("shop", ORDERS)
        yield cluster


@pytest.fixture(scope="module")
def airflow_run(
    served: Any, distributed: Distributed, postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> AirflowRun:
    bin_dir = python_env("airflow", REQUIREMENTS)
    work = tmp_path_factory.mktemp("airflow")
    shutil.copytree(DAGS, work / "dags")
    export_file = work / "export" / "daily_revenue.csv"
    api_port = choose_port(18080)  # a fixed preference, or any free port
    http = {"type": "http", "compression": "gzip", "auth": {"type": "api_key", "apiKey": INGEST.secret}}
    transport = {
        "type": "composite",
        "continue_on_failure": False,
        "transports": {
            "serve": http | {"url": served.url},
            "api": http | {"url": distributed.api_url},
            "kafka": distributed.python_kafka_transport(),
        },
    }
    env = producer_env(
        bin_dir,
        AIRFLOW_HOME=str(work / "home"),
        AIRFLOW__CORE__DAGS_FOLDER=str(work / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="false",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"postgresql+psycopg2://postgres@127.0.0.1:{postgres.port}/airflow",
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(16),
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        AIRFLOW_CONN_SHOP_PG=f"postgresql://postgres@127.0.0.1:{postgres.port}/shop",
        AIRFLOW__OPENLINEAGE__NAMESPACE=NS,
        AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(transport),
        SHOP_EXPORT_URI=f"file://{export_file}",
        SHOP_REVENUE_URI=f"postgres://127.0.0.1:{postgres.port}/shop/public/daily_revenue",
    )
    run_logged([str(bin_dir / "airflow"), "db", "migrate"], work / "migrate.log", env, work, timeout=600)
    components = {
        "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(api_port)],
        "scheduler": ["scheduler", "--skip-serve-logs"],
        "dag-processor": ["dag-processor"],
    }
    processes = {}
    try:
        for name, args in components.items():
            with (work / f"{name}.log").open("wb") as log:
                processes[name] = subprocess.Popen(
                    [str(bin_dir / "airflow"), *args],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=work,
                    start_new_session=True,
                )
        wait_for(
            lambda: _dag_parsed(postgres) or _exited(processes, work), "the DAG to be parsed", RUN_TIMEOUT
        )
        run_logged([str(bin_dir / "airflow"), "dags", "unpause", "shop_orders"], work / "cli.log", env, work)
        run_logged([str(bin_dir / "airflow"), "dags", "trigger", "shop_orders"], work / "cli.log", env, work)
        state = wait_for(
            lambda: _dag_run_state(postgres) or _exited(processes, work), "the DAG run to finish", RUN_TIMEOUT
        )
        assert state == "success", _logs(work)
    finally:
        for process in processes.values():
            _stop_group(process)
    served.wait_applied()
    distributed.wait_consumed()
    return AirflowRun(f"postgres://127.0.0.1:{postgres.port}", export_file)


def _dag_parsed(postgres: Postgres) -> bool:
    return postgres.psql("airflow", "SELECT count(*) FROM dag WHERE dag_id = 'shop_orders'") == "1"


def _dag_run_state(postgres: Postgres) -> str | None:
    state = postgres.psql("airflow", "SELECT state FROM dag_run WHERE dag_id = 'shop_orders'")
    return state if state in ("success", "failed") else None


def _exited(processes: dict[str, subprocess.Popen[bytes]], work: Path) -> None:
    for name, process in processes.items():
        if process.poll() is not None:
            pytest.fail(f"airflow {name} exited with {process.returncode}:\n{_logs(work)}")


def _logs(work: Path) -> str:
    return "\n".join(f"--- {log.name}\n{tail(log, 40)}" for log in sorted(work.glob("*.log")))


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the component's process group (it forks workers), then SIGKILL what is left."""
    for sig, grace in ((signal.SIGTERM, 60), (signal.SIGKILL, 20)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


# --- what olgraph holds -------------------------------------------------------------------------------


@pytest.fixture(params=["serve", "distributed"])
def graph(
    request: pytest.FixtureRequest, airflow_run: AirflowRun, served: Any, distributed: Distributed
) -> Graph:
    """The graph of ``olgraph serve`` (embedded store), then of ``olgraph api`` (Neo4j)."""
    return served.graph if request.param == "serve" else distributed.graph


def test_every_request_was_gzipped_with_the_api_key_and_accepted(
    airflow_run: AirflowRun, served: Any
) -> None:
    requests = served.proxy.requests
    assert len(requests) == EVENTS
    assert {
        (r.path, r.status, r.headers["content-encoding"], r.headers["authorization"]) for r in requests
    } == {("/api/v1/lineage", 201, "gzip", f"Bearer {INGEST.secret}")}


def test_each_event_reached_kafka_through_olgraph_api_and_the_kafka_transport(
    airflow_run: AirflowRun, distributed: Distributed
) -> None:
    distributed.check_messages(events=EVENTS)


def test_task_runs_are_children_of_the_dag_run_which_completed(airflow_run: AirflowRun, graph: Graph) -> None:
    [dag_run] = graph.runs_of(DAG)
    dag_detail = graph.run(dag_run["runId"])
    assert dag_detail["state"] == "COMPLETE"
    assert dag_detail["startedAtSource"] == "START"  # the scheduler sends the DAG run's START
    for task in TASKS:
        [run] = graph.runs_of(f"job:{NS}:shop_orders.{task}")
        detail = graph.run(run["runId"])
        assert (detail["state"], detail["parentRunId"]) == ("COMPLETE", dag_run["runId"]), task
        assert dag_detail["startedAt"] <= detail["startedAt"] <= detail["endedAt"] <= dag_detail["endedAt"]
    assert graph.job(f"job:{NS}:shop_orders.{TASKS[0]}")["parent"]["id"] == DAG


def test_tables_from_the_sql_and_assets_from_the_python_task(airflow_run: AirflowRun, graph: Graph) -> None:
    orders, revenue, export = (
        airflow_run.table("orders"),
        airflow_run.table("daily_revenue"),
        airflow_run.export,
    )
    build, refunds, export_task = (f"job:{NS}:shop_orders.{task}" for task in TASKS)
    assert graph.edges(orders, "downstream") == {
        (orders, "CONSUMED_BY", build),
        (build, "PRODUCES", revenue),
        (orders, "CONSUMED_BY", refunds),
        (refunds, "PRODUCES", revenue),
        (revenue, "CONSUMED_BY", export_task),
        (export_task, "PRODUCES", export),
    }
    assert graph.job(build)["sql"] == (
        "CREATE TABLE public.daily_revenue AS SELECT ordered_at AS day, SUM(amount) AS revenue "
        "FROM public.orders WHERE status = 'paid' GROUP BY ordered_at"
    )


def test_columns_from_the_sql(airflow_run: AirflowRun, graph: Graph) -> None:
    namespace = airflow_run.pg_namespace
    orders, revenue = airflow_run.table("orders"), airflow_run.table("daily_revenue")
    assert graph.schema(orders) == SCHEMAS["orders"]
    assert graph.schema(revenue) == SCHEMAS["daily_revenue"]

    def field(table: str, column: str) -> str:
        return field_key(namespace, f"shop.public.{table}", column)

    # the provider's SQL parser (openlineage-sql 1.54) names the columns, without transformation types
    assert graph.column_edges(orders, revenue) == {
        ("DERIVES", field("orders", "ordered_at"), field("daily_revenue", "day")): [],
        ("DERIVES", field("orders", "amount"), field("daily_revenue", "revenue")): [],
    }
