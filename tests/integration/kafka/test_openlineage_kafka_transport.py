"""openlineage-python's own Kafka transport (confluent-kafka) feeds the graph through ``olgraph consume``.

A producer configured only by the client's environment variables (``OPENLINEAGE__TRANSPORT__*``:
``type: kafka``, the topic, ``config`` with ``bootstrap.servers``; ``messageKey`` left to its
default) emits, in its own interpreter, the events of an orchestrated pipeline: a DAG run whose
two tasks START and COMPLETE with inputs and outputs (``extract`` raw → staged, ``publish``
staged → report), each naming the DAG run as parent. The test checks what reached the topic
(the events, keyed as the client keys them, and as olgraph's HTTP path would key them), runs
a real ``olgraph consume`` against Neo4j, and reads the lineage back with ``Neo4jStore``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from olgraph.config import KafkaConfig
from olgraph.ingest.kafka_key import kafka_key
from olgraph.ingest.parse import parse_event
from olgraph.store.base import RunView
from olgraph.store.neo4j import Neo4jStore

pytestmark = [pytest.mark.kafka, pytest.mark.neo4j]

NS = "ol-kafka-transport"
DAG_RUN = "0195a000-0000-7000-8000-000000000001"
EXTRACT_RUN = "0195a000-0000-7000-8000-000000000002"
PUBLISH_RUN = "0195a000-0000-7000-8000-000000000003"
RAW = "dataset:postgres://orders-db:5432:public.orders"
STAGED = "dataset:s3://ol-kafka-transport:staged/orders"
REPORT = "dataset:s3://ol-kafka-transport:reports/daily_orders"
EXTRACT, PUBLISH = f"job:{NS}:orders_dag.extract", f"job:{NS}:orders_dag.publish"
APPLY_TIMEOUT = 60.0

EMITTER = """
import sys
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import parent_run, schema_dataset

NS, DAG_RUN, EXTRACT_RUN, PUBLISH_RUN = sys.argv[1:5]
PRODUCER = "https://github.com/olgraph/olgraph/tests/integration/kafka"
client = OpenLineageClient()  # everything from OPENLINEAGE__TRANSPORT__*
assert type(client.transport).__name__ == "KafkaTransport", client.transport
schema = schema_dataset.SchemaDatasetFacet(fields=[
    schema_dataset.SchemaDatasetFacetFields(name="order_id", type="BIGINT"),
    schema_dataset.SchemaDatasetFacetFields(name="amount", type="DECIMAL(12,2)"),
])
root = parent_run.Root(
    run=parent_run.RootRun(runId=DAG_RUN), job=parent_run.RootJob(namespace=NS, name="orders_dag")
)
parent = parent_run.ParentRunFacet(
    run=parent_run.Run(runId=DAG_RUN), job=parent_run.Job(namespace=NS, name="orders_dag"), root=root
)
raw = InputDataset(namespace="postgres://orders-db:5432", name="public.orders")
LAKE = "s3://ol-kafka-transport"
staged_out = OutputDataset(namespace=LAKE, name="staged/orders", facets={"schema": schema})
staged_in = InputDataset(namespace=LAKE, name="staged/orders")
report = OutputDataset(namespace=LAKE, name="reports/daily_orders")

def emit(state, minute, run_id, job, facets=None, inputs=(), outputs=()):
    client.emit(RunEvent(
        eventType=state, eventTime=f"2026-05-04T06:{minute:02d}:00+00:00",
        run=Run(runId=run_id, facets=facets or {}), job=Job(namespace=NS, name=job),
        inputs=list(inputs), outputs=list(outputs), producer=PRODUCER,
    ))

emit(RunState.START, 0, DAG_RUN, "orders_dag")
for state, minute in ((RunState.START, 1), (RunState.COMPLETE, 5)):
    emit(state, minute, EXTRACT_RUN, "orders_dag.extract", {"parent": parent}, [raw], [staged_out])
for state, minute in ((RunState.START, 6), (RunState.COMPLETE, 9)):
    emit(state, minute, PUBLISH_RUN, "orders_dag.publish", {"parent": parent}, [staged_in], [report])
emit(RunState.COMPLETE, 10, DAG_RUN, "orders_dag")
client.close()
print("emitted 6")
"""


def run_emitter(config: KafkaConfig) -> None:
    """Run :data:`EMITTER` in a fresh interpreter configured only through the client's variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENLINEAGE", "OLGRAPH_"))}
    env |= {
        "OPENLINEAGE__TRANSPORT__TYPE": "kafka",
        "OPENLINEAGE__TRANSPORT__TOPIC": config.topic,
        # murmur2_random: the Java client's partitioner, which the README asks for so that the
        # transport and `olgraph api` put a key in the same partition.
        "OPENLINEAGE__TRANSPORT__CONFIG": json.dumps(
            {"bootstrap.servers": config.bootstrap_servers, "acks": "all", "partitioner": "murmur2_random"}
        ),
    }
    done = subprocess.run(
        [sys.executable, "-c", EMITTER, NS, DAG_RUN, EXTRACT_RUN, PUBLISH_RUN],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "emitted 6" in done.stdout, done.stdout


async def read_topic(config: KafkaConfig, expected: int) -> list[Any]:
    """Every record of the events topic (its partitions read from the start), bounded in time."""
    # No group: the consumer is assigned every partition of the topic and starts at the beginning.
    consumer = AIOKafkaConsumer(
        config.topic, bootstrap_servers=config.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        records: list[Any] = []
        deadline = time.monotonic() + 30
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            records.extend(r for rs in batch.values() for r in rs)
        return records
    finally:
        await consumer.stop()


async def wait_for_runs(store: Neo4jStore, run_ids: list[str]) -> dict[str, RunView]:
    """Poll the graph until every run has reached COMPLETE; fail after :data:`APPLY_TIMEOUT`."""
    deadline = time.monotonic() + APPLY_TIMEOUT
    runs: dict[str, RunView | None] = {}
    while time.monotonic() < deadline:
        runs = {run_id: await store.get_run(run_id) for run_id in run_ids}
        if all(run is not None and run.state == "COMPLETE" for run in runs.values()):
            return {run_id: run for run_id, run in runs.items() if run is not None}
        await asyncio.sleep(0.2)
    raise AssertionError(f"runs not applied within {APPLY_TIMEOUT}s: {runs}")


async def test_openlineage_kafka_transport_events_reach_the_graph(
    kafka_config: KafkaConfig,
    neo4j_uri: str,
    clean_neo4j: None,
    consume_process: Callable[..., Any],
) -> None:
    run_emitter(kafka_config)

    records = await read_topic(kafka_config, expected=6)
    assert len(records) == 6, [r.value for r in records]
    for record in records:
        event = orjson.loads(record.value)
        # The client's key is the one olgraph's HTTP path computes: the root (DAG) job's.
        assert record.key == b"run:ol-kafka-transport/orders_dag", record.key
        assert record.key.decode() == kafka_key(parse_event(event))
    assert len({r.partition for r in records}) == 1, "one job chain must stay in one partition"
    in_order = [orjson.loads(r.value)["eventTime"] for r in sorted(records, key=lambda r: r.offset)]
    assert in_order == sorted(in_order), "the chain's events are not in emission order"

    consumer = consume_process()
    consumer.wait_started()
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    store = Neo4jStore(neo4j_uri, user=user, password=password)
    await store.open()
    try:
        runs = await wait_for_runs(store, [DAG_RUN, EXTRACT_RUN, PUBLISH_RUN])
        lineage = await store.lineage(RAW, "downstream", depth=6, max_nodes=100)
        staged = await store.get_dataset(STAGED)
    finally:
        await store.close()
    assert consumer.terminate() == 0, consumer.stderr()

    assert runs[EXTRACT_RUN].parent_run_id == DAG_RUN
    assert runs[PUBLISH_RUN].parent_run_id == DAG_RUN
    assert runs[EXTRACT_RUN].started_at == "2026-05-04T06:01:00.000000000Z"
    assert runs[EXTRACT_RUN].ended_at == "2026-05-04T06:05:00.000000000Z"
    assert [v.dataset for v in runs[PUBLISH_RUN].inputs] == [STAGED]
    assert [v.dataset for v in runs[PUBLISH_RUN].outputs] == [REPORT]
    assert staged is not None
    assert "schema" in staged.facets
    assert sorted(staged.fields) == ["amount", "order_id"]
    assert lineage.nodes[0].id == RAW
    assert not lineage.truncated
    assert {node.id for node in lineage.nodes} == {RAW, EXTRACT, STAGED, PUBLISH, REPORT}
    assert {(e.source, e.type, e.target) for e in lineage.edges} == {
        (RAW, "CONSUMED_BY", EXTRACT),
        (EXTRACT, "PRODUCES", STAGED),
        (STAGED, "CONSUMED_BY", PUBLISH),
        (PUBLISH, "PRODUCES", REPORT),
    }
