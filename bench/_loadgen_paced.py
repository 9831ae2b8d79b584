"""The ``paced`` load generator: single POSTs on an open-loop schedule, and the time until a
sample of the new runs is queryable (``GET /api/v1/runs/{runId}`` answers 200).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Sequence
from typing import Any

import orjson
from _loadgen_http import Connection, _request

RUN_POLL_TIMEOUT = 120.0
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def new_runs(lines: Sequence[bytes]) -> list[str | None]:
    """Per line, the event's runId when no earlier line mentioned it (so its GET is a 404 until
    this event is applied), else None. Parent/root facets mention runs too; any UUID counts."""
    seen: set[bytes] = set()
    result: list[str | None] = []
    for line in lines:
        run_id = orjson.loads(line).get("run", {}).get("runId", "").lower().encode()
        result.append(run_id.decode() if run_id and run_id not in seen else None)
        seen.update(_UUID.findall(line.lower()))
    return result


class _Sampler:
    """Times, for a bounded number of runs at once, how long until each run is queryable.

    Each watched run has its own connection, polled every ``poll`` seconds: the resolution of
    the latencies, and a bounded extra load of ``in_flight / poll`` GETs per second at most.
    """

    def __init__(self, url: str, poll: float, in_flight: int, per_second: float) -> None:
        self.poll, self.gap = poll, 1.0 / per_second
        self.idle = [Connection(url) for _ in range(in_flight)]
        self.latencies_ms: list[float] = []
        self.timeouts = self.polls = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self._last = 0.0

    def offer(self, run_id: str, accepted_at: float) -> None:
        """Sample this run if a connection is free and the last sample is at least ``gap`` ago."""
        if not self.idle or accepted_at - self._last < self.gap:
            return
        self._last = accepted_at
        task = asyncio.create_task(self._watch(self.idle.pop(), run_id, accepted_at))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _watch(self, connection: Connection, run_id: str, accepted_at: float) -> None:
        try:
            while time.monotonic() - accepted_at < RUN_POLL_TIMEOUT:
                self.polls += 1
                status, _ = await _request(connection, "GET", f"/api/v1/runs/{run_id}")
                if status == 200:
                    self.latencies_ms.append(round((time.monotonic() - accepted_at) * 1000, 2))
                    return
                await asyncio.sleep(self.poll)
            self.timeouts += 1
        finally:
            self.idle.append(connection)

    def close(self) -> None:
        """Close the polling connections."""
        for connection in self.idle:
            connection.close()


async def paced(
    url: str, lines: Sequence[bytes], rate: float, seconds: float, args: argparse.Namespace
) -> dict[str, Any]:
    """POST single events at ``rate``/s for ``seconds`` (open loop); sample queryability latency."""
    count = min(len(lines), int(rate * seconds))
    runs = new_runs(lines[:count])
    idle = [Connection(url) for _ in range(args.connections)]
    free = asyncio.Semaphore(len(idle))
    statuses: dict[int, int] = {}
    behind: list[float] = []
    sampler = _Sampler(url, args.poll_ms / 1000, args.sample_in_flight, args.samples_per_second)

    async def post(i: int) -> None:
        connection = idle.pop()
        try:
            status, _ = await _request(connection, "POST", "/api/v1/lineage", lines[i])
        finally:
            idle.append(connection)
            free.release()
        statuses[status] = statuses.get(status, 0) + 1
        run_id = runs[i]
        if 200 <= status < 300 and run_id is not None:
            sampler.offer(run_id, time.monotonic())

    posts: list[asyncio.Task[None]] = []
    started = time.monotonic()
    for i in range(count):
        await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        await free.acquire()  # all connections busy: the server is behind, and so are we (recorded)
        behind.append(time.monotonic() - (started + i / rate))
        posts.append(asyncio.create_task(post(i)))
    await asyncio.gather(*posts)
    sent_seconds = time.monotonic() - started
    await asyncio.gather(*list(sampler.tasks))
    sampler.close()
    for connection in idle:
        connection.close()
    return {
        "target_rate": rate,
        "events": count,
        "achieved_rate": round(count / sent_seconds, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "max_behind_schedule_ms": round(max(behind, default=0.0) * 1000, 1),
        "latencies_ms": sampler.latencies_ms,
        "sample_timeouts": sampler.timeouts,
        "polls": sampler.polls,
        "poll_ms": args.poll_ms,
    }
