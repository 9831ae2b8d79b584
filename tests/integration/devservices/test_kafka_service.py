"""The local Kafka launcher and the Kafka fixtures against a real broker."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from click.testing import CliRunner

from kafka_offsets import group_offsets
from olgraph.cli.services import services
from olgraph.config import KafkaConfig
from olgraph.devservices import ServiceError, ServiceInfo, launchers
from olgraph.devservices import kafka as launcher
from olgraph.devservices._common import choose_port, port_accepts, read_json
from olgraph.devservices.kafka import KafkaPaths
from service_paths import Launched, launched_server

pytestmark = pytest.mark.kafka
T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on its own loop in a worker thread (from sync tests and fixtures)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result(120)


def _name(hint: str) -> str:
    return f"olgraph-test-{hint}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def started(kafka_bootstrap: str) -> Iterator[Launched]:
    """A launcher-started broker: the session's, or one of these tests' own (never a skip)."""
    yield from launched_server(launcher, kafka_bootstrap)


@pytest.fixture
def launched(started: Launched) -> ServiceInfo:
    return started.info


async def _produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _consume(
    bootstrap: str, topic: str, group: str, count: int, commit: bool
) -> list[tuple[int, bytes]]:
    """Read ``count`` messages as ``group`` from its committed offsets (or the start); commit if asked."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    received: list[tuple[int, bytes]] = []
    try:
        async with asyncio.timeout(60):
            while len(received) < count:
                batches = await consumer.getmany(timeout_ms=1000, max_records=count - len(received))
                received += [(m.partition, m.value or b"") for batch in batches.values() for m in batch]
        if commit:
            await consumer.commit()
    finally:
        await consumer.stop()
    return received


async def _committed_after_restart(
    bootstrap: str, group: str, timeout: float = 30.0
) -> dict[TopicPartition, int]:
    """Committed offsets once the restarted group coordinator has loaded them (bounded wait).

    Right after a restart the coordinator is still reading ``__consumer_offsets`` and answers
    with no offsets; consumers retry through that, and so does this.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while not (offsets := await group_offsets(bootstrap, group)):
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    return offsets


def _messages(count: int, prefix: str) -> list[tuple[bytes, bytes]]:
    return [(f"key-{i}".encode(), f"{prefix}-{i}".encode()) for i in range(count)]


async def test_produced_messages_come_back_from_every_partition(
    kafka_bootstrap: str, kafka_topic: str
) -> None:
    sent = _messages(30, "round-trip")

    await _produce(kafka_bootstrap, kafka_topic, sent)
    received = await _consume(kafka_bootstrap, kafka_topic, _name("group"), 30, commit=False)

    assert sorted(value for _, value in received) == sorted(value for _, value in sent)
    assert {partition for partition, _ in received} == {0, 1, 2}  # keys spread over the 3 partitions


async def test_kafka_config_names_fresh_topics_and_group(kafka_config: KafkaConfig, kafka_topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_config.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([kafka_config.topic, kafka_config.dead_letter_topic])
        groups = [group for group, _ in await admin.list_consumer_groups()]
    finally:
        await admin.close()

    assert kafka_config.topic == kafka_topic
    assert kafka_config.dead_letter_topic == f"{kafka_topic}.dlq"
    assert [(t["error_code"], len(t["partitions"])) for t in described] == [(0, 3), (0, 3)]
    assert kafka_config.group_id not in groups


@pytest.fixture
def must_be_deleted(kafka_bootstrap: str) -> Iterator[list[str]]:
    """Topics the test names here must be gone once the fixtures the test requested later are torn down."""
    names: list[str] = []
    yield names
    leftover = set(names) & set(_run(_list_topics(kafka_bootstrap)))
    assert not leftover, f"topics not deleted after the test: {leftover}"


def test_kafka_topic_exists_during_the_test_only(
    kafka_bootstrap: str, must_be_deleted: list[str], kafka_config: KafkaConfig
) -> None:
    must_be_deleted += [kafka_config.topic, kafka_config.dead_letter_topic]

    assert set(must_be_deleted) <= set(_run(_list_topics(kafka_bootstrap)))


async def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    assert [code for _, code, *_ in response.topic_errors] == [0]


async def _list_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


def test_status_reports_the_running_broker(launched: ServiceInfo) -> None:
    assert launched.running
    assert launched.uri.startswith("127.0.0.1:")
    assert port_accepts(int(launched.uri.rpartition(":")[2]))


def test_up_is_idempotent(started: Launched, launched: ServiceInfo) -> None:
    again = launcher.up(started.cache_dir)

    assert (again.uri, again.pid, again.running, again.started) == (launched.uri, launched.pid, True, False)


def test_cli_status_and_up_name_the_broker(started: Launched, launched: ServiceInfo) -> None:
    runner = CliRunner()
    cache = ["--cache-dir", str(started.cache_dir)]

    status = runner.invoke(services, ["status", "kafka", *cache])
    up = runner.invoke(services, ["up", "kafka", *cache])

    assert (status.exit_code, status.stdout) == (0, f"kafka {launched.uri} running\n")
    assert (up.exit_code, up.stdout) == (0, f"kafka {launched.uri}\n")


@pytest.mark.neo4j
def test_cli_up_without_names_starts_every_service(started: Launched, launched: ServiceInfo) -> None:
    neo4j_before = launchers()["neo4j"].status(started.cache_dir)
    try:
        result = CliRunner().invoke(services, ["up", "--cache-dir", str(started.cache_dir)])
        neo4j = launchers()["neo4j"].status(started.cache_dir)

        assert result.exit_code == 0, result.output
        assert neo4j is not None
        assert [line.split()[:2] for line in result.stdout.splitlines()] == [
            ["neo4j", neo4j.uri],
            ["kafka", launched.uri],
        ]
    finally:
        if neo4j_before is None or not neo4j_before.running:  # this test started it
            launchers()["neo4j"].down(started.cache_dir)


@pytest.mark.slow
def test_up_never_reports_another_broker_as_its_own(
    tmp_path: Path, launched: ServiceInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two checkouts starting at once may both pick a port that is free at that moment; the one
    whose broker then cannot bind it must fail, not report the other's broker as its own (it did:
    the readiness probe only asked for metadata naming a broker at the address)."""
    port = int(launched.uri.rpartition(":")[2])
    controller = choose_port(0)
    ports = {"port": port, "controller_port": controller}
    monkeypatch.setattr(launcher, "reuse_ports", lambda *_a, **_k: dict(ports))
    with pytest.raises(ServiceError, match="exited during start-up"):
        launcher.up(tmp_path / "services", timeout=120)
    assert launcher.status(tmp_path / "services") is None


# --- a private broker, stopped and started again (what the fault tests do) -----------------------------


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[Path]:
    """A cache dir for a broker of this test alone; the broker is stopped at the end whatever happens."""
    yield tmp_path
    launcher.down(tmp_path)


@pytest.mark.slow
def test_a_restarted_broker_keeps_address_topics_and_committed_offsets(private_broker: Path) -> None:
    first = launcher.up(private_broker)
    topic, group = _name("restart"), _name("restart-group")
    _run(_create_topic(first.uri, topic))
    _run(_produce(first.uri, topic, _messages(20, "before")))
    _run(_consume(first.uri, topic, group, 20, commit=True))
    committed = _run(group_offsets(first.uri, group))

    assert launcher.down(private_broker) is True
    assert launcher.status(private_broker) is None
    assert not port_accepts(int(first.uri.rpartition(":")[2]))
    second = launcher.up(private_broker)

    assert (second.uri, second.started) == (first.uri, True)
    assert second.pid != first.pid
    assert sum(committed.values()) == 20
    assert _run(_committed_after_restart(second.uri, group)) == committed
    _run(_produce(second.uri, topic, _messages(5, "after")))
    resumed = _run(_consume(second.uri, topic, group, 5, commit=True))  # from the committed offsets
    assert sorted(value for _, value in resumed) == sorted(value for _, value in _messages(5, "after"))


@pytest.mark.slow
def test_a_broker_whose_ports_were_taken_restarts_elsewhere_with_its_data(private_broker: Path) -> None:
    """The controller port may change between starts too: the static quorum follows the config."""
    first = launcher.up(private_broker)
    topic = _name("moved")
    _run(_create_topic(first.uri, topic))
    _run(_produce(first.uri, topic, _messages(6, "kept")))
    launcher.down(private_broker)
    old = read_json(KafkaPaths.under(private_broker).ports_file)
    assert old is not None

    with socket.socket() as squat_port, socket.socket() as squat_controller:
        for squatter, port in ((squat_port, old["port"]), (squat_controller, old["controller_port"])):
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
        second = launcher.up(private_broker)

    new = read_json(KafkaPaths.under(private_broker).ports_file)
    assert new is not None
    assert set(new.values()).isdisjoint(old.values())
    assert second.uri == f"127.0.0.1:{new['port']}"
    kept = _run(_consume(second.uri, topic, _name("moved-group"), 6, commit=False))
    assert sorted(value for _, value in kept) == sorted(value for _, value in _messages(6, "kept"))
