"""``olgraph consume``: a consumer replica of the distributed deployment (Kafka → graph store).

Run as many as the events topic has partitions, all in one consumer group: Kafka spreads the
partitions over them and hands a stopped replica's partitions to the others. Each applies its
partitions' events to the graph store (Neo4j in production) and commits offsets only after
the store committed (see :mod:`olgraph.consume.kafka_consumer`). Events that cannot be applied go to
the dead-letter topic with the reason in their headers.

It serves ``/healthz``, ``/readyz`` (the store answers, Kafka answers, the consumer is in its
group and polling) and ``/metrics`` on the health port, and prints its start-up line as soon as
they answer. It keeps retrying while Neo4j or Kafka cannot be reached at start-up (``/readyz``
says which). SIGTERM or Ctrl-C: the batch in flight is finished and committed, the replica
leaves its group and exits 0. It exits 1 when the consumer fails for good.

Every option can also come from the environment: the ``OLGRAPH_*`` settings
(``OLGRAPH_LOG__KAFKA__BOOTSTRAP_SERVERS``, ``OLGRAPH_LOG__KAFKA__GROUP_ID``,
``OLGRAPH_STORE__NEO4J__URI``…) and ``OLGRAPH_HEALTH_PORT``; an option given wins.

Example::

    $ olgraph consume --kafka-bootstrap kafka:9092 --neo4j-uri neo4j://neo4j:7687
    olgraph 0.1.0 consume: kafka kafka:9092 topic openlineage.events group olgraph-consume → store neo4j neo4j://neo4j:7687; health on http://127.0.0.1:9400
"""  # noqa: E501

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from olgraph import __version__
from olgraph.cli._output import fail
from olgraph.cli._server import (
    configure_logging,
    describe_store,
    listening_url,
    log_level_option,
    neo4j_options,
    tune_gc,
)
from olgraph.config import Settings
from olgraph.consume.applier import backoff_delay
from olgraph.consume.health import HealthServer, Probe, create_health_app
from olgraph.consume.kafka_consumer import KafkaConsumerWorker
from olgraph.errors import EventLogUnavailable, OlgraphError
from olgraph.metrics import Metrics
from olgraph.runtime import build_store
from olgraph.store.base import GraphStore

logger = logging.getLogger(__name__)

DEFAULT_HEALTH_PORT = 9400


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def build_consume_settings(
    *,
    kafka_bootstrap: str | None = None,
    topic: str | None = None,
    dead_letter_topic: str | None = None,
    group: str | None = None,
    store: str | None = None,
    neo4j_uri: str | None = None,
    neo4j_user: str | None = None,
    neo4j_password: str | None = None,
    neo4j_create_schema: bool | None = None,
    data_dir: Path | None = None,
) -> Settings:
    """Settings from the environment, overridden by the options given.

    The store is Neo4j unless ``store`` (``--store``) or ``OLGRAPH_STORE__KIND`` says otherwise:
    the embedded store is for single-box tests only.
    """
    kafka = _given(
        bootstrap_servers=kafka_bootstrap, topic=topic, dead_letter_topic=dead_letter_topic, group_id=group
    )
    store_group: dict[str, Any] = _given(kind=store)
    neo4j = _given(uri=neo4j_uri, user=neo4j_user, password=neo4j_password)
    if neo4j_create_schema:
        neo4j["create_schema"] = True
    if neo4j:
        store_group["neo4j"] = neo4j
    overrides: dict[str, Any] = {"log": {"kind": "kafka", "kafka": kafka}, "store": store_group}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    settings = Settings(**overrides)
    if "kind" not in settings.store.model_fields_set:
        store_group["kind"] = "neo4j"
        settings = Settings(**overrides)
    return settings


def consume_startup_line(settings: Settings, health_url: str) -> str:
    """The one line ``consume`` prints once it consumes."""
    kafka = settings.log.kafka
    return (
        f"olgraph {__version__} consume: kafka {kafka.bootstrap_servers} topic {kafka.topic} "
        f"group {kafka.group_id} → store {describe_store(settings)}; health on {health_url}"
    )


def readiness_probes(store: GraphStore, worker: KafkaConsumerWorker) -> dict[str, Probe]:
    """``/readyz`` checks: the store answers a ping, Kafka answers, the consumer polls in its group."""

    async def kafka() -> None:
        await worker.check_brokers(timeout=4.0)

    async def consumer() -> None:
        problem = worker.readiness_problem()
        if problem is not None:
            raise EventLogUnavailable(problem)

    return {"store": store.ping, "kafka": kafka, "consumer": consumer}


async def _unless_stopping(action: Callable[[], Awaitable[None]], stopping: asyncio.Event) -> bool:
    """Run ``action``; cancel it when a stop is requested first. True when it finished."""
    task = asyncio.ensure_future(action())
    waiter = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return False
    task.result()  # re-raises what the action raised
    return True


async def _retry_until(
    action: Callable[[], Awaitable[None]], what: str, settings: Settings, stopping: asyncio.Event
) -> bool:
    """Run ``action`` until it succeeds (True) or a stop is requested (False), backing off.

    A stop also interrupts an attempt in progress (opening a store that does not answer can
    take a while), so SIGTERM is honoured at once while Neo4j or Kafka is unreachable.
    """
    attempt = 0
    while not stopping.is_set():
        try:
            return await _unless_stopping(action, stopping)
        except OlgraphError as exc:
            if not exc.retriable:
                raise
            attempt += 1
            delay = backoff_delay(settings.consumer, attempt)
            logger.warning("cannot %s yet (%s); retrying in %.1fs", what, exc, delay)
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except TimeoutError:
                continue
    return False


async def _consume(settings: Settings, health_host: str, health_port: int) -> int:
    """Run until SIGTERM/SIGINT (exit status 0) or until the consumer fails (1)."""
    metrics, store = Metrics(), build_store(settings)
    worker = KafkaConsumerWorker(
        settings.log.kafka, store, settings.consumer, metrics, settings.event_reader()
    )
    stopping = asyncio.Event()

    def request_stop() -> None:
        stopping.set()
        worker.request_stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop)
    health = HealthServer(
        create_health_app(readiness_probes(store, worker), metrics), health_host, health_port
    )
    try:
        port = await health.start()
        # Printed as soon as /readyz can tell why the replica is not consuming yet.
        click.echo(consume_startup_line(settings, listening_url(health_host, port)))
        try:
            if not await _retry_until(store.open, "open the graph store", settings, stopping):
                return 0
            tune_gc()
            return await _run_worker(worker, settings, stopping)
        finally:
            await store.close()
            await health.stop()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _run_worker(worker: KafkaConsumerWorker, settings: Settings, stopping: asyncio.Event) -> int:
    if not await _retry_until(worker.start, "join the Kafka consumer group", settings, stopping):
        return 0
    logger.info("consuming %s as a member of group %s", worker.config.topic, worker.config.group_id)
    try:
        await worker.wait()
    except Exception:
        logger.exception("the consumer failed")
        return 1
    finally:
        await worker.stop()
    return 0


@click.command("consume", short_help="Run a consumer replica: apply Kafka events to the graph store.")
@click.option(
    "--kafka-bootstrap",
    metavar="HOST:PORT[,…]",
    default=None,
    help="Kafka brokers [env OLGRAPH_LOG__KAFKA__BOOTSTRAP_SERVERS; default 127.0.0.1:9092].",
)
@click.option(
    "--topic", default=None, help="Events topic [env OLGRAPH_LOG__KAFKA__TOPIC; default openlineage.events]."
)
@click.option(
    "--dead-letter-topic",
    default=None,
    help="Where unappliable events go [env OLGRAPH_LOG__KAFKA__DEAD_LETTER_TOPIC; openlineage.events.dlq].",
)
@click.option(
    "--group",
    default=None,
    help="Consumer group [env OLGRAPH_LOG__KAFKA__GROUP_ID; default olgraph-consume].",
)
@neo4j_options
@click.option(
    "--store",
    type=click.Choice(["neo4j", "embedded"]),
    default=None,
    help="Graph store [env OLGRAPH_STORE__KIND; default neo4j]; embedded: single-box tests only.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Holds the embedded graph with --store embedded [env OLGRAPH_DATA_DIR].",
)
@click.option(
    "--health-host",
    default=None,
    help="Interface of /healthz, /readyz, /metrics [env OLGRAPH_SERVER__HOST; default 127.0.0.1].",
)
@click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_HEALTH_PORT,
    envvar="OLGRAPH_HEALTH_PORT",
    show_envvar=True,
    show_default=True,
    help="Port of /healthz, /readyz, /metrics; 0 picks a free one (printed).",
)
@log_level_option
def consume_command(
    *,
    health_host: str | None,
    health_port: int,
    log_level: str,
    **options: Any,
) -> None:
    """Apply the events of a Kafka topic to the graph store, as one replica of a consumer group."""
    try:
        settings = build_consume_settings(**options)
    except ValidationError as exc:
        raise fail(f"invalid settings:\n{exc}") from exc
    configure_logging(log_level.lower())
    try:
        code = asyncio.run(_consume(settings, health_host or settings.server.host, health_port))
    except OlgraphError as exc:  # the health port is taken, the Neo4j URI is malformed...
        raise fail(str(exc), code=1) from exc
    click.echo("olgraph consume stopped", err=True)
    raise SystemExit(code)
