"""Fixtures for a real Neo4j and a real Kafka, resolved in this order; never a mock, never a silent skip.

1. ``$NEO4J_URI`` / ``$KAFKA_BOOTSTRAP_SERVERS`` (a server you run yourself; Neo4j with auth disabled,
   or set NEO4J_USERNAME/NEO4J_PASSWORD);
2. the local launchers ``olgraph.devservices.neo4j`` / ``.kafka`` (Maven Central jars, started on
   127.0.0.1 and stopped at session end only if this session started them). These servers are
   private to the checkout: their own services folder (:data:`TEST_SERVICES_CACHE`:
   ``<checkout>/.cache/test-services`` or ``$OLGRAPH_TEST_SERVICES_CACHE``) and their own free
   ports, never the 7687/9092 of ``olgraph services up``; Neo4j with its generated password;
3. testcontainers, where a Docker engine is reachable;
4. otherwise every test that needs the server fails with the reasons.

The session's Neo4j is described to every test and every subprocess a test starts by
``NEO4J_URI``, ``NEO4J_USERNAME`` and ``NEO4J_PASSWORD`` in the environment (set for the
session), and to fixtures by ``neo4j_uri`` and ``neo4j_auth``.

Kafka tests get fresh, uniquely named topics (``kafka_topic``, ``kafka_config``), so they never
see each other's messages even on a shared broker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import os
import re
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError, for_code
from neo4j import Driver, GraphDatabase

from olgraph.config import KafkaConfig
from olgraph.devservices import Launcher, ServiceError, ServiceInfo
from olgraph.devservices import kafka as kafka_launcher
from olgraph.devservices import neo4j as neo4j_launcher
from service_paths import TEST_SERVICES_CACHE

CONTAINER_IMAGE = "neo4j:5.26"
KAFKA_CONTAINER_IMAGE = "confluentinc/cp-kafka:7.6.0"
KAFKA_TEST_PARTITIONS = 3
KAFKA_ADMIN_TIMEOUT = 30.0
T = TypeVar("T")


def _provide(
    service: str,
    env_var: str,
    launcher: Launcher,
    start_container: Callable[[list[str]], Any],
    address: Callable[[Any], str],
) -> Iterator[ServiceInfo | str]:
    """The real ``service`` for the whole session, resolved as the module docstring says:
    ``env_var`` (a server of your own: its address) → the local launcher in the checkout's
    private services folder (its :class:`ServiceInfo`; stopped at the end only if this session
    started it) → testcontainers where a Docker engine answers (its address) → fail, saying why."""
    from_env = os.environ.get(env_var)
    if from_env:
        yield from_env
        return
    problems: list[str] = []
    try:
        info = launcher.up(TEST_SERVICES_CACHE, any_port=True)
    except ServiceError as exc:
        problems.append(f"local launcher (olgraph services up {service.lower()}): {exc}")
    else:
        yield info
        if info.started:
            launcher.down(TEST_SERVICES_CACHE)
        return
    container = start_container(problems)
    if container is None:
        pytest.fail(f"no {service} for the tests:\n" + "\n".join(problems), pytrace=False)
    try:
        yield address(container)
    finally:
        container.stop()


@pytest.fixture(scope="session")
def neo4j_uri() -> Iterator[str]:
    """Bolt URI of a real Neo4j shared by the whole test session (credentials: ``neo4j_auth``)."""
    for found in _provide(
        "Neo4j", "NEO4J_URI", neo4j_launcher, _start_container, lambda c: str(c.get_connection_url())
    ):
        if isinstance(found, str):
            yield found
            continue
        described = {"NEO4J_URI": found.uri, "NEO4J_USERNAME": found.user, "NEO4J_PASSWORD": found.password}
        with pytest.MonkeyPatch.context() as patch:
            for name, value in described.items():
                if value:
                    patch.setenv(name, value)
            yield found.uri


@pytest.fixture
def neo4j_auth(neo4j_uri: str) -> tuple[str, str] | None:
    """The (user, password) of :func:`neo4j_uri`, or None when it runs without authentication."""
    return _auth_from_env()


@pytest.fixture
def neo4j_driver(neo4j_uri: str) -> Iterator[Driver]:
    """A synchronous driver on :func:`neo4j_uri`, closed after the test."""
    with GraphDatabase.driver(neo4j_uri, auth=_auth_from_env()) as driver:
        yield driver


@pytest.fixture
def clean_neo4j(neo4j_driver: Driver) -> None:
    """Start the test with no nodes or relationships; indexes and constraints are kept."""
    with neo4j_driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def _auth_from_env() -> tuple[str, str] | None:
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    return (user, password) if user and password else None


def _start_container(problems: list[str]) -> Any:
    """A started Neo4j testcontainer with auth disabled, or None (reason appended to ``problems``)."""
    try:
        from docker.errors import DockerException  # noqa: PLC0415 - optional, heavy
        from testcontainers.community.neo4j import Neo4jContainer  # noqa: PLC0415
    except ImportError as exc:
        problems.append(f"testcontainers: not installed ({exc})")
        return None
    with warnings.catch_warnings():
        # docker-py leaves its probe socket unclosed when no engine answers; warnings are errors here.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            container = Neo4jContainer(CONTAINER_IMAGE)
            container.with_env("NEO4J_dbms_security_auth__enabled", "false").start()
        except DockerException as exc:
            problems.append(f"testcontainers: no Docker engine reachable ({exc})")
            container = None
        gc.collect()
    return container


# --- Kafka ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a real Kafka broker shared by the whole test session."""
    for found in _provide(
        "Kafka",
        "KAFKA_BOOTSTRAP_SERVERS",
        kafka_launcher,
        _start_kafka_container,
        lambda c: str(c.get_bootstrap_server()),
    ):
        yield found if isinstance(found, str) else found.uri


@pytest.fixture
def kafka_topic(kafka_bootstrap: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh topic with 3 partitions, named after the test plus a uuid; deleted afterwards."""
    name = _unique_kafka_name(request.node.name)
    with _kafka_topics(kafka_bootstrap, [name]):
        yield name


@pytest.fixture
def kafka_config(kafka_bootstrap: str, kafka_topic: str) -> Iterator[KafkaConfig]:
    """Settings for a producer/consumer pair on fresh topics (``<topic>``, ``<topic>.dlq``) and group."""
    dead_letter_topic = f"{kafka_topic}.dlq"
    with _kafka_topics(kafka_bootstrap, [dead_letter_topic]):
        yield KafkaConfig(
            bootstrap_servers=kafka_bootstrap,
            topic=kafka_topic,
            dead_letter_topic=dead_letter_topic,
            group_id=f"{kafka_topic}-group",
        )


def _unique_kafka_name(hint: str) -> str:
    """``olgraph-test-<hint>-<uuid>``, with ``hint`` cut to the characters and length Kafka allows."""
    cleaned = re.sub(r"[^a-zA-Z0-9-]+", "-", hint).strip("-")[:80]
    return f"olgraph-test-{cleaned}-{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def _kafka_topics(bootstrap: str, names: list[str]) -> Iterator[None]:
    """Create ``names`` (3 partitions each, leaders elected) on entry; delete them on exit."""
    _run_in_fresh_loop(_create_topics(bootstrap, names, KAFKA_TEST_PARTITIONS))
    try:
        yield
    finally:
        _run_in_fresh_loop(_delete_topics(bootstrap, names))


def _run_in_fresh_loop(coro: Coroutine[Any, Any, T], timeout: float = 2 * KAFKA_ADMIN_TIMEOUT) -> T:
    """Run ``coro`` to completion on its own event loop in a worker thread.

    Sync fixtures use it for admin calls; it never touches the loop pytest-asyncio gives the test.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout)


@contextlib.asynccontextmanager
async def _kafka_admin(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(KAFKA_ADMIN_TIMEOUT * 1000)
    )
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


def _raise_topic_errors(action: str, errors: list[tuple[Any, ...]], tolerated: set[int]) -> None:
    """Raise the first per-topic error of an admin response (``(topic, error_code, ...)`` tuples)."""
    for topic, code, *_rest in errors:
        if code != 0 and code not in tolerated:
            raise for_code(code)(f"cannot {action} topic {topic}")


async def _create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    async with _kafka_admin(bootstrap) as admin:
        topics = [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names]
        response = await admin.create_topics(topics)
        _raise_topic_errors("create", response.topic_errors, {TopicAlreadyExistsError.errno})
        await _wait_for_leaders(admin, names, partitions)


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str], partitions: int) -> None:
    """Return once every partition of ``names`` has a leader, so a first send never races the election."""
    deadline = time.monotonic() + KAFKA_ADMIN_TIMEOUT
    while True:
        described = await admin.describe_topics(names)
        led = {
            topic["topic"]: sum(1 for p in topic["partitions"] if p["leader"] >= 0)
            for topic in described
            if topic["error_code"] == 0
        }
        if all(led.get(name) == partitions for name in names):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics {names} still lack leaders after {KAFKA_ADMIN_TIMEOUT:.0f}s")
        await asyncio.sleep(0.1)


async def _delete_topics(bootstrap: str, names: list[str]) -> None:
    async with _kafka_admin(bootstrap) as admin:
        response = await admin.delete_topics(names)
        # A test may have deleted its topic itself.
        _raise_topic_errors("delete", response.topic_error_codes, {UnknownTopicOrPartitionError.errno})


def _start_kafka_container(problems: list[str]) -> Any:
    """A started Kafka testcontainer (KRaft), or None (reason appended to ``problems``)."""
    try:
        from docker.errors import DockerException  # noqa: PLC0415 - optional, heavy
        from testcontainers.community.kafka import KafkaContainer  # noqa: PLC0415
    except ImportError as exc:
        problems.append(f"testcontainers: not installed ({exc})")
        return None
    with warnings.catch_warnings():
        # docker-py leaves its probe socket unclosed when no engine answers; warnings are errors here.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            container = KafkaContainer(KAFKA_CONTAINER_IMAGE).with_kraft()
            container.with_env("KAFKA_NUM_PARTITIONS", str(KAFKA_TEST_PARTITIONS)).start()
        except DockerException as exc:
            problems.append(f"testcontainers: no Docker engine reachable ({exc})")
            container = None
        gc.collect()
    return container
