"""``POST /api/v1/cypher``: analysts' read-only Cypher (role ``analyst``; ``admin`` too).

The query runs on the Neo4j store behind the guards of :mod:`olgraph.store.cypher_guard`:
one statement, no ``LOAD CSV``/``USE``/``IN TRANSACTIONS``, a read-only plan (``EXPLAIN``)
with only allow-listed procedures, a read transaction with a timeout, at most
``cypher.max_rows`` rows. On the embedded store it answers 501: Cypher needs Neo4j.

Example::

    curl -sS -X POST http://127.0.0.1:5000/api/v1/cypher -H 'Authorization: Bearer KEY' \\
      -H 'Content-Type: application/json' \\
      -d '{"query": "MATCH (d:Dataset {key: $k})-[:CONSUMED_BY]->(j) RETURN j.key AS job",
           "parameters": {"k": "dataset:db:orders"}}'
    # → {"columns": ["job"], "rows": [["job:etl:load"]], "rowCount": 1, "truncated": false}
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from olgraph.api.auth import get_runtime, require_role
from olgraph.api.body import read_raw
from olgraph.api.errors import error_responses
from olgraph.config import LimitSettings
from olgraph.errors import CypherRefused, CypherUnsupported
from olgraph.runtime import Runtime
from olgraph.store.cypher_guard import CypherResult, CypherStore

MAX_BODY_BYTES = 1024 * 1024
"""A Cypher request is a query and its parameters: a megabyte is plenty."""

router = APIRouter(prefix="/api/v1", tags=["cypher"], dependencies=[Depends(require_role("analyst"))])
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


class CypherRequest(BaseModel):
    """One read-only Cypher query with its parameters."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    query: str = Field(min_length=1, description="One Cypher statement; use `$name` for parameters.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Values of the `$name` parameters.")
    format: Literal["json", "csv"] = Field(default="json", description="`json` (default) or `csv`.")
    max_rows: int | None = Field(
        default=None, alias="maxRows", ge=1, description="Fewer rows than `cypher.max_rows`, if wanted."
    )


class CypherAnswer(BaseModel):
    """The rows of a query; ``truncated`` is true when it had more than the row cap."""

    model_config = ConfigDict(serialize_by_alias=True, populate_by_name=True)

    columns: list[str]
    rows: list[list[Any]]
    row_count: int = Field(alias="rowCount")
    truncated: bool


_BODY = {
    "requestBody": {
        "required": True,
        # inline: the route reads the body itself, so FastAPI lists no component for it
        "content": {"application/json": {"schema": CypherRequest.model_json_schema(by_alias=True)}},
    }
}


@router.post(
    "/cypher",
    response_model=CypherAnswer,
    summary="Run a read-only Cypher query (Neo4j store)",
    openapi_extra=_BODY,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "The rows (JSON or CSV)",
        },
        **error_responses(
            e400="Not JSON, not one read-only statement, a forbidden clause or procedure, a syntax error, "
            "or the query ran longer than the timeout (`field` is `query`)",
            e401="Missing or unknown API key",
            e403="The API key lacks the `analyst` role",
            e413="The request body is over 1 MiB",
            e415="Content-Type is not JSON",
            e501="The server uses the embedded store: Cypher needs Neo4j",
            e503="Neo4j cannot be reached; retry after `Retry-After` seconds",
        ),
    },
)
async def post_cypher(request: Request, runtime: RuntimeDep) -> Response:
    """Run one read-only query; JSON (``CypherAnswer``) or CSV with ``X-Olgraph-Truncated``."""
    asked = await _read_request(request)
    store = runtime.store
    if not isinstance(store, CypherStore):
        raise CypherUnsupported(
            "Cypher needs the Neo4j store (store.kind=neo4j); this server uses the embedded store"
        )
    result = await store.run_cypher(
        runtime.settings.cypher.query(asked.query, asked.parameters, asked.max_rows)
    )
    if asked.format == "csv":
        return Response(
            render_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={
                "X-Olgraph-Truncated": str(result.truncated).lower(),
                "X-Olgraph-Row-Count": str(len(result.rows)),
            },
        )
    answer = CypherAnswer(
        columns=result.columns, rows=result.rows, rowCount=len(result.rows), truncated=result.truncated
    )
    return Response(orjson.dumps(answer.model_dump(by_alias=True)), media_type="application/json")


async def _read_request(request: Request) -> CypherRequest:
    raw, coding = await read_raw(
        request, LimitSettings(max_body_bytes=MAX_BODY_BYTES, max_decompressed_bytes=MAX_BODY_BYTES)
    )
    if coding is not None:
        raise CypherRefused("send the query uncompressed", field=None)
    try:
        return CypherRequest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or None
        raise CypherRefused(f"{first.get('msg', 'invalid request')}", field=where) from exc


def render_csv(result: CypherResult) -> str:
    """A header row, then one line per row; lists, maps, nodes and paths as JSON text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return value
