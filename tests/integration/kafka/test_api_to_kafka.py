"""The API replica of the distributed deployment against a real broker: every accepted event is on
the topic byte for byte, keyed as the OpenLineage clients key it; a Kafka outage is a 503, never a
2xx; the replica recovers by itself; ``olgraph api`` runs and stops cleanly as a process.
"""

from __future__ import annotations

import asyncio
import collections
import gzip
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from fastapi import FastAPI
from openlineage.client import event_v2
from openlineage.client.generated import parent_run
from openlineage.client.transport.kafka import KafkaConfig as ClientKafkaConfig
from openlineage.client.transport.kafka import KafkaTransport

from olgraph.api.app import create_app
from olgraph.config import KafkaConfig, Settings
from olgraph.errors import InvalidEvent
from olgraph.ingest import ParsedEvent, kafka_key
from olgraph.ingest.parse import canonical_json

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO / ".." / "shared" / "corpus"
JSON = {"content-type": "application/json"}
READ_TIMEOUT = 60.0


@pytest.fixture(autouse=True)
def _no_olgraph_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OLGRAPH_"):
            monkeypatch.delenv(name)


# --- helpers -------------------------------------------------------------------------------------------


def api_settings(data_dir: Path, kafka: KafkaConfig) -> Settings:
    """An API replica (Kafka sink, no consumer) with the embedded store under ``data_dir``."""
    return Settings(data_dir=data_dir, log={"kind": "kafka", "kafka": kafka})


@asynccontextmanager
async def api_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://olgraph.test", timeout=30
        ) as client:
            yield app, client


def counter(app: FastAPI, name: str, **labels: str) -> float:
    value = app.state.runtime.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else float(value)


async def topic_partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert described["error_code"] == 0, described
    return [
        TopicPartition(topic, p["partition"])
        for p in sorted(described["partitions"], key=lambda p: p["partition"])
    ]


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every message on ``topic``, partition by partition in offset order (bounded wait)."""
    partitions = await topic_partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        deadline = time.monotonic() + READ_TIMEOUT
        while len(records) < sum(ends.values()):
            assert time.monotonic() < deadline, "the topic could not be read in time"
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


def corpus_events() -> list[tuple[bytes, ParsedEvent]]:
    """``(bytes olgraph logs, parsed event)`` of every corpus event olgraph accepts: the file's
    bytes, or the canonical JSON of its redacted form when it carries a secret (one does)."""
    accepted = []
    reader = Settings().event_reader()
    for path in sorted(CORPUS.rglob("*.json")):
        try:
            event, logged = reader.read_event(path.read_bytes())
        except InvalidEvent:
            continue
        accepted.append((logged, event))
    return accepted


def client_key(event: ParsedEvent) -> str | None:
    """The key openlineage-python's Kafka transport gives the same event."""
    raw = event.raw
    transport = object.__new__(KafkaTransport)  # no producer: only the key function is used
    if event.kind == "dataset":
        dataset = event_v2.StaticDataset(namespace=raw["dataset"]["namespace"], name=raw["dataset"]["name"])
        return transport._get_message_key(
            event_v2.DatasetEvent(eventTime="2024-01-01T00:00:00Z", dataset=dataset)
        )
    job = event_v2.Job(namespace=raw["job"]["namespace"], name=raw["job"]["name"])
    if event.kind == "job":
        return transport._get_message_key(event_v2.JobEvent(eventTime="2024-01-01T00:00:00Z", job=job))
    facets: dict[str, Any] = {}
    parent = (raw["run"].get("facets") or {}).get("parent")
    if parent:
        root = parent.get("root")
        facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent["run"]["runId"]),
            job=parent_run.Job(namespace=parent["job"]["namespace"], name=parent["job"]["name"]),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=root["run"]["runId"]),
                job=parent_run.RootJob(namespace=root["job"]["namespace"], name=root["job"]["name"]),
            )
            if root
            else None,
        )
    run = event_v2.Run(runId=raw["run"]["runId"], facets=facets)
    return transport._get_message_key(event_v2.RunEvent(eventTime="2024-01-01T00:00:00Z", run=run, job=job))


def chain_events(chain: int, tasks: int = 3) -> list[dict[str, Any]]:
    """A DAG run and its task runs (parent and root facets pointing at the DAG), START then COMPLETE."""
    dag_run = str(uuid.uuid4())
    dag = {"namespace": "airflow", "name": f"dag{chain}"}
    parent = {"run": {"runId": dag_run}, "job": dag, "root": {"run": {"runId": dag_run}, "job": dag}}
    events = []
    for state, minute in (("START", 0), ("COMPLETE", 30)):
        events.append(_run_event(dag_run, dag, state, minute, {}))
        for task in range(tasks):
            job = {"namespace": "airflow", "name": f"dag{chain}.task{task}"}
            run_id = str(uuid.uuid5(uuid.UUID(dag_run), str(task)))
            events.append(_run_event(run_id, job, state, minute + task + 1, {"parent": parent}))
    return events


def _run_event(
    run_id: str, job: dict[str, str], state: str, minute: int, facets: dict[str, Any]
) -> dict[str, Any]:
    return {
        "eventType": state,
        "eventTime": f"2024-05-01T12:{minute:02d}:00Z",
        "run": {"runId": run_id, "facets": facets},
        "job": job,
        "producer": "https://example.org/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def tcp_forwarder(port: int, target: str) -> AsyncIterator[None]:
    """Forward connections on 127.0.0.1:``port`` to ``target`` (``host:port``) while open."""
    host, target_port = target.rsplit(":", 1)
    pipes: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def forward(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(target_port))
        for task in (pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer)):
            pipes.add(asyncio.create_task(task))

    server = await asyncio.start_server(forward, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        await server.wait_closed()


# --- in-process app against the broker ---------------------------------------------------------------


@pytest.mark.kafka
async def test_accepted_events_are_on_the_topic_byte_for_byte_with_the_clients_keys(
    tmp_path: Path, kafka_config: KafkaConfig
) -> None:
    corpus = corpus_events()
    assert len(corpus) > 30
    expected: collections.Counter[tuple[bytes, bytes]] = collections.Counter()
    async with api_app(api_settings(tmp_path, kafka_config)) as (app, client):
        ready = await client.get("/readyz")
        assert ready.json() == {"status": "ready", "checks": {"kafka": "ok"}}
        everything = await client.get("/readyz", params={"scope": "all"})
        assert everything.json() == {"status": "ready", "checks": {"store": "ok", "kafka": "ok"}}
        for raw, event in corpus:
            response = await client.post("/api/v1/lineage", content=raw, headers=JSON)
            assert response.status_code == 201, response.text
            expected[(kafka_key(event).encode(), raw)] += 1
        first_raw, first_event = corpus[0]
        gzipped = {**JSON, "content-encoding": "gzip"}
        response = await client.post("/api/v1/lineage", content=gzip.compress(first_raw), headers=gzipped)
        assert response.status_code == 201
        expected[(kafka_key(first_event).encode(), first_raw)] += 1  # the body as decompressed
        batch = [orjson.loads(raw) for raw, _ in corpus]
        answer = await client.post("/api/v1/lineage/batch", content=orjson.dumps(batch), headers=JSON)
        assert answer.json()["summary"] == {
            "received": len(corpus),
            "successful": len(corpus),
            "failed": 0,
            "retriable": 0,
            "non_retriable": 0,
        }
        for element, (_, event) in zip(batch, corpus, strict=True):
            expected[(kafka_key(event).encode(), canonical_json(element))] += 1
        assert counter(app, "olgraph_events_accepted_total", endpoint="lineage") == len(corpus) + 1
        assert counter(app, "olgraph_events_accepted_total", endpoint="batch") == len(corpus)
    records = await read_topic(kafka_config.bootstrap_servers, kafka_config.topic)
    assert collections.Counter((r.key, r.value) for r in records) == expected  # nothing lost, nothing extra
    for _, event in corpus:
        assert kafka_key(event) == client_key(event)


@pytest.mark.kafka
async def test_one_batch_element_over_the_message_limit_fails_alone(
    tmp_path: Path, kafka_config: KafkaConfig
) -> None:
    """Issue 14: one element over Kafka's message size failed the whole batch with 413. Only that
    element fails now, reported in ``failed_events`` as the OpenLineage batch API describes."""
    corpus = corpus_events()[:3]
    huge = orjson.loads(corpus[0][0])
    # Over the 1 MB message, but each string under limits.max_string_chars (1 MiB), so that the
    # Kafka refusal, not the ingest limit, is what this element meets.
    huge["job"]["facets"] = {
        "documentation": {"description": "x" * 600_000},
        "sourceCode": {"language": "python", "sourceCode": "y" * 600_000},
    }
    batch = [orjson.loads(corpus[0][0]), huge, orjson.loads(corpus[1][0])]
    async with api_app(api_settings(tmp_path, kafka_config)) as (app, client):
        answer = await client.post("/api/v1/lineage/batch", content=orjson.dumps(batch), headers=JSON)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["status"] == "partial_success"
        assert result["summary"] == {
            "received": 3,
            "successful": 2,
            "failed": 1,
            "retriable": 0,
            "non_retriable": 1,
        }
        [failed] = result["failed_events"]
        assert failed["index"] == 1
        assert failed["retriable"] is False
        assert failed["reason"].endswith("bytes, over the 1000000 bytes a Kafka message may hold")
        assert counter(app, "olgraph_events_rejected_total", reason="too_large") == 1
        alone = await client.post("/api/v1/lineage", content=orjson.dumps(huge), headers=JSON)
        assert alone.status_code == 413  # a single event over the limit: the request is refused
    records = await read_topic(kafka_config.bootstrap_servers, kafka_config.topic)
    assert sorted(r.value for r in records) == sorted(canonical_json(e) for e in (batch[0], batch[2]))


@pytest.mark.kafka
async def test_a_job_chain_stays_in_one_partition_in_order(tmp_path: Path, kafka_config: KafkaConfig) -> None:
    chains = {chain: chain_events(chain) for chain in range(12)}
    async with api_app(api_settings(tmp_path, kafka_config)) as (_, client):
        # Interleave the chains, as concurrent DAGs would; within a chain the order is START..COMPLETE.
        for step in range(len(chains[0])):
            for events in chains.values():
                response = await client.post(
                    "/api/v1/lineage", content=orjson.dumps(events[step]), headers=JSON
                )
                assert response.status_code == 201
    records = await read_topic(kafka_config.bootstrap_servers, kafka_config.topic)
    assert len(records) == sum(len(events) for events in chains.values())
    partitions = set()
    for chain, events in chains.items():
        mine = [r for r in records if r.key == f"run:airflow/dag{chain}".encode()]
        assert len({r.partition for r in mine}) == 1, f"chain {chain} spread over partitions"
        assert [orjson.loads(r.value) for r in mine] == events  # offset order = the order sent
        partitions.add(mine[0].partition)
    assert len(partitions) > 1  # different chains still spread over the partitions


@pytest.mark.kafka
async def test_the_python_clients_kafka_transport_lands_in_the_same_partition(
    tmp_path: Path, kafka_config: KafkaConfig
) -> None:
    """With ``partitioner: murmur2_random`` (the Java client's and aiokafka's hash), events that
    openlineage-python writes to Kafka and events POSTed to olgraph share partitions per key.
    (confluent-kafka's default, ``consistent_random``, hashes keys differently.)"""
    config = {"bootstrap.servers": kafka_config.bootstrap_servers, "partitioner": "murmur2_random"}
    transport = KafkaTransport(ClientKafkaConfig(config=config, topic=kafka_config.topic))
    jobs = [f"job{n}" for n in range(8)]
    for name in jobs:
        run = event_v2.Run(runId=str(uuid.uuid4()))
        event = event_v2.RunEvent(
            eventType=event_v2.RunState.START,
            eventTime="2024-05-01T12:00:00Z",
            run=run,
            job=event_v2.Job(namespace="clients", name=name),
            producer="https://example.org/tests",
        )
        transport.emit(event)
    assert transport.close(timeout=30)
    async with api_app(api_settings(tmp_path, kafka_config)) as (_, client):
        for name in jobs:
            event = _run_event(str(uuid.uuid4()), {"namespace": "clients", "name": name}, "START", 0, {})
            response = await client.post("/api/v1/lineage", content=orjson.dumps(event), headers=JSON)
            assert response.status_code == 201
    by_key: dict[bytes, set[int]] = collections.defaultdict(set)
    for record in await read_topic(kafka_config.bootstrap_servers, kafka_config.topic):
        by_key[record.key].add(record.partition)
    assert {key.decode() for key in by_key} == {f"run:clients/{name}" for name in jobs}
    assert all(len(partitions) == 1 for partitions in by_key.values()), by_key
    assert len(set().union(*by_key.values())) > 1


@pytest.mark.kafka
async def test_an_api_replica_started_before_kafka_recovers_when_kafka_answers(
    tmp_path: Path, kafka_config: KafkaConfig
) -> None:
    port = closed_port()
    kafka = kafka_config.model_copy(update={"bootstrap_servers": f"127.0.0.1:{port}"})
    event = chain_events(0, tasks=0)[0]
    async with api_app(api_settings(tmp_path, kafka)) as (app, client):
        down = await client.get("/readyz")
        assert down.status_code == 503
        assert "unreachable" in down.json()["checks"]["kafka"]
        refused = await client.post("/api/v1/lineage", content=orjson.dumps(event), headers=JSON)
        assert (refused.status_code, refused.headers["retry-after"]) == (503, "5")
        # The brokers become reachable (bootstrap through the forwarder; the broker then advertises itself).
        async with tcp_forwarder(port, kafka_config.bootstrap_servers):
            deadline = time.monotonic() + 30
            while (await client.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, "the replica did not become ready"
                await asyncio.sleep(0.2)
            accepted = await client.post("/api/v1/lineage", content=orjson.dumps(event), headers=JSON)
            assert accepted.status_code == 201
        assert counter(app, "olgraph_events_rejected_total", reason="unavailable") == 1
    records = await read_topic(kafka_config.bootstrap_servers, kafka_config.topic)
    assert [orjson.loads(r.value) for r in records] == [event]  # the refused attempt left nothing behind


# --- the `olgraph api` process -----------------------------------------------------------------------


@dataclass
class ApiProcess:
    process: subprocess.Popen[str]
    url: str
    startup_line: str


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLGRAPH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


@contextmanager
def api_process(tmp_path: Path, bootstrap: str, topic: str) -> Iterator[ApiProcess]:
    port = closed_port()
    command = [sys.executable, "-m", "olgraph", "api", "--kafka-bootstrap", bootstrap, "--topic", topic]
    command += ["--port", str(port), "--store", "embedded", "--data-dir", str(tmp_path / "data")]
    command += ["--log-level", "warning"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()  # printed once listening
            assert line, f"api exited before listening: {process.communicate(timeout=10)}"
            yield ApiProcess(process, f"http://127.0.0.1:{port}", line)
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate()


def _terminate(api: ApiProcess) -> tuple[int, str]:
    """SIGTERM, as a supervisor stops it; the exit status and stderr."""
    api.process.send_signal(signal.SIGTERM)
    _, stderr = api.process.communicate(timeout=30)
    return api.process.returncode, stderr


@pytest.mark.kafka
async def test_olgraph_api_process_sends_to_kafka_and_stops_on_sigterm(
    tmp_path: Path, kafka_config: KafkaConfig
) -> None:
    servers, topic = kafka_config.bootstrap_servers, kafka_config.topic
    event = chain_events(1, tasks=0)[0]
    with api_process(tmp_path, servers, topic) as api:
        assert api.startup_line == (
            f"olgraph 0.1.0 api listening on {api.url} "
            f"(events → kafka {servers} topic {topic}; store: embedded {tmp_path / 'data' / 'graph.db'})"
        )
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            assert (await client.get("/readyz")).status_code == 200
            response = await client.post("/api/v1/lineage", content=orjson.dumps(event), headers=JSON)
            assert response.status_code == 201
            metrics = (await client.get("/metrics")).text
            assert 'olgraph_events_accepted_total{endpoint="lineage"} 1.0' in metrics
        status, stderr = _terminate(api)
        assert status == 0, stderr
        assert "olgraph stopped" in stderr
    records = await read_topic(servers, topic)
    assert [orjson.loads(r.value) for r in records] == [event]


def test_olgraph_api_process_starts_without_kafka_and_is_not_ready(tmp_path: Path) -> None:
    """No broker needed: the replica starts, says it is not ready, refuses ingest, stops cleanly."""
    servers = f"127.0.0.1:{closed_port()}"
    with api_process(tmp_path, servers, "nowhere") as api:
        with httpx.Client(base_url=api.url, timeout=30) as client:
            assert client.get("/healthz").status_code == 200
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["kafka"].startswith(f"Kafka at {servers} is unreachable")
            refused = client.post(
                "/api/v1/lineage", content=orjson.dumps(chain_events(2, 0)[0]), headers=JSON
            )
            assert (refused.status_code, refused.headers["retry-after"]) == (503, "5")
        status, stderr = _terminate(api)
        assert status == 0, stderr
        assert "warning: the embedded store is for single-box testing" in stderr
