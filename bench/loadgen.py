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

This module holds ``wrk``, the baseline and ``send`` with the command line; the HTTP client
is in ``_loadgen_http``, ``paced`` in ``_loadgen_paced``, ``kafka`` in ``_loadgen_kafka``.

    .venv/bin/python bench/loadgen.py send --url http://127.0.0.1:5000 --ndjson events.ndjson
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from _loadgen_http import Connection, _request
from _loadgen_kafka import kafka_raw
from _loadgen_paced import paced

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
