"""HTTP request latency for ``/metrics``: an ASGI middleware timing every request.

Each request is observed in ``olgraph_http_request_duration_seconds`` with bounded labels:
the HTTP method (``OTHER`` for anything non-standard), the matched route's *template*
(``/api/v1/runs/{runId}``, never the raw path, so one run does not make one series;
``unmatched`` for paths no route serves) and the status code sent.

Example (what ``GET /metrics`` then shows)::

    olgraph_http_request_duration_seconds_count{method="POST",route="/api/v1/lineage",status="201"} 3.0
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from olgraph.metrics import Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


class RequestTimer:
    """ASGI middleware observing each HTTP request's duration in the app's runtime metrics.

    The metrics are looked up per request (``app.state.runtime``), since the runtime is
    built by the lifespan after the middleware stack; requests before that are not timed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request through the app, then record its duration and status."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server sends when the app fails before starting a response

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            metrics = _metrics_of(scope)
            if metrics is not None:
                metrics.http_request_seconds.labels(
                    method=_method(scope), route=route_template(scope), status=str(status)
                ).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The path template of the route that served ``scope`` (set by the router), or ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def _method(scope: Scope) -> str:
    method = str(scope.get("method", "")).upper()
    return method if method in METHODS else "OTHER"


def _metrics_of(scope: Scope) -> Metrics | None:
    app = scope.get("app")
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    metrics = getattr(runtime, "metrics", None)
    return metrics if isinstance(metrics, Metrics) else None
