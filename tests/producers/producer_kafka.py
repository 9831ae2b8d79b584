"""The distributed deployment the producers also send to: ``olgraph api`` → Kafka → ``olgraph consume``
→ Neo4j, on a fresh topic and consumer group per test module, Neo4j emptied first.

A producer reaches it two ways at once (its composite transport): over HTTP into ``olgraph
api``, which writes each event to the topic, and with its own Kafka transport straight onto
the same topic. So the topic holds every event twice; applying is idempotent, so Neo4j holds
the graph once. :meth:`Distributed.wait_consumed` waits until the consumer group has committed
every message of the topic (it commits only what the store committed, or dead-lettered) and
checks that nothing was dead-lettered; :meth:`Distributed.messages` reads the topic back, so a
test can check that each event came both ways with the key olgraph computes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from producer_graph import Graph
from producer_support import E2E, INGEST, READ, REPO, wait_for

from kafka_offsets import committed_offsets
from olgraph.ingest.kafka_key import kafka_key
from olgraph.ingest.parse import parse_event

PARTITIONS = 3
CONSUME_TIMEOUT = 180.0


@dataclass
class Distributed:
    """``olgraph api`` and ``olgraph consume`` on ``topic``; ``graph`` reads Neo4j through the api."""

    bootstrap: str
    topic: str
    api_url: str
    graph: Graph
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic}.dlq"

    @property
    def group(self) -> str:
        return f"{self.topic}-group"

    def python_kafka_transport(self) -> dict[str, Any]:
        """openlineage-python's Kafka transport for this topic, as docs/producers.md shows it."""
        return {
            "type": "kafka",
            "topic": self.topic,
            "config": {"bootstrap.servers": self.bootstrap, "partitioner": "murmur2_random"},
            "flush": True,
        }

    def wait_consumed(self) -> int:
        """Until the group committed every message of the topic (bounded); their number.

        Fails when anything was dead-lettered or a process exited.
        """
        deadline = time.monotonic() + CONSUME_TIMEOUT
        ends: dict[int, int] = {}
        committed: dict[int, int] = {}
        while time.monotonic() < deadline:
            for process, log in zip(self.processes, self.logs, strict=True):
                assert process.poll() is None, log.read_text()
            ends, committed = asyncio.run(_offsets(self.bootstrap, self.topic, self.group))
            if ends == committed and sum(ends.values()) > 0:
                dead = asyncio.run(_offsets(self.bootstrap, self.dead_letter_topic, None))[0]
                assert sum(dead.values()) == 0, f"dead-lettered: {dead}\n{self.logs[1].read_text()[-4000:]}"
                return sum(ends.values())
            time.sleep(0.2)
        pytest.fail(
            f"olgraph consume did not commit the whole topic in {CONSUME_TIMEOUT:.0f}s: {ends} {committed}"
        )

    def messages(self) -> list[tuple[str, dict[str, Any]]]:
        """Every message on the topic: its key and its event."""
        records = asyncio.run(_read_all(self.bootstrap, self.topic))
        return [(r.key.decode(), orjson.loads(r.value)) for r in records]

    def check_messages(self, events: int) -> None:
        """The topic holds each of ``events`` events twice (through the api and the Kafka
        transport), each keyed as olgraph keys it."""
        messages = self.messages()
        assert len(messages) == 2 * events
        counts: dict[str, int] = {}
        for key, event in messages:
            assert key == kafka_key(parse_event(event)), (key, event.get("eventType"), event.get("job"))
            canonical = json.dumps(event, sort_keys=True)
            counts[canonical] = counts.get(canonical, 0) + 1
        assert set(counts.values()) == {2}, "an event did not arrive both ways"


async def _offsets(bootstrap: str, topic: str, group: str | None) -> tuple[dict[int, int], dict[int, int]]:
    """The end offset of each partition of ``topic``, and ``group``'s committed offsets there."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]  # as created
        ends = {tp.partition: offset for tp, offset in (await consumer.end_offsets(partitions)).items()}
    finally:
        await consumer.stop()
    committed: dict[int, int] = {}
    if group is not None:
        committed = await committed_offsets(bootstrap, group, topic)
        committed = {p: committed.get(p, 0) for p in ends}
    return ends, committed


async def _read_all(bootstrap: str, topic: str) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
        records: list[Any] = []
        deadline = time.monotonic() + 60
        while len(records) < sum(ends.values()) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            records.extend(r for rs in batch.values() for r in rs)
        return records
    finally:
        await consumer.stop()


async def _create_topics(bootstrap: str, names: list[str]) -> None:
    """The topics before the consumer subscribes (it would not see them for minutes otherwise:
    its metadata refresh interval)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, num_partitions=PARTITIONS, replication_factor=1) for name in names]
        )
    finally:
        await admin.close()


def _olgraph_process(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "OPENLINEAGE"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    env["OLGRAPH_AUTH__API_KEYS"] = json.dumps([INGEST.configured(), READ.configured()])
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "olgraph", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )


def _line(log: Path, marker: str) -> str | None:
    return next((line for line in log.read_text().splitlines() if marker in line), None)


@pytest.fixture(scope="module")
def distributed(
    kafka_bootstrap: str, neo4j_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Distributed]:
    """The distributed deployment on its own topic and consumer group, Neo4j emptied first."""
    E2E.empty_neo4j(neo4j_uri)
    folder = tmp_path_factory.mktemp("distributed")
    topic = f"olgraph-producers-{uuid.uuid4().hex[:12]}"
    neo4j = ["--neo4j-uri", neo4j_uri, "--neo4j-create-schema"]
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    if user and password:
        neo4j += ["--neo4j-user", user, "--neo4j-password", password]
    asyncio.run(_create_topics(kafka_bootstrap, [topic, f"{topic}.dlq"]))
    kafka = ["--kafka-bootstrap", kafka_bootstrap, "--topic", topic]
    logs = [folder / "api.log", folder / "consume.log"]
    api = _olgraph_process(["api", "--port", "0", *kafka, *neo4j], logs[0])
    group = ["--dead-letter-topic", f"{topic}.dlq", "--group", f"{topic}-group", "--health-port", "0"]
    consume = _olgraph_process(["consume", *kafka, *group, *neo4j], logs[1])
    processes = [api, consume]
    try:
        line = wait_for(lambda: _line(logs[0], " api listening on ") or api.poll(), "olgraph api to listen")
        assert isinstance(line, str), logs[0].read_text()
        wait_for(lambda: _line(logs[1], " consume: kafka ") or consume.poll(), "olgraph consume to start")
        api_url = line.split(" listening on ")[1].split()[0]
        yield Distributed(kafka_bootstrap, topic, api_url, Graph(api_url, READ.secret), processes, logs)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process, log in zip(processes, logs, strict=True):
            assert process.wait(timeout=60) == 0, log.read_text()
