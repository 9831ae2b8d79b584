"""Pruning the local event log: applied events go after a while, so the file stops growing.

Once the consumer has applied an event (or dead-lettered it, with its own copy), the log keeps
it only for ``GET /api/v1/runs/{runId}/events`` and for a restart that re-applies the last
round. :class:`LogPruner` deletes applied events older than ``retention_days`` and, when
``retention_max_bytes`` is set, the oldest applied events beyond that size, every
``retention_check_seconds`` (see ``OLGRAPH_LOG__LOCAL__RETENTION_*``). Events not applied yet are
never pruned, whatever their age, and neither are dead letters.

Example::

    pruner = LogPruner(log, "olgraph", settings.log.local)
    pruner.start()
    ...
    await pruner.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from olgraph.config import LocalLogConfig
from olgraph.errors import OlgraphError
from olgraph.log.base import EventLog

logger = logging.getLogger(__name__)

SECONDS_PER_DAY = 86_400.0


class LogPruner:
    """Prunes ``log`` of what ``consumer`` applied, now and then, in a background task."""

    def __init__(self, log: EventLog, consumer: str, config: LocalLogConfig) -> None:
        self.log = log
        self.consumer = consumer
        self.config = config
        self.pruned = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        """Whether any retention limit is set."""
        return self.config.retention_days is not None or self.config.retention_max_bytes is not None

    def start(self) -> None:
        """Start pruning in the background (nothing happens when no limit is set)."""
        if self.enabled and self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="olgraph-log-pruner")

    async def stop(self) -> None:
        """Stop, letting a prune in progress finish its current chunk."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            await task

    async def prune_once(self) -> int:
        """Prune now; return how many events were deleted."""
        days = self.config.retention_days
        removed = await self.log.prune(
            self.consumer,
            max_age_seconds=None if days is None else days * SECONDS_PER_DAY,
            max_bytes=self.config.retention_max_bytes,
        )
        self.pruned += removed
        if removed:
            logger.info("pruned %d applied events from the event log", removed)
        return removed

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.prune_once()
            except OlgraphError as exc:  # the disk, a lock: try again next time
                logger.warning("pruning the event log failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.config.retention_check_seconds)
