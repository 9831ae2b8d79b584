"""The Marquez-compatible app: Marquez 0.50's REST API at ``/api/v1``, answered from olgraph's graph.

It is served on its own listener (``olgraph serve --marquez-port 5001``; see
docs/decisions/0016-marquez-api-on-its-own-port.md): Marquez Web's proxy and marquez-python
only take a host and port and always call ``/api/v1/…``, where olgraph's own API answers other
shapes. The app shares the runtime (store, event log, settings, API keys) of olgraph's own app
in the same process; ingest (``POST /api/v1/lineage`` and ``/batch``) is olgraph's own route, so
producers can be pointed at either port.

Example::

    runtime = build_runtime(settings)
    main = create_app(settings, runtime=runtime)
    marquez = create_marquez_app(settings, runtime=runtime, owns_runtime=False)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from olgraph import __version__
from olgraph.api import ingest, ops
from olgraph.api.ingest import IngestWorker
from olgraph.api.marquez import catalog, graph, misc, stats, versions
from olgraph.api.marquez.errors import install_marquez_error_handlers
from olgraph.api.marquez.paths import EncodedSegments
from olgraph.config import Settings, check_serving_security
from olgraph.runtime import Runtime, build_runtime

MARQUEZ_VERSION = "0.50.0"
"""The Marquez release whose API this app answers."""


def create_marquez_app(
    settings: Settings, *, runtime: Runtime | None = None, owns_runtime: bool = True
) -> FastAPI:
    """The Marquez-compatible HTTP app.

    With ``owns_runtime`` its lifespan opens ``runtime`` (or one built from ``settings``) and
    closes it; without, ``runtime`` is olgraph's own app's, already started and closed by whoever
    started it (serve this one only while that runtime runs). Either way the lifespan makes the
    ingest worker that reads posted bodies off the event loop.
    """
    check_serving_security(settings)
    if runtime is None and not owns_runtime:
        raise ValueError("a Marquez app that does not own its runtime must be given one")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = runtime or build_runtime(settings)
        worker = IngestWorker(settings)
        try:
            async with active if owns_runtime else contextlib.nullcontext(active):
                app.state.runtime, app.state.ingest_worker = active, worker
                try:
                    yield
                finally:
                    del app.state.runtime, app.state.ingest_worker
        finally:
            worker.close()

    app = FastAPI(
        title="olgraph: Marquez-compatible API",
        version=f"{__version__} (Marquez {MARQUEZ_VERSION})",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_marquez_error_handlers(app, settings.server.retry_after_seconds)
    app.include_router(ingest.router)
    app.include_router(catalog.router)
    app.include_router(catalog.admin_router)
    app.include_router(graph.router)
    app.include_router(misc.router)
    app.include_router(stats.router)
    app.include_router(versions.router)
    app.include_router(misc.writes)
    app.include_router(ops.router)
    app.add_middleware(EncodedSegments)
    return app
