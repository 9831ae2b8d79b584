"""Spark, unmodified: pyspark 4.3.0 from PyPI in local mode with the OpenLineage Spark listener
(``io.openlineage:openlineage-spark_2.13:1.53.0`` from Maven Central), attached by spark-submit's
``--conf`` options only, as its documentation describes.

``spark/shop_revenue.py`` reads orders from CSV and customers from Parquet, joins and aggregates
them with ``CREATE TABLE … AS SELECT`` into a warehouse table, and adds a row with ``INSERT``.
One spark-submit sends, through the listener's composite transport, to two olgraph deployments
at once: ``olgraph serve`` (embedded store) over HTTP with gzip and an API key, and the
distributed one, ``olgraph api`` → Kafka → ``olgraph consume`` → Neo4j, which it reaches twice:
over HTTP into ``olgraph api`` and with the listener's own Kafka transport (``kafka-clients`` on
the classpath) straight onto the topic. Both graphs, read through their public query routes,
must hold exactly what was worked out by hand below.

What the listener reports (1.53.0, checked by these tests): an APPLICATION run ``shop_revenue``,
parent of one run per Spark action: the CTAS command, two ``adaptive_spark_plan`` runs (the
CTAS's write and the INSERT's), ``columnar_to_row`` (the final read) and
``map_partitions_parallel_collection`` (Parquet schema discovery, which the listener STARTs and
never completes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from producer_graph import Graph
from producer_kafka import Distributed
from producer_support import (
    INGEST,
    PROVISION_TIMEOUT,
    field_key,
    java_home,
    maven_lib,
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

REQUIREMENTS = ["pyspark==4.3.0", "pyarrow"]
LISTENER = "io.openlineage:openlineage-spark_2.13:1.53.0"
KAFKA_CLIENTS = "org.apache.kafka:kafka-clients:3.9.1"  # what the listener's Kafka transport needs
JOB = Path(__file__).parent / "spark" / "shop_revenue.py"
NS = "spark-shop"
APP = "shop_revenue"
CTAS = f"{APP}.execute_create_data_source_table_as_select_command.default_revenue_by_country"
WRITE = f"{APP}.adaptive_spark_plan.warehouse_revenue_by_country"
READ_BACK = f"{APP}.columnar_to_row"
DISCOVERY = f"{APP}.map_partitions_parallel_collection"
EVENTS = 20  # 2 for the application, 18 for the Spark actions (START/RUNNING…/COMPLETE)
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

    @property
    def folder(self) -> str:
        """The folder Parquet schema discovery lists."""
        return f"dataset:file:{self.work}"

    def field(self, dataset: str, column: str) -> str:
        namespace, _, name = dataset.removeprefix("dataset:").partition(":")
        return field_key(namespace, name, column)


def transport(serve_url: str, distributed: Distributed) -> dict[str, Any]:
    """A composite transport: HTTP (gzip, API key) to olgraph serve and to olgraph api, and Kafka."""
    http = {"type": "http", "compression": "gzip", "auth": {"type": "api_key", "apiKey": INGEST.secret}}
    serializer = "org.apache.kafka.common.serialization.StringSerializer"
    return {
        "type": "composite",
        "continueOnFailure": False,
        "transports": {
            "serve": http | {"url": serve_url},
            "api": http | {"url": distributed.api_url},
            "kafka": {
                "type": "kafka",
                "topicName": distributed.topic,
                "properties": {
                    "bootstrap.servers": distributed.bootstrap,
                    "acks": "all",
                    "key.serializer": serializer,
                    "value.serializer": serializer,
                },
            },
        },
    }


@pytest.fixture(scope="module")
def spark_run(served: Any, distributed: Distributed, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """One spark-submit of the job, its listener sending to both deployments; both applied."""
    bin_dir = python_env("spark", REQUIREMENTS)
    lib = maven_lib("openlineage-spark", [LISTENER, KAFKA_CLIENTS])
    jars = [*lib.glob("openlineage-spark_*.jar"), *lib.glob("kafka-clients-*.jar")]
    assert len(jars) == 2, sorted(lib.iterdir())
    work = tmp_path_factory.mktemp("spark")
    (work / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    run_logged(
        [str(bin_dir / "python"), "-c", CUSTOMERS, str(work / "customers.parquet")],
        work / "data.log",
        producer_env(),
        work,
    )
    conf = {
        "spark.extraListeners": "io.openlineage.spark.agent.OpenLineageSparkListener",
        "spark.openlineage.namespace": NS,
        "spark.sql.warehouse.dir": str(work / "warehouse"),
        "spark.ui.enabled": "false",
    }
    # The transport in openlineage.yml (found through OPENLINEAGE_CONFIG), the listener's other
    # configuration source: as Spark properties, the Kafka producer's dotted property names
    # (bootstrap.servers) would be split into nested keys inside a composite transport.
    config = work / "openlineage.yml"
    config.write_text(json.dumps({"transport": transport(served.url, distributed)}), encoding="utf-8")
    argv = [str(bin_dir / "spark-submit"), "--master", "local[1]", "--jars", ",".join(map(str, jars))]
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    argv += [str(JOB), str(work / "orders.csv"), str(work / "customers.parquet")]
    env = producer_env(
        bin_dir, JAVA_HOME=str(java_home()), SPARK_LOCAL_IP="127.0.0.1", OPENLINEAGE_CONFIG=str(config)
    )
    run_logged(argv, work / "spark-submit.log", env, work, timeout=900)
    assert "revenue_by_country: [('FR', 57.5), ('refunds', -7.0)]" in (work / "spark-submit.log").read_text()
    served.wait_applied()
    distributed.wait_consumed()
    return Paths(work)


@pytest.fixture(params=["serve", "distributed"])
def graph(request: pytest.FixtureRequest, spark_run: Paths, served: Any, distributed: Distributed) -> Graph:
    """The graph of ``olgraph serve`` (embedded store), then of ``olgraph api`` (Neo4j)."""
    return served.graph if request.param == "serve" else distributed.graph


# --- what both graphs must hold (hand-checked) ------------------------------------------------------


def expected_column_lineage(p: Paths) -> dict[tuple[str, str, str], list[str]]:
    """Column lineage into the table: the columns and the dataset-wide dependencies (the join key,
    the filter, the grouping; transformations unioned over the runs that reported them)."""
    return {
        ("DERIVES", p.field(p.orders, "amount"), p.field(p.table, "revenue")): ["DIRECT/AGGREGATION"],
        ("DERIVES", p.field(p.customers, "country"), p.field(p.table, "country")): ["DIRECT/IDENTITY"],
        ("INFLUENCES", p.field(p.orders, "customer_id"), p.table): ["INDIRECT/FILTER", "INDIRECT/JOIN"],
        ("INFLUENCES", p.field(p.customers, "customer_id"), p.table): ["INDIRECT/FILTER", "INDIRECT/JOIN"],
        ("INFLUENCES", p.field(p.orders, "status"), p.table): ["INDIRECT/FILTER"],
        ("INFLUENCES", p.field(p.customers, "country"), p.table): ["INDIRECT/GROUP_BY"],
    }


def expected_jobs(p: Paths) -> dict[str, tuple[set[str], set[str]]]:
    """Every job of the namespace: the datasets it read and wrote."""
    both = {p.orders, p.customers}
    return {
        APP: (set(), set()),
        CTAS: (both, {p.table}),
        WRITE: (both, {p.table}),
        READ_BACK: ({p.table}, set()),
        DISCOVERY: ({p.folder}, set()),
    }


SCHEMAS = {
    "orders": {"order_id": "integer", "customer_id": "integer", "amount": "double", "status": "string"},
    "customers": {"customer_id": "integer", "country": "string"},
    "table": {"country": "string", "revenue": "double"},
}


def test_every_job_reads_and_writes_what_the_plan_says(spark_run: Paths, graph: Graph) -> None:
    assert graph.jobs(NS) == set(expected_jobs(spark_run))
    for name, (inputs, outputs) in expected_jobs(spark_run).items():
        job = graph.job(f"job:{NS}:{name}")
        assert {i["id"] for i in job["inputs"]} == inputs, name
        assert {o["id"] for o in job["outputs"]} == outputs, name
        assert all(link["observed"] and not link["declared"] for link in job["inputs"] + job["outputs"])


def test_the_application_run_is_the_parent_of_every_action_run(spark_run: Paths, graph: Graph) -> None:
    [app] = graph.runs_of(f"job:{NS}:{APP}")
    assert app["state"] == "COMPLETE"
    assert graph.job(f"job:{NS}:{APP}")["facets"]["jobType"]["jobType"] == "APPLICATION"
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


def test_the_table_versions_are_written_by_the_ctas_and_the_insert(spark_run: Paths, graph: Graph) -> None:
    table = graph.dataset(spark_run.table)
    # the latest lifecycleStateChange by eventTime: the CTAS's COMPLETE says CREATE
    assert table["lifecycleState"] == "CREATE"
    versions = {v["runId"] for v in table["versions"]}
    ctas_runs = {r["runId"] for r in graph.runs_of(f"job:{NS}:{CTAS}")}
    write_runs = {r["runId"] for r in graph.runs_of(f"job:{NS}:{WRITE}")}
    assert len(ctas_runs | write_runs) == 3
    assert versions == ctas_runs | write_runs


def test_the_table_is_also_known_by_its_catalog_name(spark_run: Paths, graph: Graph) -> None:
    p = spark_run
    assert graph.dataset(p.table)["aliases"] == [p.catalog_table]
    catalog = graph.dataset(p.catalog_table)
    assert catalog["aliases"] == [p.table]
    assert graph.edges(p.table, "upstream", depth=2) == {
        (p.orders, "CONSUMED_BY", f"job:{NS}:{CTAS}"),
        (p.customers, "CONSUMED_BY", f"job:{NS}:{CTAS}"),
        (f"job:{NS}:{CTAS}", "PRODUCES", p.table),
        (p.orders, "CONSUMED_BY", f"job:{NS}:{WRITE}"),
        (p.customers, "CONSUMED_BY", f"job:{NS}:{WRITE}"),
        (f"job:{NS}:{WRITE}", "PRODUCES", p.table),
        (p.table, "ALIAS_OF", p.catalog_table),
    }


def test_column_lineage_with_its_transformations(spark_run: Paths, graph: Graph) -> None:
    p = spark_run
    assert graph.column_edges(p.orders, p.customers, p.table) == expected_column_lineage(p)


def test_schemas_with_sparks_types(spark_run: Paths, graph: Graph) -> None:
    p = spark_run
    found = {
        name: graph.schema(key)
        for name, key in (("orders", p.orders), ("customers", p.customers), ("table", p.table))
    }
    assert found == SCHEMAS


def test_every_request_was_gzipped_with_the_api_key_and_accepted(spark_run: Paths, served: Any) -> None:
    requests = served.proxy.requests
    assert len(requests) == EVENTS
    assert {
        (r.path, r.status, r.headers["content-encoding"], r.headers["authorization"]) for r in requests
    } == {("/api/v1/lineage", 201, "gzip", f"Bearer {INGEST.secret}")}


def test_each_event_reached_kafka_through_olgraph_api_and_the_kafka_transport(
    spark_run: Paths, distributed: Distributed
) -> None:
    distributed.check_messages(events=EVENTS)
