"""The small HTTP endpoint of ``olgraph consume``: ``/healthz``, ``/readyz`` and ``/metrics``.

A consume replica serves no API, but orchestrators and Prometheus still need to ask it how it
is. This module builds that tiny Starlette app and runs it with uvicorn inside the consumer's
own event loop (:class:`HealthServer`), leaving signal handling to the command.

* ``/healthz`` — 200 while the process serves requests (liveness);
* ``/readyz`` — 200 when every readiness probe passes, else 503 naming what failed, in the
  same body shape as the API's ``/readyz``: ``{"status": ..., "checks": {name: "ok" | why}}``;
* ``/metrics`` — the process's :class:`~olgraph.metrics.Metrics` (Prometheus text format).

Example::

    app = create_health_app({"store": store_probe, "consumer": consumer_probe}, metrics)
    server = HealthServer(app, "127.0.0.1", 9400)
    port = await server.start()
    ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Generator, Mapping

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from olgraph.errors import OlgraphError, ServiceError
from olgraph.metrics import CONTENT_TYPE, Metrics

logger = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[None]]
"""A readiness check: returns when fine, raises an :class:`OlgraphError` saying what is wrong."""

PROBE_TIMEOUT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 5


async def run_probes(probes: Mapping[str, Probe], timeout: float = PROBE_TIMEOUT_SECONDS) -> dict[str, str]:
    """Run every probe concurrently; map each name to ``"ok"`` or what went wrong."""

    async def one(probe: Probe) -> str:
        try:
            await asyncio.wait_for(probe(), timeout)
        except TimeoutError:
            return f"no answer within {timeout:g}s"
        except OlgraphError as exc:
            return str(exc) or type(exc).__name__
        return "ok"

    results = await asyncio.gather(*(one(probe) for probe in probes.values()))
    return dict(zip(probes, results, strict=True))


def create_health_app(
    probes: Mapping[str, Probe], metrics: Metrics, probe_timeout: float = PROBE_TIMEOUT_SECONDS
) -> Starlette:
    """The Starlette app serving ``/healthz``, ``/readyz`` (from ``probes``) and ``/metrics``."""

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        checks = await run_probes(probes, probe_timeout)
        ready = all(value == "ok" for value in checks.values())
        body = {"status": "ready" if ready else "unavailable", "checks": checks}
        headers = {} if ready else {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return JSONResponse(body, status_code=200 if ready else 503, headers=headers)

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ]
    )


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the consume command owns SIGTERM/SIGINT and
    decides when the health endpoint stops (after the consumer drained)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class HealthServer:
    """Runs an ASGI app with uvicorn as a task of the current event loop."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self.host = host
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None
        self.port = port

    async def start(self) -> int:
        """Bind and serve; return the bound port (useful when asked for port 0).

        Raises :class:`ServiceError` when the address cannot be bound.
        """
        self._task = asyncio.create_task(self._serve(), name="olgraph-health")
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.01)
        if not self._server.started:
            await self.stop()
            raise ServiceError(f"cannot serve health endpoints on {self.host}:{self.port}")
        for listener in self._server.servers:
            for sock in listener.sockets:
                self.port = int(sock.getsockname()[1])
                return self.port
        return self.port

    async def _serve(self) -> None:
        # uvicorn reports a failed bind by ``sys.exit(1)`` after logging it; keep that inside this task.
        with contextlib.suppress(SystemExit):
            await self._server.serve()

    async def stop(self) -> None:
        """Stop serving and wait for the server task."""
        self._server.should_exit = True
        task, self._task = self._task, None
        if task is not None:
            await task
