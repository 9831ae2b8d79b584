"""Errors on the Marquez-compatible listener, in Marquez's shape: ``{"code": 404, "message": …}``.

The statuses are olgraph's (one table, :mod:`olgraph.api.errors`); only the body differs, so
that Marquez's clients show the message where they show Marquez's own.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from olgraph.api.errors import status_for
from olgraph.errors import OlgraphError

HTTP_REASONS = {404: "Not Found", 405: "Method Not Allowed"}


def error_body(status: int, message: str) -> dict[str, object]:
    """Marquez's error body."""
    return {"code": status, "message": message}


def install_marquez_error_handlers(app: FastAPI, retry_after_seconds: int) -> None:
    """Answer every error with :func:`error_body`; retriable ones with ``Retry-After``."""

    async def olgraph_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OlgraphError)
        status = status_for(exc)
        headers = {"Retry-After": str(retry_after_seconds)} if exc.retriable else {}
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(error_body(status, str(exc)), status_code=status, headers=headers)

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = " ".join(str(part) for part in first.get("loc", ()))
        message = f"{where} {first.get('msg', 'is invalid')}".strip()
        return JSONResponse(error_body(400, message), status_code=400)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        reason = HTTP_REASONS.get(exc.status_code)
        message = f"HTTP {exc.status_code} {reason}" if reason and exc.detail == reason else str(exc.detail)
        return JSONResponse(
            error_body(exc.status_code, message), status_code=exc.status_code, headers=exc.headers
        )

    app.add_exception_handler(OlgraphError, olgraph_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
