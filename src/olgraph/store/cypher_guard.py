"""The guards of analysts' Cypher (``POST /api/v1/cypher``): what may run, checked before it runs.

A query passes three gates, and the Neo4j store adds a fourth:

1. **the text** (:func:`check_text`), with comments, string literals and quoted names blanked
   out first so that neither ``/* */`` nor ``'…'`` can hide or fake a keyword: one statement
   only; no ``LOAD CSV``, ``USING PERIODIC COMMIT``, ``CALL { … } IN TRANSACTIONS``, ``USE``
   (another database), ``EXPLAIN``/``PROFILE`` prefixes;
2. **the plan** (:func:`check_plan`): Neo4j plans the query (``EXPLAIN``, nothing runs) and
   its *query type* must be ``r`` (read only: ``rw``, ``w`` and ``s``, schema, are refused);
   no operator of the plan may load CSV, run transactions, administer the server
   (``SHOW …``/``TERMINATE …``) or call a procedure outside :data:`DEFAULT_ALLOWED_PROCEDURES`;
3. **the transaction**: the query runs in a *read* transaction with a timeout, and at most
   ``max_rows`` rows are read (``truncated`` says when more were there);
4. and, for the Neo4j store's own integrity, the server refuses writes in read transactions.

Example::

    check_text("MATCH (n) RETURN n // all of it", max_chars=10_000)
    check_plan("r", plan, DEFAULT_ALLOWED_PROCEDURES)   # plan: the driver's ResultSummary.plan
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from olgraph.errors import CypherRefused

DEFAULT_ALLOWED_PROCEDURES: tuple[str, ...] = (
    "db.labels",
    "db.relationshipTypes",
    "db.propertyKeys",
    "db.schema.visualization",
    "db.schema.nodeTypeProperties",
    "db.schema.relTypeProperties",
)
"""Read-only procedures that describe the graph's shape."""

_FORBIDDEN_TEXT: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bLOAD\s+CSV\b", re.I), "LOAD CSV is not allowed (it reads files and URLs)"),
    (re.compile(r"\bPERIODIC\s+COMMIT\b", re.I), "USING PERIODIC COMMIT is not allowed"),
    (
        re.compile(r"\bIN\s+(?:\d+\s+)?(?:CONCURRENT\s+)?TRANSACTIONS\b", re.I),
        "CALL { … } IN TRANSACTIONS is not allowed",
    ),
    (
        re.compile(r"(?<![.\w$])USE\b(?!\s*:)", re.I),
        "USE is not allowed: queries run on the lineage database",
    ),
    (re.compile(r"^\s*(?:EXPLAIN|PROFILE)\b", re.I), "send the query without EXPLAIN or PROFILE"),
)
_FORBIDDEN_OPERATORS = re.compile(
    r"LoadCSV|Transaction(?:Apply|Foreach)|^Show|^Terminate|Create|Merge|Delete|^Set|Remove|Foreach|"
    r"^(?:Alter|Drop|Grant|Deny|Revoke|Start|Stop|Enable|Rename|Assert)",
)
_PROCEDURE_NAME = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*\(")

_TOKENS = re.compile(
    r"//[^\n]*|/\*.*?(?:\*/|\Z)|'(?:[^'\\]|\\.)*(?:'|\Z)|\"(?:[^\"\\]|\\.)*(?:\"|\Z)|`[^`]*(?:`|\Z)",
    re.S,
)


def code_of(query: str) -> str:
    """``query`` with comments, string literals and backquoted names blanked (their length kept).

    >>> code_of("MATCH (n {name: 'LOAD CSV'}) // USE x")
    'MATCH (n {name: ""})  '
    """

    def blank(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith(("//", "/*")):
            return " "
        return '""' if text[0] in "'\"" else "``"

    return _TOKENS.sub(blank, query)


def check_text(query: str, max_chars: int) -> None:
    """Refuse (:class:`CypherRefused`) a query whose text breaks gate 1 (see the module docstring)."""
    if not query.strip():
        raise CypherRefused("the query is empty")
    if len(query) > max_chars:
        raise CypherRefused(
            f"the query has {len(query)} characters, more than cypher.max_query_chars ({max_chars})"
        )
    code = code_of(query)
    statements = [part for part in code.split(";") if part.strip()]
    if len(statements) > 1:
        raise CypherRefused("send one statement per request (the query holds more than one)")
    for pattern, reason in _FORBIDDEN_TEXT:
        if pattern.search(code):
            raise CypherRefused(reason)


_INT64 = (-(2**63), 2**63 - 1)


def check_parameters(parameters: Mapping[str, Any]) -> None:
    """Refuse parameters Neo4j cannot hold: integers beyond 64 bits (JSON allows any size).

    >>> check_parameters({"n": 2**63})
    Traceback (most recent call last):
    olgraph.errors.CypherRefused: parameters.n: 9223372036854775808 is beyond the 64-bit integers Neo4j stores
    """
    stack: list[tuple[str, Any]] = [(f"parameters.{name}", value) for name, value in parameters.items()]
    while stack:
        where, value = stack.pop()
        if isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
            raise CypherRefused(f"{value} is beyond the 64-bit integers Neo4j stores", field=where)
        if isinstance(value, Mapping):
            stack.extend((f"{where}.{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))


@dataclass(frozen=True)
class PlanStep:
    """One operator of a query plan: its type (``NodeByLabelScan``, ``ProcedureCall``…),
    arguments and children (the driver's plan dictionaries, normalized)."""

    operator: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    children: tuple[PlanStep, ...] = ()

    @classmethod
    def of(cls, plan: Any) -> PlanStep:
        """From the driver's ``ResultSummary.plan`` (a dict with ``operatorType``, ``args``, ``children``)."""
        data = plan if isinstance(plan, Mapping) else {}
        operator = str(data.get("operatorType", "")).split("@", 1)[0]  # "Filter@neo4j" → "Filter"
        children = tuple(cls.of(c) for c in data.get("children") or ())
        return cls(operator, dict(data.get("args") or {}), children)

    def walk(self) -> Iterator[PlanStep]:
        """This step and every step below it."""
        yield self
        for child in self.children:
            yield from child.walk()


def check_plan(query_type: str | None, plan: Any, allowed_procedures: Iterable[str]) -> None:
    """Refuse (:class:`CypherRefused`) a planned query that breaks gate 2."""
    if query_type != "r":
        kind = {"rw": "reads and writes", "w": "writes", "s": "changes the schema"}.get(
            query_type or "", "is not a read"
        )
        raise CypherRefused(f"only read queries may run here: this query {kind} (query type {query_type!r})")
    allowed = set(allowed_procedures)
    for step in PlanStep.of(plan).walk():
        if step.operator == "ProcedureCall":
            name = procedure_name(step.arguments)
            if name not in allowed:
                shown = ", ".join(sorted(allowed)) or "none"
                raise CypherRefused(f"procedure {name or '?'} is not allowed (allowed: {shown})")
        elif _FORBIDDEN_OPERATORS.search(step.operator):
            raise CypherRefused(
                f"the query plan holds a {step.operator} operation, which is not allowed here"
            )


def procedure_name(arguments: Mapping[str, Any]) -> str | None:
    """The procedure a ``ProcedureCall`` plan step calls (from its ``Details``/``Signature``)."""
    for key in ("Details", "details", "Signature", "signature"):
        value = arguments.get(key)
        if isinstance(value, str):
            match = _PROCEDURE_NAME.match(value)
            if match:
                return match.group(1)
    return None


@dataclass(frozen=True)
class CypherQuery:
    """An analyst's query and the bounds it runs within (settings ``cypher.*``)."""

    text: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    timeout_seconds: float = 10.0
    max_rows: int = 1000
    max_query_chars: int = 10_000
    allowed_procedures: tuple[str, ...] = DEFAULT_ALLOWED_PROCEDURES


@dataclass(frozen=True)
class CypherResult:
    """Columns and rows (JSON values) of a query; ``truncated``: more rows than ``max_rows`` were there."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


@runtime_checkable
class CypherStore(Protocol):
    """A graph store that runs analysts' read-only Cypher (the Neo4j store; not the embedded one)."""

    async def run_cypher(self, query: CypherQuery) -> CypherResult:
        """Check ``query`` against every guard, then run it; raises :class:`CypherRefused`."""
        ...
