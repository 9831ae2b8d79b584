"""The FastAPI application: ingest, query and operational routes over one runtime.

Example::

    app = create_app(Settings(data_dir=Path("/var/lib/olgraph")))
    uvicorn.run(app, host=settings.server.host, port=settings.server.port)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from olgraph import __version__
from olgraph.api import admin, catalog, cypher, dead_letters, ingest, ops, query, search
from olgraph.api.auth import get_runtime
from olgraph.api.errors import document_errors, install_error_handlers
from olgraph.api.explorer import install_explorer
from olgraph.api.ingest import IngestWorker
from olgraph.api.timing import RequestTimer
from olgraph.config import Settings, check_serving_security
from olgraph.runtime import Runtime, build_runtime

__all__ = ["create_app", "get_runtime"]

DESCRIPTION = """\
An OpenLineage-compatible lineage collector and graph store.

Producers send OpenLineage events to `POST /api/v1/lineage` (the path every OpenLineage
client uses); they are durably logged (in the local event log, or on a Kafka topic in the
distributed deployment), then applied to the lineage graph, which the query endpoints answer
from. Authenticate with `Authorization: Bearer <API key>`; `/healthz`, `/readyz` and
`/metrics` (Prometheus) need no key, for probes and scrapers.
"""

TAGS = [
    {"name": "ingest", "description": "Receive OpenLineage events (role `ingest`)."},
    {"name": "query", "description": "Lineage, impact analysis and listings (role `read`)."},
    {"name": "cypher", "description": "Read-only Cypher on the Neo4j store (role `analyst`)."},
    {"name": "operations", "description": "Health, readiness, metrics, statistics and raw events."},
    {
        "name": "admin",
        "description": "Delete, purge and retention (audit-logged); dead letters: list, inspect, replay "
        "(role `admin`).",
    },
]


def _lifespan(
    settings: Settings, runtime: Runtime | None, runtime_started: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = runtime or build_runtime(settings)
        worker = IngestWorker(settings)
        try:
            async with contextlib.nullcontext(active) if runtime_started else active:
                app.state.runtime = active
                app.state.ingest_worker = worker
                try:
                    yield
                finally:
                    del app.state.runtime
                    del app.state.ingest_worker
        finally:
            worker.close()

    return lifespan


def create_app(
    settings: Settings, *, runtime: Runtime | None = None, runtime_started: bool = False
) -> FastAPI:
    """The olgraph HTTP app for ``settings``.

    Its lifespan builds the runtime ``settings`` describe (embedded: the local log and the
    consumer; ``log.kind = "kafka"``: the Kafka sink, no consumer) or uses ``runtime``,
    opens it, and closes it on shutdown, unless ``runtime_started`` says the caller opened
    ``runtime`` and will close it (the CLI does, to report a failed start in one line).
    Raises :class:`~olgraph.config.InsecureSettings` for an unauthenticated non-loopback host.
    """
    check_serving_security(settings)
    app = FastAPI(
        title="olgraph",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=_lifespan(settings, runtime, runtime_started),
        docs_url=None,  # served by install_explorer, from the package instead of a CDN
        redoc_url=None,
    )
    install_error_handlers(app, settings.server.retry_after_seconds)
    app.add_middleware(RequestTimer)
    app.include_router(ingest.router)
    app.include_router(query.router)
    app.include_router(cypher.router)
    app.include_router(catalog.router)
    app.include_router(search.router)
    app.include_router(ops.router)
    app.include_router(admin.router)
    app.include_router(dead_letters.router)
    install_explorer(app)  # after the error handlers: its 404 handler serves the explorer's pages
    _document_errors_in_openapi(app)
    return app


def _document_errors_in_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
