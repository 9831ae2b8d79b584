"""Building and running olgraph's moving parts from :class:`~olgraph.config.Settings`.

A :class:`Runtime` holds the graph store, the event log and (in the single-process
deployment) the consumer, and opens and closes them in the right order. The HTTP app's
lifespan and the CLI (``olgraph serve``, ``olgraph consume``) both use it.

Example::

    async with build_runtime(settings) as runtime:
        await runtime.log.append(events)
        runtime.notify_appended()
        await runtime.wait_until_applied(timeout=10)
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from types import TracebackType

from olgraph.config import Settings
from olgraph.consumer import DEFAULT_CONSUMER, Consumer
from olgraph.log.base import EventLog
from olgraph.log.local import LocalEventLog
from olgraph.store.base import GraphStore

logger = logging.getLogger(__name__)


def build_store(settings: Settings) -> GraphStore:
    """The graph store ``settings.store.kind`` selects (not opened yet)."""
    if settings.store.kind == "neo4j":
        from olgraph.store.neo4j import Neo4jStore  # noqa: PLC0415  (the driver only when asked for)

        config = settings.store.neo4j
        password = config.password.get_secret_value() if config.password else None
        return Neo4jStore(config.uri, user=config.user, password=password, database=config.database)
    from olgraph.store.embedded import EmbeddedStore  # noqa: PLC0415

    return EmbeddedStore(settings.embedded_store_path())


def build_log(settings: Settings) -> EventLog:
    """The event log ``settings.log.kind`` selects (not opened yet)."""
    return LocalEventLog(settings.local_log_path(), max_size_bytes=settings.log.local.max_size_bytes)


def build_runtime(settings: Settings, *, with_consumer: bool = True) -> Runtime:
    """A runtime for ``settings``; without the consumer for API-only replicas."""
    store, log = build_store(settings), build_log(settings)
    consumer = None
    if with_consumer:
        consumer = Consumer(log, store, settings.consumer, max_json_depth=settings.limits.max_json_depth)
    return Runtime(settings=settings, store=store, log=log, consumer=consumer)


@dataclass
class Runtime:
    """The store, the log and the consumer of one olgraph process."""

    settings: Settings
    store: GraphStore
    log: EventLog
    consumer: Consumer | None = None

    @property
    def consumer_name(self) -> str:
        """The consumer name whose committed offset counts as "applied"."""
        return self.consumer.name if self.consumer else DEFAULT_CONSUMER

    async def start(self) -> None:
        """Open the store and the log, then start the consumer. Closes what it opened on failure."""
        await self.store.open()
        try:
            await self.log.open()
        except BaseException:
            await self.store.close()
            raise
        if self.consumer is not None:
            self.consumer.start()

    async def stop(self) -> None:
        """Stop the consumer (finishing its round), then close the log and the store."""
        try:
            if self.consumer is not None:
                await self.consumer.stop()
        finally:
            try:
                await self.log.close()
            finally:
                await self.store.close()

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def notify_appended(self) -> None:
        """Tell the consumer (if it runs here) that events were appended."""
        if self.consumer is not None:
            self.consumer.notify()

    async def wait_until_applied(self, timeout: float = 30.0) -> None:
        """Wait until everything appended so far has been applied (or dead-lettered).

        Raises :class:`TimeoutError` after ``timeout`` seconds.
        """
        target = (await self.log.counts(self.consumer_name)).last_offset
        deadline = time.monotonic() + timeout
        while await self.log.committed(self.consumer_name) < target:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"events up to offset {target} not applied within {timeout}s")
            await asyncio.sleep(0.01)
