"""Running analysts' Cypher on Neo4j behind the guards of :mod:`olgraph.store.cypher_guard` (private).

One read transaction, with the timeout, holds both steps: ``EXPLAIN`` (planned, not run) to
check the query type and the plan, then the query itself, read until ``max_rows`` rows (one
more tells whether it was truncated). The transaction is always rolled back: nothing an
analyst runs is ever committed. Values become JSON: nodes, relationships and paths as
objects, temporal values as ISO-8601 strings, points as ``{srid, x, y[, z]}``, bytes as base64.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import neo4j
from neo4j.exceptions import ClientError, CypherSyntaxError, Neo4jError
from neo4j.graph import Node, Path, Relationship
from neo4j.spatial import Point

from olgraph.errors import CypherRefused
from olgraph.store.cypher_guard import CypherQuery, CypherResult, check_parameters, check_plan, check_text
from olgraph.store.neo4j.errors import mapped_errors

_TIMED_OUT = "Neo.ClientError.Transaction.TransactionTimedOut"


async def run_analyst_query(
    driver: neo4j.AsyncDriver, database: str | None, query: CypherQuery
) -> CypherResult:
    """Check ``query`` (text, then plan) and run it read-only; see the module docstring.

    Raises :class:`CypherRefused` (400) for everything the analyst can fix, and
    :class:`~olgraph.errors.StoreUnavailable` when Neo4j cannot be reached.
    """
    check_text(query.text, query.max_query_chars)
    check_parameters(query.parameters)
    parameters = dict(query.parameters)
    with mapped_errors("running an analyst's query"), _refusals(query):
        async with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as session:
            tx = await session.begin_transaction(timeout=query.timeout_seconds)
            try:
                explained = await tx.run(f"EXPLAIN {query.text}", parameters)
                summary = await explained.consume()
                check_plan(summary.query_type, summary.plan, query.allowed_procedures)
                result = await tx.run(query.text, parameters)
                columns = list(result.keys())
                rows: list[list[Any]] = []
                truncated = False
                async for record in result:
                    if len(rows) == query.max_rows:
                        truncated = True
                        break
                    rows.append([to_json(value) for value in record.values()])
            finally:
                await tx.rollback()
    return CypherResult(columns, rows, truncated)


@contextmanager
def _refusals(query: CypherQuery) -> Iterator[None]:
    """Turn the server's refusals of an analyst's query into :class:`CypherRefused` (400).

    Authentication and authorization errors of olgraph's own connection are not the analyst's
    to fix: they pass on to :func:`mapped_errors` (a store error).
    """
    try:
        yield
    except CypherSyntaxError as exc:
        raise CypherRefused(f"Cypher syntax error: {_first_line(exc)}") from exc
    except ClientError as exc:
        code = exc.code or ""
        if code.startswith(_TIMED_OUT):
            raise CypherRefused(
                f"the query ran longer than cypher.timeout_seconds ({query.timeout_seconds:g} s)"
            ) from exc
        if code.startswith("Neo.ClientError.Security."):
            raise
        raise CypherRefused(f"Neo4j refused the query ({code}): {_first_line(exc)}") from exc


def _first_line(exc: Neo4jError) -> str:
    message = exc.message or str(exc)
    return message.strip().splitlines()[0] if message.strip() else exc.code or "error"


def to_json(value: Any) -> Any:
    """A driver value as JSON (see the module docstring).

    >>> to_json([1, 2.5, "x", None, float("nan")])
    [1, 2.5, 'x', None, None]
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Point):  # a tuple, like Duration: before the sequences
        return {"srid": value.srid, **dict(zip(("x", "y", "z"), value, strict=False))}
    iso = getattr(value, "iso_format", None)
    if callable(iso):  # neo4j.time Date, Time, DateTime, Duration
        return str(iso())
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, Node):
        return {
            "elementId": value.element_id,
            "labels": sorted(value.labels),
            "properties": to_json(dict(value)),
        }
    if isinstance(value, Relationship):
        return {
            "elementId": value.element_id,
            "type": value.type,
            "startElementId": value.start_node.element_id if value.start_node else None,
            "endElementId": value.end_node.element_id if value.end_node else None,
            "properties": to_json(dict(value)),
        }
    if isinstance(value, Path):
        return {
            "nodes": [to_json(n) for n in value.nodes],
            "relationships": [to_json(r) for r in value.relationships],
        }
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)
