"""The openlineage-java client (1.55.0, from Maven Central), unmodified, configured only by the
``openlineage.yml`` its documentation describes (found through ``OPENLINEAGE_CONFIG``).

``java/EmitLineage.java`` (compiled here with ``javac``) emits a run's START and COMPLETE with a
parent run, schemas, column lineage and output statistics, a DatasetEvent with a symlink and a
JobEvent with design-time lineage. Over HTTP (gzip, API key) into ``olgraph serve``; over the
client's Kafka transport into ``olgraph consume`` and Neo4j. Every expectation below was worked
out by hand from what the program emits.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from producer_support import (
    INGEST,
    PROVISION_TIMEOUT,
    REPO,
    derives,
    field_key,
    java_home,
    maven_lib,
    producer_env,
    run_logged,
    wait_for,
)

from olgraph.config import KafkaConfig
from olgraph.ingest.kafka_key import kafka_key
from olgraph.ingest.parse import parse_event
from olgraph.store.neo4j import Neo4jStore

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
    (field_key(DB, "shop.public.orders", "amount"), field_key(LAKE, "reports/daily_revenue", "revenue")): [
        "DIRECT/AGGREGATION"
    ],
    (field_key(DB, "shop.public.orders", "ordered_at"), field_key(LAKE, "reports/daily_revenue", "day")): [
        "DIRECT/TRANSFORMATION"
    ],
}
STATUS_FILTER = (field_key(DB, "shop.public.orders", "status"), REPORT)


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


def test_the_run_has_its_state_times_parent_and_versions(over_http: Any) -> None:
    run = over_http.graph.run(RUN_ID)
    assert run["job"] == JOB
    assert run["state"] == "COMPLETE"
    assert run["startedAt"] == "2026-11-20T10:00:00.000000000Z"
    assert run["endedAt"] == "2026-11-20T10:03:00.000000000Z"
    assert run["parentRunId"] == PARENT_RUN_ID
    assert [v["dataset"] for v in run["inputs"]] == [ORDERS]
    assert [(v["dataset"], v["version"]) for v in run["outputs"]] == [(REPORT, f"run:{RUN_ID}")]
    report = over_http.graph.dataset(REPORT)
    [version] = report["versions"]
    assert (version["rowCount"], version["size"], version["fileCount"]) == (31, 2048, 1)
    assert sorted(report["fields"]) == ["day", "revenue"]
    assert sorted(over_http.graph.dataset(ORDERS)["fields"]) == ["amount", "id", "ordered_at", "status"]


def test_runtime_and_design_time_lineage(over_http: Any) -> None:
    assert over_http.graph.edges(ORDERS, "downstream") == {
        (ORDERS, "CONSUMED_BY", JOB),
        (JOB, "PRODUCES", REPORT),
        (REPORT, "CONSUMED_BY", PUBLISH),
        (PUBLISH, "PRODUCES", DASHBOARD),
        (REPORT, "ALIAS_OF", HIVE),  # the symlink: one table under two names
    }
    dump = over_http.graph.dump()
    assert dump.edges[("CONSUMED_BY", REPORT, PUBLISH)]["static"] is True
    assert dump.edges[("PRODUCES", JOB, REPORT)]["runtime"] is True
    assert dump.edges[("ALIAS_OF", REPORT, HIVE)]["type"] == "TABLE"
    assert ("CHILD_OF", f"run:{RUN_ID}", f"run:{PARENT_RUN_ID}") in dump.edges


def test_column_lineage_with_transformations(over_http: Any) -> None:
    dump = over_http.graph.dump()
    assert derives(dump) == COLUMN_LINEAGE
    assert dump.edges[("INFLUENCES", *STATUS_FILTER)]["transformations"] == ["INDIRECT/FILTER"]


# --- over the client's Kafka transport into olgraph consume and Neo4j --------------------------------


@pytest.fixture
def consume(kafka_config: KafkaConfig, neo4j_uri: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``olgraph consume`` replica on the test's topic, writing to the session's Neo4j."""
    log = tmp_path / "consume.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "OPENLINEAGE"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    argv = [sys.executable, "-m", "olgraph", "consume", "--kafka-bootstrap", kafka_config.bootstrap_servers]
    argv += ["--topic", kafka_config.topic, "--dead-letter-topic", kafka_config.dead_letter_topic]
    argv += ["--group", kafka_config.group_id, "--neo4j-uri", neo4j_uri, "--neo4j-create-schema"]
    argv += ["--health-port", "0"]
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    if user and password:
        argv += ["--neo4j-user", user, "--neo4j-password", password]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(
            lambda: "consume: kafka" in log.read_text() or process.poll() is not None, "consume to start"
        )
        assert process.poll() is None, log.read_text()
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()


async def read_topic(config: KafkaConfig, expected: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        config.topic, bootstrap_servers=config.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        records: list[Any] = []
        deadline = time.monotonic() + 60
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            records.extend(r for rs in batch.values() for r in rs)
        return records
    finally:
        await consumer.stop()


@pytest.mark.kafka
@pytest.mark.neo4j
@pytest.mark.usefixtures("clean_neo4j")
def test_the_kafka_transport_feeds_neo4j_through_olgraph_consume(
    java_program: list[str], kafka_config: KafkaConfig, neo4j_uri: str, consume: Any, tmp_path: Path
) -> None:
    config = f"""transport:
  type: kafka
  topicName: {kafka_config.topic}
  properties:
    bootstrap.servers: {kafka_config.bootstrap_servers}
    acks: all
    key.serializer: org.apache.kafka.common.serialization.StringSerializer
    value.serializer: org.apache.kafka.common.serialization.StringSerializer
"""
    emit(java_program, config, tmp_path / "java-kafka", KAFKA_RUN_ID, KAFKA_PARENT_RUN_ID)

    records = asyncio.run(read_topic(kafka_config, expected=4))
    keys = [r.key.decode() for r in sorted(records, key=lambda r: (r.partition, r.offset))]
    # the run's events are keyed by their parent job (the client's rule, and olgraph's)
    assert sorted(keys) == sorted(
        [f"run:{NS}/orders_pipeline"] * 2
        + [f"dataset:{LAKE}/reports/daily_revenue", f"job:{NS}/reports.publish"]
    )
    for record in records:
        assert record.key.decode() == kafka_key(parse_event(orjson.loads(record.value)))

    run, dump = asyncio.run(_applied(neo4j_uri))
    assert run.state == "COMPLETE"
    assert run.parent_run_id == KAFKA_PARENT_RUN_ID
    assert (run.started_at, run.ended_at) == (
        "2026-11-20T10:00:00.000000000Z",
        "2026-11-20T10:03:00.000000000Z",
    )
    assert derives(dump) == COLUMN_LINEAGE
    assert dump.edges[("ALIAS_OF", REPORT, HIVE)]["type"] == "TABLE"
    assert dump.edges[("CONSUMED_BY", REPORT, PUBLISH)]["static"] is True
    assert {(kind, s, t) for (kind, s, t) in dump.edges if kind in ("CONSUMED_BY", "PRODUCES")} == {
        ("CONSUMED_BY", ORDERS, JOB),
        ("PRODUCES", JOB, REPORT),
        ("CONSUMED_BY", REPORT, PUBLISH),
        ("PRODUCES", PUBLISH, DASHBOARD),
    }


async def _applied(neo4j_uri: str) -> Any:
    """The Kafka run once COMPLETE in Neo4j and the symlink arrived (bounded wait), and the dump."""
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    store = Neo4jStore(neo4j_uri, user=user, password=password)
    await store.open()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            run = await store.get_run(KAFKA_RUN_ID)
            dump = await store.dump()
            if (
                run is not None
                and run.state == "COMPLETE"
                and ("CONSUMED_BY", REPORT, PUBLISH) in dump.edges
                and (
                    "ALIAS_OF",
                    REPORT,
                    HIVE,
                )
                in dump.edges
            ):
                return run, dump
            await asyncio.sleep(0.5)
        raise AssertionError(f"not applied within 120s: {run}")
    finally:
        await store.close()
