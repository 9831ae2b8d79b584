"""Errors → HTTP responses, in one table.

Every error body has the same shape, ``{"error": message, "field": field-or-null}``, where
``field`` names the offending location (``run.runId``, a query parameter). Retriable errors
(an unavailable log or store) answer 503 with ``Retry-After``: OpenLineage clients retry
5xx, not 429.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from olgraph.errors import (
    AuthenticationRequired,
    Conflict,
    CypherUnsupported,
    EventLogError,
    EventLogUnavailable,
    InvalidEvent,
    InvalidQuery,
    MethodNotAllowed,
    NotFound,
    NotReady,
    OlgraphError,
    PayloadTooLarge,
    PermissionDenied,
    StoreError,
    StoreUnavailable,
    UnsupportedMediaType,
)

STATUS_BY_ERROR: dict[type[OlgraphError], int] = {
    InvalidEvent: 400,
    InvalidQuery: 400,
    AuthenticationRequired: 401,
    PermissionDenied: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    CypherUnsupported: 501,
    StoreUnavailable: 503,
    NotReady: 503,
    EventLogUnavailable: 503,
    StoreError: 500,
    EventLogError: 500,
    OlgraphError: 500,
}
"""HTTP status of each error class; a subclass not listed takes its nearest listed ancestor's."""


class ErrorOut(BaseModel):
    """The body of every error response."""

    error: str
    field: str | None = None


def error_responses(**descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses, each with the :class:`ErrorOut` body.

    >>> list(error_responses(e404="No such node"))
    [404]
    """
    return {
        int(code.removeprefix("e")): {"model": ErrorOut, "description": text}
        for code, text in descriptions.items()
    }


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace FastAPI's generated 422 answers by the 400 olgraph really sends, in place.

    The app turns request validation errors into 400 ``{error, field}``, so a documented
    422 would be a lie to clients and to conformance checkers.
    """
    bad_request = {
        "description": "A parameter is missing or invalid (`field` names it)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", bad_request)
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    components.setdefault("ErrorOut", ErrorOut.model_json_schema())
    return schema


def status_for(exc: OlgraphError) -> int:
    """The HTTP status for ``exc``: the entry of its class or of its nearest listed ancestor."""
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_body(message: str, field: str | None = None) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {"error": message, "field": field}


def _headers(exc: OlgraphError, status: int, retry_after: int) -> dict[str, str]:
    if status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if exc.retriable:
        return {"Retry-After": str(retry_after)}
    return {}


def install_error_handlers(app: FastAPI, retry_after_seconds: int) -> None:
    """Register the handlers that turn errors into ``{"error", "field"}`` responses."""

    async def olgraph_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OlgraphError)
        status = status_for(exc)
        body = error_body(str(exc) or type(exc).__name__, getattr(exc, "field", None))
        body.update(getattr(exc, "details", None) or {})
        return JSONResponse(body, status_code=status, headers=_headers(exc, status, retry_after_seconds))

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        field, message = _describe_validation(exc)
        return JSONResponse(error_body(message, field), status_code=400)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(OlgraphError, olgraph_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _describe_validation(exc: RequestValidationError) -> tuple[str | None, str]:
    """``(parameter, message)`` for the first problem FastAPI found in the request."""
    errors = exc.errors()
    if not errors:
        return None, "invalid request"
    first = errors[0]
    # loc is e.g. ("query", "depth"): the first element says where, the rest is the name.
    location = [str(part) for part in first.get("loc", ())[1:]]
    field = ".".join(location) or None
    message = str(first.get("msg", "invalid value"))
    return field, f"{field}: {message}" if field else message
