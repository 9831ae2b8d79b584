"""Helpers for the ``olgraph consume`` tests: events to produce, topic and group inspection,
a running ``python -m olgraph consume`` process, and graph checks.

Imported by the test modules (``from consume_support import …``); the fixtures built on them
live in this folder's conftest.py.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from neo4j import Driver

from kafka_offsets import committed_offsets
from olgraph.consume.kafka_consumer import KafkaConsumerWorker
from olgraph.ingest.kafka_key import kafka_key
from olgraph.ingest.parse import parse_event

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO / ".." / "shared" / "corpus"
# Invalid on purpose (corpus README): the five proxy `event_invalid_*`, `event_no_run_id`, and
# `flink_job_test.json`, which is not valid JSON.
CORPUS_INVALID = {
    "proxy-events/event_invalid_dataset_facet.json",
    "proxy-events/event_invalid_input_dataset_facet.json",
    "proxy-events/event_invalid_job_facet.json",
    "proxy-events/event_invalid_output_dataset_facet.json",
    "proxy-events/event_invalid_run_facet.json",
    "proxy-events/event_no_run_id.json",
    "datahub-events/flink_job_test.json",
}
PRODUCER = "https://github.com/olgraph/olgraph/tests/integration/kafka"
NAMESPACE = "consume-test"
BASE_TIME = datetime(2026, 2, 1, tzinfo=UTC)
CONSUME_COMMAND = ["-m", "olgraph", "consume"]


@dataclass(frozen=True)
class Message:
    """A Kafka message to produce: key and value bytes exactly as a producer sends them."""

    key: bytes | None
    value: bytes | None


def event_message(event: dict[str, Any]) -> Message:
    """The message the OpenLineage clients would send for ``event`` (their key, the JSON value)."""
    return Message(kafka_key(parse_event(event)).encode(), orjson.dumps(event))


def corpus_messages() -> list[Message]:
    """Every valid event of the shared corpus, as messages."""
    messages = []
    for path in sorted(CORPUS.rglob("*.json")):
        if path.relative_to(CORPUS).as_posix() in CORPUS_INVALID:
            continue
        raw = path.read_bytes()
        messages.append(Message(kafka_key(parse_event(orjson.loads(raw))).encode(), raw))
    return messages


def _time(seconds: int) -> str:
    return (BASE_TIME + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _run_event(
    event_type: str,
    run_id: str,
    job: str,
    at: int,
    parent: tuple[str, str] | None,
    io: tuple[str, str] | None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventType": event_type,
        "eventTime": _time(at),
        "run": {"runId": run_id},
        "job": {"namespace": NAMESPACE, "name": job},
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    if parent is not None:
        ref = {"run": {"runId": parent[0]}, "job": {"namespace": NAMESPACE, "name": parent[1]}}
        event["run"]["facets"] = {
            "parent": {
                "_producer": PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet",
                **ref,
                "root": ref,
            }
        }
    if io is not None:
        event["inputs"] = [{"namespace": NAMESPACE, "name": io[0]}]
        event["outputs"] = [{"namespace": NAMESPACE, "name": io[1]}]
    return event


@dataclass(frozen=True)
class Chain:
    """A DAG run and its task runs: ``tasks`` runs, task k reading ``datasets[k]`` and writing ``k+1``."""

    tag: str
    number: int
    dag_run: str
    task_runs: tuple[str, ...]

    @property
    def dag(self) -> str:
        return f"{self.tag}-dag-{self.number}"

    @property
    def datasets(self) -> list[str]:
        return [f"{self.tag}-{self.number}-ds{k}" for k in range(len(self.task_runs) + 1)]

    def events(self) -> list[dict[str, Any]]:
        """START of the DAG run, START/COMPLETE of each task in turn, COMPLETE of the DAG run."""
        at = self.number * 1000
        events = [_run_event("START", self.dag_run, self.dag, at, None, None)]
        for k, run_id in enumerate(self.task_runs):
            job = f"{self.dag}.task{k}"
            io = (self.datasets[k], self.datasets[k + 1])
            events.append(_run_event("START", run_id, job, at + 10 * k + 1, (self.dag_run, self.dag), io))
            events.append(_run_event("COMPLETE", run_id, job, at + 10 * k + 5, (self.dag_run, self.dag), io))
        events.append(_run_event("COMPLETE", self.dag_run, self.dag, at + 999, None, None))
        return events


def make_chains(tag: str, count: int, tasks: int) -> list[Chain]:
    """``count`` chains of ``tasks`` tasks, each with fresh run ids."""
    return [
        Chain(tag, n, str(uuid.uuid4()), tuple(str(uuid.uuid4()) for _ in range(tasks))) for n in range(count)
    ]


def interleave(chains: Sequence[Chain]) -> list[Message]:
    """The chains' events round-robin (as concurrent DAGs emit them), each chain in its own order."""
    queues = [chain.events() for chain in chains]
    messages: list[Message] = []
    while any(queues):
        for queue in queues:
            if queue:
                messages.append(event_message(queue.pop(0)))
    return messages


# ------------------------------------------------------------------ Kafka


async def produce(bootstrap: str, topic: str, messages: Iterable[Message]) -> list[tuple[int, int]]:
    """Produce in order with ``acks=all``; return each message's (partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        pending = [await producer.send(topic, value=m.value, key=m.key) for m in messages]
        metadata = await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return [(int(md.partition), int(md.offset)) for md in metadata]


async def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    """Create topic ``name`` (replication 1) and wait until every partition has a leader."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])

        async def led() -> bool:
            [described] = await admin.describe_topics([name])
            leaders = [p for p in described["partitions"] if p["leader"] >= 0]
            return described["error_code"] == 0 and len(leaders) == partitions

        await eventually(led, 30, f"topic {name} with {partitions} led partitions")
    finally:
        await admin.close()


async def delete_topic(bootstrap: str, name: str) -> None:
    """Delete topic ``name`` (a test's own, created by :func:`create_topic`)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Partition → offset the next message will get."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap)  # no group: every partition
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert partitions, f"topic {topic} has no partitions"
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {tp.partition: int(offset) for tp, offset in ends.items()}


async def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Any]:
    """The first ``count`` records of ``topic`` (every partition, from the start, no group)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout:.0f}s")
        await asyncio.sleep(0.1)


async def wait_all_committed(bootstrap: str, group: str, topic: str, timeout: float = 90.0) -> dict[int, int]:
    """Wait until ``group`` committed every message of ``topic``; return the end offsets."""
    ends = await end_offsets(bootstrap, topic)

    async def done() -> bool:
        committed = await committed_offsets(bootstrap, group, topic)
        return all(committed.get(p, 0) == end for p, end in ends.items() if end > 0)

    await eventually(done, timeout, f"group {group} committing all of {ends}")
    return ends


# ------------------------------------------------------------------ graph checks


def duplicate_counts(driver: Driver) -> tuple[int, int]:
    """(node keys held by more than one node, (type, source, target) held by more than one edge)."""
    with driver.session() as session:
        nodes = session.run(
            "MATCH (n) WHERE n.key IS NOT NULL "
            "WITH n.key AS k, count(*) AS c WHERE c > 1 RETURN count(*) AS d"
        ).single(strict=True)["d"]
        edges = session.run(
            "MATCH (a)-[r]->(b) WITH a, b, type(r) AS t, count(*) AS c WHERE c > 1 RETURN count(*) AS d"
        ).single(strict=True)["d"]
    return int(nodes), int(edges)


# ------------------------------------------------------------------ the consume process

_START_LINE = re.compile(r"consume: kafka .* health on (http://\S+)")


class ConsumeProcess:
    """``python -m olgraph consume …`` as a child process; its stderr goes to ``log_path``."""

    def __init__(self, args: Sequence[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("OLGRAPH_")}
        child_env |= {"PYTHONPATH": str(REPO / "src"), "PYTHONUNBUFFERED": "1"} | (env or {})
        self.process = subprocess.Popen(
            [sys.executable, *CONSUME_COMMAND, *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=child_env,
            cwd=log_path.parent,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def wait_started(self, timeout: float = 60.0) -> str:
        """The health URL from the start-up line; fails with the log when it does not come."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if match := _START_LINE.search(line):
                    return match.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"consume did not start: stdout {self.lines}\nstderr:\n{self.stderr()}")

    def stderr(self) -> str:
        """The end of what the process wrote to stderr."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL: no drain, no commit, no leaving the group."""
        self.process.kill()
        self.process.wait(10)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, then the exit status (killed, and failing the test, after ``timeout``)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"consume ignored SIGTERM for {timeout}s:\n{self.stderr()}") from None

    def close(self) -> None:
        """Reap the process whatever happened (idempotent)."""
        if self.process.poll() is None:
            self.kill()
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


WorkerFactory = Callable[..., AbstractAsyncContextManager[KafkaConsumerWorker]]
"""The ``run_worker`` fixture: an in-process worker as an async context manager."""

ProcessFactory = Callable[..., ConsumeProcess]
"""The ``consume_process`` fixture: a ``python -m olgraph consume`` subprocess."""
