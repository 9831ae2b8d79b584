"""Spark, unmodified: pyspark 4.3.0 from PyPI in local mode with the OpenLineage Spark listener
(``io.openlineage:openlineage-spark_2.13:1.53.0`` from Maven Central), attached by spark-submit's
``--conf`` options only, as its documentation describes.

``spark/shop_revenue.py`` reads orders from CSV and customers from Parquet, joins and aggregates
them with ``CREATE TABLE … AS SELECT`` into a warehouse table, and adds a row with ``INSERT``.
One spark-submit sends, through the listener's composite transport, to two olgraph deployments
at once: ``olgraph serve`` (embedded store) over HTTP with gzip and an API key, and the
distributed one, ``olgraph api`` → Kafka → ``olgraph consume`` → Neo4j. Both graphs must hold
exactly what was worked out by hand below.

What the listener reports (1.53.0, checked by these tests): an APPLICATION run ``shop_revenue``,
parent of one run per Spark action: the CTAS command, two ``adaptive_spark_plan`` runs (the
CTAS's write and the INSERT's), ``columnar_to_row`` (the final read) and
``map_partitions_parallel_collection`` (Parquet schema discovery, which the listener STARTs and
never completes).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from producer_support import (
    E2E,
    INGEST,
    PROVISION_TIMEOUT,
    REPO,
    derives,
    field_key,
    java_home,
    maven_lib,
    producer_env,
    python_env,
    run_logged,
    wait_for,
)

from olgraph.store.base import GraphDump
from olgraph.store.neo4j import Neo4jStore

pytestmark = [pytest.mark.producers, pytest.mark.timeout(PROVISION_TIMEOUT)]

REQUIREMENTS = ["pyspark==4.3.0", "pyarrow"]
LISTENER = "io.openlineage:openlineage-spark_2.13:1.53.0"
JOB = Path(__file__).parent / "spark" / "shop_revenue.py"
NS = "spark-shop"
APP = "shop_revenue"
CTAS = f"{APP}.execute_create_data_source_table_as_select_command.default_revenue_by_country"
WRITE = f"{APP}.adaptive_spark_plan.warehouse_revenue_by_country"
READ_BACK = f"{APP}.columnar_to_row"
DISCOVERY = f"{APP}.map_partitions_parallel_collection"
ORDERS_CSV = (
    "order_id,customer_id,amount,status\n1,10,15.0,paid\n2,10,12.5,paid\n3,11,7.0,refunded\n4,12,30.0,paid\n"
)
CUSTOMERS = (  # written with pyarrow, so that writing it is not a Spark job of its own
    "import pyarrow as pa, pyarrow.parquet as pq, sys; pq.write_table(pa.table("
    "{'customer_id': pa.array([10, 11, 12], pa.int32()), 'country': ['FR', 'DE', 'FR']}), sys.argv[1])"
)


@dataclass(frozen=True)
class Paths:
    """Where the job's files are (dataset names are their absolute paths, namespace ``file``)."""

    work: Path

    @property
    def orders(self) -> str:
        return f"dataset:file:{self.work}/orders.csv"

    @property
    def customers(self) -> str:
        return f"dataset:file:{self.work}/customers.parquet"

    @property
    def table(self) -> str:
        return f"dataset:file:{self.work}/warehouse/revenue_by_country"

    @property
    def catalog_table(self) -> str:
        return f"dataset:file:{self.work}/warehouse:default.revenue_by_country"

    def field(self, dataset: str, column: str) -> str:
        namespace, _, name = dataset.removeprefix("dataset:").partition(":")
        return field_key(namespace, name, column)


@dataclass
class Distributed:
    """``olgraph api`` and ``olgraph consume`` processes on a fresh topic, writing to Neo4j."""

    api_url: str
    neo4j_uri: str
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]


def _olgraph_process(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "OPENLINEAGE"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    env["OLGRAPH_AUTH__API_KEYS"] = json.dumps([INGEST.configured()])
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "olgraph", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )


@pytest.fixture(scope="module")
def distributed(
    kafka_bootstrap: str, neo4j_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Distributed]:
    """The distributed deployment on its own topic and consumer group, Neo4j emptied first."""
    E2E.empty_neo4j(neo4j_uri)
    folder = tmp_path_factory.mktemp("distributed")
    topic = f"olgraph-producers-spark-{uuid.uuid4().hex[:12]}"
    neo4j = ["--neo4j-uri", neo4j_uri, "--neo4j-create-schema"]
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    if user and password:
        neo4j += ["--neo4j-user", user, "--neo4j-password", password]
    asyncio.run(_create_topics(kafka_bootstrap, [topic, f"{topic}.dlq"]))
    kafka = ["--kafka-bootstrap", kafka_bootstrap, "--topic", topic]
    logs = [folder / "api.log", folder / "consume.log"]
    api = _olgraph_process(["api", "--port", "0", *kafka, *neo4j], logs[0])
    consume = _olgraph_process(
        [
            "consume",
            *kafka,
            "--dead-letter-topic",
            f"{topic}.dlq",
            "--group",
            f"{topic}-group",
            *neo4j,
            "--health-port",
            "0",
        ],
        logs[1],
    )
    processes = [api, consume]
    try:
        line = wait_for(lambda: _line(logs[0], " api listening on ") or api.poll(), "olgraph api to listen")
        assert isinstance(line, str), logs[0].read_text()
        wait_for(lambda: _line(logs[1], " consume: kafka ") or consume.poll(), "olgraph consume to start")
        yield Distributed(line.split(" listening on ")[1].split()[0], neo4j_uri, processes, logs)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process, log in zip(processes, logs, strict=True):
            assert process.wait(timeout=60) == 0, log.read_text()


async def _create_topics(bootstrap: str, names: list[str]) -> None:
    """The topics, 3 partitions each, before the consumer subscribes (it would not see them for
    minutes otherwise: its metadata refresh interval)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1) for name in names])
    finally:
        await admin.close()


def _line(log: Path, marker: str) -> str | None:
    return next((line for line in log.read_text().splitlines() if marker in line), None)


@pytest.fixture(scope="module")
def spark_run(served: Any, distributed: Distributed, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """One spark-submit of the job, its listener sending to both deployments; both applied."""
    bin_dir = python_env("spark", REQUIREMENTS)
    [listener_jar] = maven_lib("openlineage-spark", [LISTENER]).glob("openlineage-spark_*.jar")
    work = tmp_path_factory.mktemp("spark")
    (work / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    run_logged(
        [str(bin_dir / "python"), "-c", CUSTOMERS, str(work / "customers.parquet")],
        work / "data.log",
        producer_env(),
        work,
    )
    transports = {"serve": served.url, "api": distributed.api_url}
    conf = {
        "spark.extraListeners": "io.openlineage.spark.agent.OpenLineageSparkListener",
        "spark.openlineage.namespace": NS,
        "spark.openlineage.transport.type": "composite",
        "spark.openlineage.transport.continueOnFailure": "false",
        "spark.sql.warehouse.dir": str(work / "warehouse"),
        "spark.ui.enabled": "false",
    }
    for name, url in transports.items():
        prefix = f"spark.openlineage.transport.transports.{name}"
        conf |= {
            f"{prefix}.type": "http",
            f"{prefix}.url": url,
            f"{prefix}.compression": "gzip",
            f"{prefix}.auth.type": "api_key",
            f"{prefix}.auth.apiKey": INGEST.secret,
        }
    argv = [str(bin_dir / "spark-submit"), "--master", "local[1]", "--jars", str(listener_jar)]
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    argv += [str(JOB), str(work / "orders.csv"), str(work / "customers.parquet")]
    env = producer_env(bin_dir, JAVA_HOME=str(java_home()), SPARK_LOCAL_IP="127.0.0.1")
    run_logged(argv, work / "spark-submit.log", env, work, timeout=900)
    assert "revenue_by_country: [('FR', 57.5), ('refunds', -7.0)]" in (work / "spark-submit.log").read_text()
    served.wait_applied()
    return Paths(work)


# --- what both graphs must hold -------------------------------------------------------------------


def expected_column_lineage(p: Paths) -> dict[tuple[str, str], list[str]]:
    return {
        (p.field(p.orders, "amount"), p.field(p.table, "revenue")): ["DIRECT/AGGREGATION"],
        (p.field(p.customers, "country"), p.field(p.table, "country")): ["DIRECT/IDENTITY"],
    }


def expected_influences(p: Paths) -> dict[tuple[str, str], list[str]]:
    """Dataset-wide dependencies: the join key, the filter and the grouping (unioned over runs)."""
    return {
        (p.field(p.orders, "customer_id"), p.table): ["INDIRECT/FILTER", "INDIRECT/JOIN"],
        (p.field(p.customers, "customer_id"), p.table): ["INDIRECT/FILTER", "INDIRECT/JOIN"],
        (p.field(p.orders, "status"), p.table): ["INDIRECT/FILTER"],
        (p.field(p.customers, "country"), p.table): ["INDIRECT/GROUP_BY"],
    }


def expected_job_edges(p: Paths) -> set[tuple[str, str, str]]:
    ctas, write, read_back = (f"job:{NS}:{name}" for name in (CTAS, WRITE, READ_BACK))
    return {
        ("CONSUMED_BY", p.orders, ctas),
        ("CONSUMED_BY", p.customers, ctas),
        ("PRODUCES", ctas, p.table),
        ("CONSUMED_BY", p.orders, write),
        ("CONSUMED_BY", p.customers, write),
        ("PRODUCES", write, p.table),
        ("CONSUMED_BY", p.table, read_back),
        ("CONSUMED_BY", f"dataset:file:{p.work}", f"job:{NS}:{DISCOVERY}"),  # the folder it listed
    }


def check_graph(dump: GraphDump, p: Paths) -> None:
    """The column lineage, symlink, job-level lineage and schemas both deployments must hold."""
    assert derives(dump) == expected_column_lineage(p)
    influences = {
        (s, t): sorted(props["transformations"])  # type: ignore[arg-type]
        for (kind, s, t), props in dump.edges.items()
        if kind == "INFLUENCES"
    }
    assert influences == expected_influences(p)
    assert dump.edges[("ALIAS_OF", p.table, p.catalog_table)]["type"] == "TABLE"
    job_edges = {(k, s, t) for (k, s, t) in dump.edges if k in ("CONSUMED_BY", "PRODUCES")}
    assert job_edges == expected_job_edges(p)
    fields = {(s, t) for (k, s, t) in dump.edges if k == "HAS_FIELD"}
    for dataset, columns in (
        (p.orders, ["order_id", "customer_id", "amount", "status"]),
        (p.customers, ["customer_id", "country"]),
        (p.table, ["country", "revenue"]),
    ):
        assert {t for s, t in fields if s == dataset} == {p.field(dataset, c) for c in columns}
    assert dump.nodes[p.field(p.table, "revenue")][1]["type"] == "double"
    assert dump.nodes[p.field(p.orders, "order_id")][1]["type"] == "integer"


# --- olgraph serve, over HTTP ---------------------------------------------------------------------


def test_every_request_was_gzipped_with_the_api_key_and_accepted(spark_run: Paths, served: Any) -> None:
    requests = served.proxy.requests
    assert len(requests) == 20  # 2 for the application, 18 for the Spark actions (START/RUNNING…/COMPLETE)
    assert {
        (r.path, r.status, r.headers["content-encoding"], r.headers["authorization"]) for r in requests
    } == {("/api/v1/lineage", 201, "gzip", f"Bearer {INGEST.secret}")}


def test_the_application_run_is_the_parent_of_every_action_run(spark_run: Paths, served: Any) -> None:
    graph = served.graph
    [app] = graph.runs_of(f"job:{NS}:{APP}")
    assert app["state"] == "COMPLETE"
    children = {}
    for name in (CTAS, WRITE, READ_BACK, DISCOVERY):
        for run in graph.runs_of(f"job:{NS}:{name}"):
            detail = graph.run(run["runId"])
            assert detail["parentRunId"] == app["runId"], (name, detail)
            children.setdefault(name, []).append(detail["state"])
    assert children == {
        CTAS: ["COMPLETE"],
        WRITE: ["COMPLETE", "COMPLETE"],
        READ_BACK: ["COMPLETE"],
        DISCOVERY: ["START"],
    }


def test_the_table_versions_are_written_by_the_ctas_and_the_insert(spark_run: Paths, served: Any) -> None:
    graph = served.graph
    writers = {graph.run(r["runId"])["job"] for r in graph.runs_of(f"job:{NS}:{WRITE}")}
    assert writers == {f"job:{NS}:{WRITE}"}
    table = graph.dataset(spark_run.table)
    assert sorted(table["fields"]) == ["country", "revenue"]
    # the latest lifecycleStateChange by eventTime: the CTAS's COMPLETE says CREATE
    assert table["lifecycleState"] == "CREATE"
    versions = {v["runId"] for v in table["versions"]}
    ctas_runs = {r["runId"] for r in graph.runs_of(f"job:{NS}:{CTAS}")}
    write_runs = {r["runId"] for r in graph.runs_of(f"job:{NS}:{WRITE}")}
    assert versions == ctas_runs | write_runs


def test_lineage_symlink_column_lineage_and_schemas_in_olgraph_serve(spark_run: Paths, served: Any) -> None:
    check_graph(served.graph.dump(), spark_run)
    p = spark_run
    upstream = served.graph.edges(p.table, "upstream", depth=2)
    assert upstream == {
        (p.orders, "CONSUMED_BY", f"job:{NS}:{CTAS}"),
        (p.customers, "CONSUMED_BY", f"job:{NS}:{CTAS}"),
        (f"job:{NS}:{CTAS}", "PRODUCES", p.table),
        (p.orders, "CONSUMED_BY", f"job:{NS}:{WRITE}"),
        (p.customers, "CONSUMED_BY", f"job:{NS}:{WRITE}"),
        (f"job:{NS}:{WRITE}", "PRODUCES", p.table),
        (p.table, "ALIAS_OF", p.catalog_table),
    }


# --- olgraph api → Kafka → olgraph consume → Neo4j ------------------------------------------------


@pytest.mark.kafka
@pytest.mark.neo4j
def test_the_same_graph_through_kafka_into_neo4j(spark_run: Paths, distributed: Distributed) -> None:
    dump = asyncio.run(_neo4j_dump_when_complete(distributed.neo4j_uri))
    check_graph(dump, spark_run)
    app = next(
        props
        for key, (labels, props) in dump.nodes.items()
        if "Run" in labels and props.get("job") == f"job:{NS}:{APP}"
    )
    assert app["state"] == "COMPLETE"
    runs = [props for _, (labels, props) in dump.nodes.items() if "Run" in labels]
    assert len(runs) == 6
    assert {r.get("parentRunId") for r in runs if r is not app} == {app["runId"]}


async def _neo4j_dump_when_complete(uri: str) -> GraphDump:
    """Neo4j's graph once the application run is COMPLETE there (its last event), bounded."""
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    store = Neo4jStore(uri, user=user, password=password)
    await store.open()
    try:
        for _ in range(600):
            dump = await store.dump()
            apps = [
                p
                for _, (labels, p) in dump.nodes.items()
                if "Run" in labels and p.get("job") == f"job:{NS}:{APP}"
            ]
            runs = [p for _, (labels, p) in dump.nodes.items() if "Run" in labels]
            if (
                apps
                and apps[0].get("state") == "COMPLETE"
                and len(runs) == 6
                and all(r.get("state") for r in runs)
            ):
                return dump
            await asyncio.sleep(0.2)
        raise AssertionError(f"the Spark events did not all reach Neo4j: {runs}")
    finally:
        await store.close()
