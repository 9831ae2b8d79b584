"""Fixtures for the ``olgraph consume`` tests: a real Neo4j store, Kafka consumer workers run in
this process, and ``python -m olgraph consume`` child processes — all cleaned up after the test.

Topics, dead-letter topic and group come from the session fixtures ``kafka_config`` (fresh,
uniquely named per test) and Neo4j from ``neo4j_uri``/``clean_neo4j`` (tests/conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from consume_support import ConsumeProcess, ProcessFactory, WorkerFactory

from olgraph.config import ConsumerSettings, KafkaConfig
from olgraph.consume.kafka_consumer import KafkaConsumerWorker, KafkaTuning
from olgraph.ingest.reader import EventReader
from olgraph.metrics import Metrics
from olgraph.store.base import GraphStore
from olgraph.store.neo4j import Neo4jStore

FAST = ConsumerSettings(batch_size=100, backoff_initial_seconds=0.05, backoff_max_seconds=0.5)
"""Small batches (many commits) and short back-offs, so the tests see several rounds quickly."""

TEST_TUNING = KafkaTuning(session_timeout_ms=6_000, heartbeat_interval_ms=1_000, rebalance_timeout_ms=20_000)
"""A killed member's partitions move on after 6 s instead of 10 s."""


def neo4j_credentials() -> tuple[str | None, str | None]:
    """The user and password tests/conftest.py's ``neo4j_uri`` expects (none for the local launcher)."""
    return os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")


@pytest.fixture
async def neo4j_store(neo4j_uri: str, clean_neo4j: None) -> AsyncIterator[Neo4jStore]:
    """An open :class:`Neo4jStore` on an empty graph."""
    user, password = neo4j_credentials()
    store = Neo4jStore(neo4j_uri, user=user, password=password)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def run_worker() -> WorkerFactory:
    """``async with run_worker(config, store) as worker:`` a started worker, stopped on exit.

    Keyword arguments: ``settings`` (default :data:`FAST`), ``metrics``, ``tuning``.
    """

    @asynccontextmanager
    async def start(
        config: KafkaConfig,
        store: GraphStore,
        *,
        settings: ConsumerSettings = FAST,
        metrics: Metrics | None = None,
        tuning: KafkaTuning = TEST_TUNING,
    ) -> AsyncIterator[KafkaConsumerWorker]:
        worker = KafkaConsumerWorker(
            config, store, settings, metrics or Metrics(), EventReader(), tuning=tuning
        )
        await worker.start()
        try:
            yield worker
        finally:
            await worker.stop()

    return start


@pytest.fixture
def consume_process(kafka_config: KafkaConfig, neo4j_uri: str, tmp_path: Path) -> Iterator[ProcessFactory]:
    """Start ``python -m olgraph consume`` on the test's topics, group and Neo4j (health on a free port).

    ``consume_process(*extra_args, env={...})``; every process is reaped after the test, and the
    stderr of each is shown when the test failed.
    """
    started: list[ConsumeProcess] = []

    def start(*extra: str, env: dict[str, str] | None = None) -> ConsumeProcess:
        args: Sequence[str] = [
            "--kafka-bootstrap",
            kafka_config.bootstrap_servers,
            "--topic",
            kafka_config.topic,
            "--dead-letter-topic",
            kafka_config.dead_letter_topic,
            "--group",
            kafka_config.group_id,
            "--neo4j-uri",
            neo4j_uri,
            "--health-port",
            "0",
            *extra,
        ]
        user, password = neo4j_credentials()
        credentials = {
            "OLGRAPH_STORE__NEO4J__USER": user or "",
            "OLGRAPH_STORE__NEO4J__PASSWORD": password or "",
        }
        child_env = (
            (credentials if user else {}) | {"OLGRAPH_STORE__NEO4J__CREATE_SCHEMA": "true"} | (env or {})
        )
        process = ConsumeProcess(args, tmp_path / f"consume-{len(started)}.log", child_env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()
        # Captured output: pytest shows it only when the test failed.
        print(f"--- stderr of {process.log_path.name} ---\n{process.stderr()}")
