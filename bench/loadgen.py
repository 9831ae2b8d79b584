"""Load generators for the ingest benchmark, each run as its own process (never inside a server).

Sub-commands (each prints one JSON object on stdout):

* ``baseline --port N``: the bound of any Python HTTP ingest on this machine, a minimal ASGI
  app on uvicorn (same uvicorn defaults as olgraph) that reads the body and answers 202;
* ``send --url URL --ndjson FILE``: POST every event once (single events, or JSON arrays of
  ``--batch`` events) over ``--connections`` keep-alive connections, as fast as accepted;
* ``paced --url URL --ndjson FILE --rate R --seconds S``: POST single events on an open-loop
  schedule of ``R``/s and, for a sample of events that create a new run, time from the POST's
  2xx until ``GET /api/v1/runs/{runId}`` answers 200 (ingest-to-queryable latency);
* ``kafka --bootstrap B --topic T --ndjson FILE``: raw aiokafka produce (``acks=all``,
  idempotent, keyed as olgraph keys) and raw consume of the same messages.

:func:`run_wrk` drives ``wrk`` (C, epoll: a few % of a core at olgraph's rates) for the
fixed-duration accept-rate runs; the Python sub-commands are for what ``wrk`` cannot do:
send each event exactly once, pace, and poll for queryability.

    .venv/bin/python bench/loadgen.py send --url http://127.0.0.1:5000 --ndjson events.ndjson
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

JSON = {"Content-Type": "application/json"}
RUN_POLL_TIMEOUT = 120.0
MESSAGE_BYTES = 1_000_000  # olgraph's largest Kafka message
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

WRK_SCRIPT = r"""
-- Cycles through pre-serialized bodies (one event per line, or arrays of `batch` lines).
local bodies, requests, index = {}, {}, 0
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args)
  local lines, batch = {}, tonumber(args[2])
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
  if batch > 0 then
    for i = 1, #lines - batch + 1, batch do
      bodies[#bodies + 1] = "[" .. table.concat(lines, ",", i, i + batch - 1) .. "]"
    end
  else bodies = lines end
  for i, body in ipairs(bodies) do
    requests[i] = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
  end
  index = (tid * 997) % #requests
end
function request() index = index % #requests + 1; return requests[index] end
function done(summary, latency, reqs)
  io.write(string.format('{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"timeouts": %d, "latency_p50_ms": %.3f, "latency_p99_ms": %.3f}\n', summary.requests,
    summary.duration, summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write, summary.errors.timeout, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
"""


def run_wrk(
    url: str, ndjson: Path, *, batch: int, connections: int, seconds: float, threads: int = 2
) -> dict[str, Any]:
    """Run ``wrk`` POSTing ``ndjson``'s events (``batch`` 0: one per request) for ``seconds``.

    Returns wrk's counts plus ``events_per_second`` (2xx requests * events per request / s).
    """
    script = ndjson.with_suffix(".wrk.lua")
    script.write_text(WRK_SCRIPT)
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
    ]
    done = subprocess.run(
        [*argv, url, "--", str(ndjson), str(batch)],
        capture_output=True, text=True, timeout=seconds + 120, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    ok = result["requests"] - result["non_2xx"]
    elapsed = result["duration_us"] / 1e6
    result["events_per_second"] = round(ok * max(batch, 1) / elapsed, 1)
    result["requests_per_second"] = round(ok / elapsed, 1)
    return result


# --- the baseline server --------------------------------------------------------------------------


async def baseline_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the whole body, answer 202 with an empty body: no parsing, no storage."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    status = 202 if scope["method"] == "POST" else 200
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def serve_baseline(port: int) -> None:
    """Serve :func:`baseline_app` with uvicorn's defaults, as ``olgraph serve`` configures it."""
    import uvicorn  # noqa: PLC0415

    uvicorn.run(
        baseline_app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )


# --- send every event once -------------------------------------------------------------------------


def read_lines(path: Path) -> list[bytes]:
    """The NDJSON file's lines (one serialized event each)."""
    return [line for line in path.read_bytes().split(b"\n") if line]


def bodies_of(lines: Sequence[bytes], batch: int) -> list[tuple[bytes, int]]:
    """Request bodies and the events each holds: single events, or JSON arrays of ``batch``."""
    if batch <= 0:
        return [(line, 1) for line in lines]
    chunks = [lines[i : i + batch] for i in range(0, len(lines), batch)]
    return [(b"[" + b",".join(chunk) + b"]", len(chunk)) for chunk in chunks]


class Connection:
    """A minimal keep-alive HTTP/1.1 client connection on asyncio streams.

    httpx costs ~2 ms of CPU per 10 KB POST here, which would make the generator the
    bottleneck on 2 cores; this costs a small fraction of that. It speaks only what our
    servers answer: ``Content-Length`` or chunked bodies, no redirects, no TLS.
    """

    def __init__(self, url: str) -> None:
        parsed = urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """Send one request and read its response: ``(status, body)``.

        A kept-alive connection the server closed meanwhile (uvicorn closes idle ones after
        5 s) fails before any answer; the request is then sent once more on a new connection.
        """
        reused = self._streams is not None
        try:
            return await self._exchange(method, path, body)
        except _Closed:
            self.close()
            if not reused:
                raise
        return await self._exchange(method, path, body)

    async def _exchange(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            writer.write(head.encode() + body)
            await writer.drain()
            head_bytes = await reader.readuntil(b"\r\n\r\n")
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise _Closed from exc
        try:
            status, headers = _parse_head(head_bytes)
            if headers.get("transfer-encoding") == "chunked":
                payload = await _read_chunked(reader)
            else:
                payload = await reader.readexactly(int(headers.get("content-length", "0")))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self.close()
            raise
        if headers.get("connection") == "close":
            self.close()
        return status, payload

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


class _Closed(Exception):
    """The connection failed before any answer: the server had closed it, or never accepted it."""


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    return int(lines[0].split()[1]), headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        parts.append(await reader.readexactly(size + 2))
    await reader.readuntil(b"\r\n")
    return b"".join(part[:-2] for part in parts)


async def _request(connection: Connection, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """``connection.request``, with a transport failure as status 0."""
    try:
        return await connection.request(method, path, body)
    except (_Closed, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError):
        connection.close()
        return 0, b""


async def send_all(url: str, lines: Sequence[bytes], batch: int, connections: int) -> dict[str, Any]:
    """POST every event once over ``connections`` connections; count 2xx events and failures."""
    path = "/api/v1/lineage/batch" if batch > 0 else "/api/v1/lineage"
    queue = list(reversed(bodies_of(lines, batch)))
    statuses: dict[int, int] = {}
    accepted = 0

    async def worker(connection: Connection) -> None:
        nonlocal accepted
        while queue:
            body, events = queue.pop()
            status, answer = await _request(connection, "POST", path, body)
            statuses[status] = statuses.get(status, 0) + 1
            if 200 <= status < 300:
                accepted += _successful(answer, events)
        connection.close()

    started = time.monotonic()
    await asyncio.gather(*(worker(Connection(url)) for _ in range(connections)))
    return {
        "events": len(lines),
        "accepted": accepted,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "first_post": started,
        "last_response": time.monotonic(),
    }


def _successful(answer: bytes, events: int) -> int:
    """Events a 2xx accepted: a batch answer's ``summary.successful``, else all (the baseline's
    empty 202, or a single event)."""
    try:
        return int(orjson.loads(answer)["summary"]["successful"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return events


# --- paced posts and ingest-to-queryable latency ----------------------------------------------------


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


# --- raw Kafka ----------------------------------------------------------------------------------


def kafka_keys(lines: Sequence[bytes]) -> list[bytes]:
    """The message key olgraph's API would give each event (computed before any timing)."""
    from olgraph.ingest.kafka_key import kafka_key  # noqa: PLC0415
    from olgraph.ingest.parse import parse_event  # noqa: PLC0415

    return [kafka_key(parse_event(orjson.loads(line))).encode() for line in lines]


async def produce(
    bootstrap: str, topic: str, lines: Sequence[bytes], keys: Sequence[bytes], **tuning: Any
) -> float:
    """Seconds to produce every event (acks=all, idempotent, linger 5 ms as olgraph) and get all acks."""
    from aiokafka import AIOKafkaProducer  # noqa: PLC0415

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5, **tuning
    )
    await producer.start()
    try:
        started = time.monotonic()
        acks = [
            await producer.send(topic, value=line, key=key) for line, key in zip(lines, keys, strict=True)
        ]
        await asyncio.gather(*acks)
        return time.monotonic() - started
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, count: int) -> tuple[int, float]:
    """Records read back from the start of ``topic`` (up to ``count``) and the seconds it took."""
    from aiokafka import AIOKafkaConsumer  # noqa: PLC0415

    # No group (nothing to join or commit): subscribing assigns every partition of the topic.
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        received, started = 0, time.monotonic()
        while received < count and time.monotonic() - started < 300:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            received += sum(len(records) for records in batch.values())
        return received, time.monotonic() - started
    finally:
        await consumer.stop()


async def kafka_raw(bootstrap: str, topics: Sequence[str], lines: Sequence[bytes]) -> dict[str, Any]:
    """Produce every event twice, with aiokafka's default batch size (16 KiB, as olgraph's API
    producer) into ``topics[0]`` and with 1 MiB batches into ``topics[1]``; consume the latter back."""
    keys = kafka_keys(lines)
    size = MESSAGE_BYTES + 1024
    default = await produce(bootstrap, topics[0], lines, keys, max_request_size=size)
    tuned = await produce(bootstrap, topics[1], lines, keys, max_request_size=size, max_batch_size=size)
    received, consumed = await consume(bootstrap, topics[1], len(lines))
    return {
        "events": len(lines),
        "produce_default_seconds": round(default, 3),
        "produce_default_events_per_second": round(len(lines) / default, 1),
        "produce_seconds": round(tuned, 3),
        "produce_events_per_second": round(len(lines) / tuned, 1),
        "consumed": received,
        "consume_seconds": round(consumed, 3),
        "consume_events_per_second": round(received / consumed, 1),
    }


# --- command line -------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("baseline").add_argument("--port", type=int, required=True)
    for name in ("send", "paced", "kafka"):
        sub = commands.add_parser(name)
        sub.add_argument("--ndjson", type=Path, required=True)
        sub.add_argument("--url", default="")
        sub.add_argument("--connections", type=int, default=16)
    commands.choices["send"].add_argument(
        "--batch", type=int, default=0, help="events per request (0: single)"
    )
    paced_args = commands.choices["paced"]
    paced_args.add_argument("--rate", type=float, required=True, help="events per second")
    paced_args.add_argument("--seconds", type=float, required=True)
    paced_args.add_argument("--poll-ms", type=float, default=50.0, help="GET interval while waiting")
    paced_args.add_argument("--sample-in-flight", type=int, default=4, help="runs watched at once")
    paced_args.add_argument("--samples-per-second", type=float, default=5.0)
    kafka_args = commands.choices["kafka"]
    kafka_args.add_argument("--bootstrap", required=True)
    kafka_args.add_argument("--topics", required=True, help="two new topics, comma-separated")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    args = _parser().parse_args(argv)
    if args.command == "baseline":
        serve_baseline(args.port)
        return 0
    lines = read_lines(args.ndjson)
    cpu = time.process_time()
    if args.command == "send":
        result = asyncio.run(send_all(args.url, lines, args.batch, args.connections))
    elif args.command == "paced":
        result = asyncio.run(paced(args.url, lines, args.rate, args.seconds, args))
    else:
        result = asyncio.run(kafka_raw(args.bootstrap, args.topics.split(","), lines))
    result["generator_cpu_seconds"] = round(time.process_time() - cpu, 3)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
