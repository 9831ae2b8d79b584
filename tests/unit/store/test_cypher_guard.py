"""The text and plan gates of analysts' Cypher (the Neo4j side is tests/integration/api/test_cypher.py)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from olgraph.errors import CypherRefused
from olgraph.store.cypher_guard import (
    DEFAULT_ALLOWED_PROCEDURES,
    check_parameters,
    check_plan,
    check_text,
    code_of,
)


@pytest.mark.parametrize(
    "query",
    [
        "MATCH (n {name: 'LOAD CSV; USE x'}) RETURN n",
        'MATCH (n) WHERE n.sql CONTAINS "USE db; DELETE" RETURN n',
        "MATCH (n) RETURN n.`use`, n.use AS used, {use: 1} AS m",
        "MATCH (n) RETURN n // ; CREATE (m)",
        "MATCH (n) RETURN n /* LOAD CSV */",
        "MATCH (n) RETURN n;",
        "MATCH (t:Transaction) RETURN t",
    ],
)
def test_what_only_looks_forbidden_passes_the_text_gate(query: str) -> None:
    check_text(query, 10_000)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("MATCH (n) RETURN n; MATCH (m) RETURN m", "one statement"),
        ("RETURN 1 /* a */ ; /* b */ RETURN 2", "one statement"),
        ("LoAd   CsV FROM 'x' AS l RETURN l", "LOAD CSV"),
        ("MATCH (n) LOAD/**/CSV FROM 'x' AS l RETURN l", "LOAD CSV"),
        ("USING PERIODIC COMMIT LOAD CSV FROM 'x' AS l RETURN l", "LOAD CSV"),
        ("CALL { RETURN 1 AS x } IN 3 CONCURRENT TRANSACTIONS RETURN x", "IN TRANSACTIONS"),
        ("use system show users", "USE"),
        ("  profile MATCH (n) RETURN n", "EXPLAIN or PROFILE"),
        ("   ", "empty"),
        ("RETURN '" + "x" * 20 + "'", "cypher.max_query_chars"),
    ],
)
def test_the_text_gate_refuses(query: str, reason: str) -> None:
    with pytest.raises(CypherRefused, match=reason):
        check_text(query, 20) if "max_query_chars" in reason else check_text(query, 10_000)


@given(st.text(max_size=60))
def test_code_of_keeps_length_order_and_never_crashes(text: str) -> None:
    code = code_of(text)
    assert len(code) <= len(text) + 2 * text.count("'") + 2 * text.count('"') + 2


def _plan(operator: str, details: str = "", *children: dict[str, Any]) -> dict[str, Any]:
    return {"operatorType": f"{operator}@neo4j", "args": {"Details": details}, "children": list(children)}


def test_the_plan_gate_wants_a_read_query_type() -> None:
    check_plan("r", _plan("ProduceResults", "n", _plan("AllNodesScan", "n")), DEFAULT_ALLOWED_PROCEDURES)
    for query_type in ("rw", "w", "s", None):
        with pytest.raises(CypherRefused, match="only read queries"):
            check_plan(query_type, _plan("ProduceResults"), DEFAULT_ALLOWED_PROCEDURES)


def test_the_plan_gate_allows_only_listed_procedures() -> None:
    allowed = _plan("ProduceResults", "", _plan("ProcedureCall", "db.labels() :: (label :: STRING)"))
    check_plan("r", allowed, DEFAULT_ALLOWED_PROCEDURES)
    other = _plan("ProduceResults", "", _plan("ProcedureCall", "dbms.components() :: (name :: STRING)"))
    with pytest.raises(CypherRefused, match=r"procedure dbms\.components is not allowed"):
        check_plan("r", other, DEFAULT_ALLOWED_PROCEDURES)


@pytest.mark.parametrize(
    "operator", ["LoadCSV", "ShowTransactions", "TerminateTransactions", "TransactionApply"]
)
def test_the_plan_gate_refuses_operators(operator: str) -> None:
    with pytest.raises(CypherRefused, match=operator):
        check_plan("r", _plan("ProduceResults", "", _plan(operator)), DEFAULT_ALLOWED_PROCEDURES)


@pytest.mark.parametrize(
    ("parameters", "field"),
    [({"n": 2**63}, "parameters.n"), ({"m": {"deep": [1, -(2**63) - 1]}}, "parameters.m.deep[1]")],
)
def test_parameters_beyond_64_bits_are_refused_naming_them(parameters: dict[str, Any], field: str) -> None:
    with pytest.raises(CypherRefused) as info:
        check_parameters(parameters)
    assert info.value.field == field


def test_parameters_neo4j_can_hold_pass() -> None:
    check_parameters({"n": 2**63 - 1, "m": -(2**63), "b": True, "f": 1e308, "s": "x", "l": [None, {"k": 1}]})
