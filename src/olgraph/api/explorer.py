"""The web explorer and the API documentation pages, served from the package: no CDN.

The explorer is a single-page app built from ``ui/`` (``make ui``; wheels include it) into
``static/explorer``; the assets of ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) are copied
from their npm packages into ``static/vendor`` by the same build. Routes:

- ``/assets/…``: the explorer's content-hashed files, cached for a year (``immutable``);
- ``/vendor/…``: the documentation pages' files, revalidated on every use (``no-cache``: they
  keep their names across upgrades);
- ``/docs``, ``/redoc``: the documentation pages, pointing at ``/vendor``;
- any other ``GET`` that no route takes, outside ``/api/``: the explorer's ``index.html``
  (``no-cache``), so that its client-side routes (``/dataset?id=…``) can be bookmarked and
  reloaded. Unknown paths under ``/api/``, other methods and missing assets stay JSON 404s.

None of them needs an API key: they hold no lineage data; the explorer asks the API for that
with the key the user gives it.

Example::

    app = FastAPI(docs_url=None, redoc_url=None)
    install_error_handlers(app, retry_after_seconds=5)
    install_explorer(app)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from olgraph.api.errors import error_body

STATIC = Path(__file__).resolve().parent / "static"
EXPLORER = STATIC / "explorer"
VENDOR = STATIC / "vendor"

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)
"""The explorer's pages load nothing from anywhere but this server (its styles are set inline)."""

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>olgraph</title></head>
<body><h1>The olgraph explorer is not built</h1>
<p>This olgraph was installed from a source tree without the web UI. Build it with
<code>make ui</code> (Node.js 20 and npm), or install a wheel, which includes it.
The HTTP API works without it: see <a href="/docs">/docs</a>.</p></body></html>"""


class CachedFiles(StaticFiles):
    """Static files with one ``Cache-Control`` value (ETag/304 handling is StaticFiles')."""

    def __init__(self, *, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.cache_control = cache_control

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        """The file, with this mount's caching policy."""
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = self.cache_control
        return response

    async def check_config(self) -> None:
        """Nothing to check: without a UI build the folder is missing and every file a 404."""


def explorer_built() -> bool:
    """True when the explorer's build is in the package (``static/explorer/index.html``)."""
    return (EXPLORER / "index.html").is_file()


def _docs_routes(app: FastAPI) -> None:
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API",
            swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/vendor/swagger-ui/favicon-32x32.png",
            # no call to the public validator service: nothing leaves this server
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API",
            redoc_js_url="/vendor/redoc/redoc.standalone.js",
            redoc_favicon_url="/favicon.svg",
            with_google_fonts=False,
        )


def _index() -> Response:
    if not explorer_built():
        return HTMLResponse(NOT_BUILT, status_code=404, headers={"Cache-Control": "no-store"})
    return FileResponse(
        EXPLORER / "index.html",
        media_type="text/html",
        headers={"Cache-Control": REVALIDATE, "Content-Security-Policy": CONTENT_SECURITY_POLICY},
    )


def _top_level_file(path: str) -> Path | None:
    """A file at the top of the explorer's build (``favicon.svg``), never outside it."""
    if not path or "/" in path or path.startswith("."):
        return None
    candidate = EXPLORER / path
    return candidate if candidate.is_file() and candidate.name != "index.html" else None


NOT_PAGES = ("/api/", "/assets/", "/vendor/")
"""Paths whose 404 stays a JSON 404: the API, and files that must never be answered with HTML."""


async def _not_found(request: Request, exc: Exception) -> Response:
    """A page of the explorer for a ``GET`` no route has; the usual JSON 404 for anything else."""
    path = request.url.path
    if request.method in ("GET", "HEAD") and path != "/api" and not path.startswith(NOT_PAGES):
        found = _top_level_file(path.removeprefix("/"))
        if found is not None:
            return FileResponse(found, headers={"Cache-Control": REVALIDATE})
        return _index()
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else "Not Found"
    headers = exc.headers if isinstance(exc, StarletteHTTPException) else None
    return JSONResponse(error_body(str(detail)), status_code=404, headers=headers)


def install_explorer(app: FastAPI) -> None:
    """Serve the explorer and the documentation pages beside the API's routes.

    The explorer's pages are answers to ``GET`` requests that no route takes (a 404 handler),
    not a catch-all route: a wrong method on an API route keeps its 405.
    """
    _docs_routes(app)
    app.mount("/assets", CachedFiles(directory=EXPLORER / "assets", cache_control=IMMUTABLE), name="assets")
    app.mount("/vendor", CachedFiles(directory=VENDOR, cache_control=REVALIDATE), name="vendor")
    app.add_exception_handler(404, _not_found)
