"""The ingest benchmark's deployments and probes: fresh ``serve`` or ``api`` + ``consume`` runs,
their load generators, CPU and metrics readings, Kafka topics and an emptied Neo4j.

Used by ``bench/ingest.py``; nothing here measures on its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _support import (
    DEFAULT_LAUNCHER,
    BenchConfig,
    OlgraphProcess,
    free_port,
    neo4j_auth,
)
from workloads import Summary, WorkloadSpec, write_ndjson

BENCH = Path(__file__).resolve().parent
E2E_TIMEOUT = 1800.0
POLL = 0.1
PARTITIONS = 3  # as docker compose creates the events topic


@dataclass
class Deployment:
    """The olgraph processes of one mode, where to POST, and how far the consumer got."""

    mode: str
    url: str
    processes: dict[str, OlgraphProcess]
    applied: Callable[[], int]
    metrics_url: str
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


def workload(config: BenchConfig, seed: int, nodes: int) -> tuple[Path, Summary]:
    """``mixed`` events for ``nodes`` as NDJSON under the work dir (generation is never timed)."""
    path = config.work_dir / "ingest" / f"mixed-{seed}-{nodes}.ndjson"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        summary = write_ndjson(WorkloadSpec(kind="mixed", seed=seed, nodes=nodes), out)
    return path, summary


@contextlib.contextmanager
def loadgen(*args: str) -> Iterator[subprocess.Popen[str]]:
    """``bench/loadgen.py`` with ``args`` in its own process (its JSON comes on stdout); killed
    on the way out if still running (an error or Ctrl-C here)."""
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "loadgen.py"), *args], stdout=subprocess.PIPE, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def result_of(process: subprocess.Popen[str], timeout: float = E2E_TIMEOUT) -> dict[str, Any]:
    """The JSON a load generator printed; raises when it failed."""
    out, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"loadgen exited with {process.returncode}")
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return data


def metric_total(text: str, name: str) -> float:
    """Sum of every sample of ``name`` (all label sets) in Prometheus text."""
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return sum(float(value) for value in pattern.findall(text))


def scrape(url: str) -> str:
    """``GET url/metrics``."""
    return httpx.get(f"{url}/metrics", timeout=10).text


@contextlib.contextmanager
def baseline_server() -> Iterator[tuple[str, int]]:
    """The minimal ASGI app (``loadgen.py baseline``) on a free port: yields its URL and pid."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "loadgen.py"), "baseline", "--port", str(port)], start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("the baseline server did not start")
        yield url, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def create_topics(bootstrap: str, *topics: str) -> None:
    """Create ``topics`` with :data:`PARTITIONS` partitions (as the deployment's topics job does)."""
    import asyncio  # noqa: PLC0415

    from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: PLC0415

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
        finally:
            await admin.close()

    asyncio.run(create())


def empty_neo4j(uri: str) -> None:
    """Delete every node and relationship (olgraph's constraints and indexes stay)."""
    import neo4j  # noqa: PLC0415

    with neo4j.GraphDatabase.driver(uri, auth=neo4j_auth(uri)) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@contextlib.contextmanager
def consume_process(
    args: Sequence[str], data_dir: Path, launcher: Sequence[str] = DEFAULT_LAUNCHER
) -> Iterator[OlgraphProcess]:
    """``olgraph consume`` with its health port; yields once its ``/readyz`` answers 200."""
    port = free_port()
    with OlgraphProcess.start(
        ["consume", *args, "--health-port", str(port)], data_dir=data_dir, http=False, launcher=launcher
    ) as process:
        process.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{process.url}/readyz", timeout=5).status_code == 200:
                    break
            if process.process.poll() is not None:
                raise RuntimeError(f"olgraph consume exited:\n{process.stderr_tail()}")
            time.sleep(0.2)
        else:
            raise RuntimeError(f"olgraph consume never became ready:\n{process.stderr_tail()}")
        yield process


@contextlib.contextmanager
def deployment(
    mode: str,
    config: BenchConfig,
    kafka: str,
    neo4j: str,
    tag: str,
    *,
    launcher: Sequence[str] = DEFAULT_LAUNCHER,
) -> Iterator[Deployment]:
    """A fresh embedded (``serve``) or distributed (``api`` + ``consume``) deployment.

    ``launcher``: how Python runs olgraph (see :meth:`OlgraphProcess.start`).
    """
    data_dir = config.work_dir / "ingest" / f"{mode}-{tag}-{uuid.uuid4().hex[:6]}"
    try:
        yield from _deployment(mode, data_dir, kafka, neo4j, tag=tag, launcher=launcher)
    finally:  # a soak leaves gigabytes behind: every deployment is fresh, none is reused
        shutil.rmtree(data_dir, ignore_errors=True)


def _deployment(
    mode: str, data_dir: Path, kafka: str, neo4j: str, *, tag: str, launcher: Sequence[str]
) -> Iterator[Deployment]:
    if mode == "embedded":
        with OlgraphProcess.start(["serve"], data_dir=data_dir, launcher=launcher) as serve:
            url = str(serve.url)

            def applied_local() -> int:
                stats = httpx.get(f"{url}/api/v1/stats", timeout=10).json()
                return int(stats["applied"] + stats["failed"]) if stats["pending"] == 0 else 0

            yield Deployment(mode, url, {"serve": serve}, applied_local, url)
        return
    empty_neo4j(neo4j)
    topic = f"bench.ingest.{tag}.{uuid.uuid4().hex[:8]}"
    create_topics(kafka, topic, f"{topic}.dlq")
    common = ["--kafka-bootstrap", kafka, "--topic", topic, "--neo4j-uri", neo4j]
    consume_args = [*common, "--group", f"{topic}.group", "--dead-letter-topic", f"{topic}.dlq"]
    with (
        OlgraphProcess.start(["api", *common], data_dir=data_dir, launcher=launcher) as api,
        consume_process(consume_args, data_dir, launcher) as consume,
    ):
        health = str(consume.url)

        def applied_kafka() -> int:
            text = scrape(health)
            return int(
                metric_total(text, "olgraph_events_applied_total")
                + metric_total(text, "olgraph_dead_letters_total")
            )

        yield Deployment(mode, str(api.url), {"api": api, "consume": consume}, applied_kafka, health)


@contextlib.contextmanager
def api_only(config: BenchConfig, kafka: str, neo4j: str) -> Iterator[OlgraphProcess]:
    """``olgraph api`` on a new topic with no consumer: its accept rate alone."""
    topic = f"bench.accept.{uuid.uuid4().hex[:8]}"
    create_topics(kafka, topic)
    data_dir = config.work_dir / "ingest" / f"api-{uuid.uuid4().hex[:6]}"
    try:
        with OlgraphProcess.start(
            ["api", "--kafka-bootstrap", kafka, "--topic", topic, "--neo4j-uri", neo4j], data_dir=data_dir
        ) as api:
            yield api
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
