"""The openlineage-java client (1.55.0, from Maven Central), unmodified, configured only by the
``openlineage.yml`` its documentation describes (found through ``OPENLINEAGE_CONFIG``).

``java/EmitLineage.java`` (compiled here with ``javac``) emits a run's START and COMPLETE with a
parent run, schemas, column lineage and output statistics, a DatasetEvent with a symlink and a
JobEvent with design-time lineage. Over HTTP (gzip, API key) into ``olgraph serve``; over the
client's Kafka transport into ``olgraph consume`` and Neo4j. Every expectation below was worked
out by hand from what the program emits.
"""

from __future__ import annotations

import gzip
import json
import os
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
    run_logged,
)

from olgraph.ingest.kafka_key import kafka_key
from olgraph.ingest.parse import parse_event

pytestmark = [pytest.mark.producers, pytest.mark.timeout(PROVISION_TIMEOUT)]

CLIENT_VERSION = "1.55.0"
ARTIFACTS = [
    f"io.openlineage:openlineage-java:{CLIENT_VERSION}",
    "org.apache.kafka:kafka-clients:3.9.1",  # the Kafka transport's documented companion
    "org.slf4j:slf4j-api:2.0.17",
    "org.slf4j:slf4j-simple:2.0.17",
]
SOURCE = Path(__file__).parent / "java" / "EmitLineage.java"
RUN_ID = "0196c0de-0000-7000-8000-00000000a001"
PARENT_RUN_ID = "0196c0de-0000-7000-8000-00000000a000"
KAFKA_RUN_ID = "0196c0de-0000-7000-8000-00000000b001"
KAFKA_PARENT_RUN_ID = "0196c0de-0000-7000-8000-00000000b000"

NS, DB, LAKE = "java-client", "postgres://db:5432", "s3://lake"
JOB = f"job:{NS}:orders.daily_revenue"
PUBLISH = f"job:{NS}:reports.publish"
ORDERS = f"dataset:{DB}:shop.public.orders"
REPORT = f"dataset:{LAKE}:reports/daily_revenue"
HIVE = "dataset:hive://metastore:9083:analytics.daily_revenue"
DASHBOARD = "dataset:https://dashboards.example.com:revenue"
COLUMN_LINEAGE = {
    (
        "DERIVES",
        field_key(DB, "shop.public.orders", "amount"),
        field_key(LAKE, "reports/daily_revenue", "revenue"),
    ): ["DIRECT/AGGREGATION"],
    (
        "DERIVES",
        field_key(DB, "shop.public.orders", "ordered_at"),
        field_key(LAKE, "reports/daily_revenue", "day"),
    ): ["DIRECT/TRANSFORMATION"],
    ("INFLUENCES", field_key(DB, "shop.public.orders", "status"), REPORT): ["INDIRECT/FILTER"],
}


@pytest.fixture(scope="module")
def java_program(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """``java -cp … EmitLineage``: the client's jars from Maven Central, our program compiled by javac."""
    lib = maven_lib("openlineage-java", ARTIFACTS)
    classes = tmp_path_factory.mktemp("java-classes")
    jdk = java_home()
    run_logged(
        [str(jdk / "bin" / "javac"), "-cp", f"{lib}/*", "-d", str(classes), str(SOURCE)],
        classes / "javac.log",
        producer_env(),
        classes,
    )
    return [str(jdk / "bin" / "java"), "-cp", f"{classes}{os.pathsep}{lib}/*", "EmitLineage"]


def emit(program: list[str], config: str, folder: Path, run_id: str, parent_run_id: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "openlineage.yml").write_text(config, encoding="utf-8")
    env = producer_env(OPENLINEAGE_CONFIG=str(folder / "openlineage.yml"))
    run_logged([*program, run_id, parent_run_id], folder / "emit.log", env, folder, timeout=180)
    assert "emitted 4" in (folder / "emit.log").read_text()


# --- over HTTP into olgraph serve ----------------------------------------------------------------


@pytest.fixture(scope="module")
def over_http(java_program: list[str], served: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    config = f"""transport:
  type: http
  url: {served.url}
  compression: gzip
  auth:
    type: api_key
    apiKey: {INGEST.secret}
"""
    emit(java_program, config, tmp_path_factory.mktemp("java-http"), RUN_ID, PARENT_RUN_ID)
    served.wait_applied()
    return served


def test_every_request_was_gzipped_with_the_api_key_and_accepted(over_http: Any) -> None:
    requests = over_http.proxy.requests
    assert [(r.method, r.path, r.status) for r in requests] == [("POST", "/api/v1/lineage", 201)] * 4
    for request in requests:
        assert request.headers["content-encoding"] == "gzip"
        assert request.headers["authorization"] == f"Bearer {INGEST.secret}"
    kinds = [json.loads(gzip.decompress(r.body)).get("eventType", "static") for r in requests]
    assert kinds == ["START", "COMPLETE", "static", "static"]


def check_run(graph: Graph, run_id: str, parent_run_id: str) -> None:
    """The run's exact state, times, parent, versions and output statistics."""
    run = graph.run(run_id)
    assert run["job"] == JOB
    assert run["state"] == "COMPLETE"
    assert run["startedAt"] == "2026-11-20T10:00:00.000000000Z"
    assert run["endedAt"] == "2026-11-20T10:03:00.000000000Z"
    assert run["parentRunId"] == parent_run_id
    assert [v["dataset"] for v in run["inputs"]] == [ORDERS]
    assert [(v["dataset"], v["version"]) for v in run["outputs"]] == [(REPORT, f"run:{run_id}")]
    report = graph.dataset(REPORT)
    [version] = report["versions"]
    assert (version["rowCount"], version["size"], version["fileCount"]) == (31, 2048, 1)
    assert sorted(report["fields"]) == ["day", "revenue"]
    assert sorted(graph.dataset(ORDERS)["fields"]) == ["amount", "id", "ordered_at", "status"]


def check_lineage(graph: Graph) -> None:
    """Runtime and design-time lineage, the symlink, column lineage with transformation types."""
    assert graph.edges(ORDERS, "downstream") == {
        (ORDERS, "CONSUMED_BY", JOB),
        (JOB, "PRODUCES", REPORT),
        (REPORT, "CONSUMED_BY", PUBLISH),
        (PUBLISH, "PRODUCES", DASHBOARD),
        (REPORT, "ALIAS_OF", HIVE),  # the symlink: one table under two names
    }
    # the JobEvent's lineage is design-time (declared), the run's observed
    publish = graph.job(PUBLISH)
    assert [(i["id"], i["declared"], i["observed"]) for i in publish["inputs"]] == [(REPORT, True, False)]
    assert [(o["id"], o["declared"], o["observed"]) for o in publish["outputs"]] == [(DASHBOARD, True, False)]
    job = graph.job(JOB)
    assert [(o["id"], o["declared"], o["observed"]) for o in job["outputs"]] == [(REPORT, False, True)]
    assert graph.dataset(REPORT)["aliases"] == [HIVE]
    assert graph.column_edges(REPORT) == COLUMN_LINEAGE


def test_the_run_has_its_state_times_parent_and_versions(over_http: Any) -> None:
    check_run(over_http.graph, RUN_ID, PARENT_RUN_ID)


def test_runtime_and_design_time_lineage_symlink_and_column_lineage(over_http: Any) -> None:
    check_lineage(over_http.graph)


# --- over the client's Kafka transport into olgraph consume and Neo4j --------------------------------


@pytest.mark.kafka
@pytest.mark.neo4j
def test_the_kafka_transport_feeds_neo4j_through_olgraph_consume(
    java_program: list[str], distributed: Distributed, tmp_path: Path
) -> None:
    config = f"""transport:
  type: kafka
  topicName: {distributed.topic}
  properties:
    bootstrap.servers: {distributed.bootstrap}
    acks: all
    key.serializer: org.apache.kafka.common.serialization.StringSerializer
    value.serializer: org.apache.kafka.common.serialization.StringSerializer
"""
    emit(java_program, config, tmp_path / "java-kafka", KAFKA_RUN_ID, KAFKA_PARENT_RUN_ID)
    assert distributed.wait_consumed() == 4

    messages = distributed.messages()
    # the run's events are keyed by their parent job (the client's rule, and olgraph's)
    assert sorted(key for key, _ in messages) == sorted(
        [f"run:{NS}/orders_pipeline"] * 2
        + [f"dataset:{LAKE}/reports/daily_revenue", f"job:{NS}/reports.publish"]
    )
    for key, event in messages:
        assert key == kafka_key(parse_event(event))

    check_run(distributed.graph, KAFKA_RUN_ID, KAFKA_PARENT_RUN_ID)
    check_lineage(distributed.graph)
