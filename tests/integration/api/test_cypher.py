"""POST /api/v1/cypher against a real Neo4j: every write and escape form is refused, reads answer.

Each refused query is also checked not to have changed the graph (a marker node count and
the labels stay as they were), so a guard that let a write through cannot pass unnoticed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ingest_it_support import isolated_env, make_settings, running_app

from olgraph.api.auth import hash_api_key

__all__ = ["isolated_env"]

pytestmark = pytest.mark.neo4j

KEYS = {"analyst-key": "analyst", "read-key": "read", "admin-key": "admin", "ingest-key": "ingest"}
ANALYST = {"authorization": "Bearer analyst-key"}

WRITES_AND_ESCAPES = {
    "create": "CREATE (n:Intruder) RETURN n",
    "create-lowercase": "create (n:Intruder)",
    "create-mixed-case": "cReAtE (n:Intruder)",
    "merge": "MERGE (n:Intruder {name: 'x'}) RETURN n",
    "set": "MATCH (n:Marker) SET n.touched = true",
    "set-labels": "MATCH (n:Marker) SET n:Intruder",
    "remove": "MATCH (n:Marker) REMOVE n.name",
    "delete": "MATCH (n:Marker) DELETE n",
    "detach-delete": "MATCH (n:Marker) DETACH DELETE n",
    "foreach": "MATCH (n:Marker) FOREACH (i IN [1] | CREATE (:Intruder))",
    "call-in-transactions": "MATCH (n:Marker) CALL (n) { DETACH DELETE n } IN TRANSACTIONS",
    "call-in-transactions-read": "CALL { MATCH (n) RETURN n } IN TRANSACTIONS OF 10 ROWS RETURN n",
    "subquery-write": "CALL { CREATE (n:Intruder) RETURN n } RETURN n",
    "write-procedure": "CALL db.createLabel('Intruder')",
    "write-procedure-property": "CALL db.createProperty('intruder')",
    "dbms-procedure": "CALL dbms.listConfig()",
    "dbms-components": "CALL dbms.components()",
    "read-procedure-not-allowed": "CALL db.info()",
    "unknown-procedure": "CALL apoc.create.node(['Intruder'], {})",
    "load-csv": "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
    "load-csv-hidden-by-comment": "MATCH (n) /* x */ LOAD /* y */ CSV FROM 'file:///etc/hosts' AS l RETURN l",
    "periodic-commit": "USING PERIODIC COMMIT 10 LOAD CSV FROM 'file:///x' AS l CREATE (:Intruder)",
    "two-statements": "MATCH (n) RETURN n; CREATE (:Intruder)",
    "two-statements-after-comment": "RETURN 1 // harmless\n; CREATE (:Intruder)",
    "write-after-block-comment": "MATCH (n:Marker) /* RETURN n */ DELETE n",
    "write-after-line-comment": "MATCH (n:Marker) // read only\nDETACH DELETE n",
    "use-system": "USE system SHOW USERS",
    "use-in-subquery": "CALL { USE system SHOW USERS YIELD user RETURN user } RETURN user",
    "show-transactions": "SHOW TRANSACTIONS",
    "terminate": "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "create-index": "CREATE INDEX intruder FOR (n:Intruder) ON (n.name)",
    "drop-constraint": "DROP CONSTRAINT job_key",
    "create-user": "CREATE USER intruder SET PASSWORD 'intruder-password'",
    "alter-user": "ALTER CURRENT USER SET PASSWORD FROM 'x' TO 'yyyyyyyyyy'",
    "create-database": "CREATE DATABASE intruder",
    "explain-prefix": "EXPLAIN CREATE (:Intruder)",
    "profile-prefix": "PROFILE MATCH (n) RETURN n",
    "syntax-error": "MATCH (n RETURN n",
}


@pytest.fixture
async def cypher_client(
    tmp_path: Path, neo4j_uri: str, neo4j_auth: Any, clean_neo4j: None
) -> AsyncIterator[Any]:
    keys = [
        {"name": f"{role}-client", "role": role, "sha256": hash_api_key(key)} for key, role in KEYS.items()
    ]
    neo4j: dict[str, Any] = {"uri": neo4j_uri}
    if neo4j_auth:
        neo4j |= {"user": neo4j_auth[0], "password": neo4j_auth[1]}
    settings = make_settings(
        tmp_path,
        store={"kind": "neo4j", "neo4j": neo4j},
        auth={"api_keys": keys},
        cypher={"max_rows": 50, "timeout_seconds": 5},
    )
    async with running_app(settings) as (app, client):
        await _cypher_write(app, "CREATE (:Marker {name: 'm1'}), (:Marker {name: 'm2'})")
        yield app, client


async def _cypher_write(app: Any, text: str) -> None:
    """A write through the store's own driver (the test's setup, not the endpoint)."""
    driver = app.state.runtime.store._require()
    await driver.execute_query(text)


async def _post(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str] = ANALYST
) -> httpx.Response:
    return await client.post("/api/v1/cypher", json=body, headers=headers)


async def _graph_state(client: httpx.AsyncClient) -> Any:
    state = await _post(
        client,
        {"query": "MATCH (n) RETURN labels(n) AS labels, properties(n) AS props ORDER BY props.name"},
    )
    assert state.status_code == 200, state.text
    return state.json()["rows"]


@pytest.mark.parametrize("query", WRITES_AND_ESCAPES.values(), ids=WRITES_AND_ESCAPES.keys())
async def test_writes_and_escapes_are_refused_and_change_nothing(cypher_client: Any, query: str) -> None:
    _, client = cypher_client
    before = await _graph_state(client)
    response = await _post(client, {"query": query})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["field"] == "query"
    assert body["error"]
    assert await _graph_state(client) == before
    assert before == [[["Marker"], {"name": "m1"}], [["Marker"], {"name": "m2"}]]


async def test_a_read_with_parameters_answers_json(cypher_client: Any) -> None:
    _, client = cypher_client
    response = await _post(
        client,
        {"query": "MATCH (n:Marker {name: $name}) RETURN n.name AS name, n", "parameters": {"name": "m2"}},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["columns"] == ["name", "n"]
    assert body["rowCount"] == 1
    assert body["truncated"] is False
    [[name, node]] = body["rows"]
    assert name == "m2"
    assert node["labels"] == ["Marker"]
    assert node["properties"] == {"name": "m2"}
    assert node["elementId"]


async def test_allowed_procedures_run(cypher_client: Any) -> None:
    _, client = cypher_client
    response = await _post(client, {"query": "CALL db.labels() YIELD label RETURN label ORDER BY label"})
    assert response.status_code == 200
    assert ["Marker"] in response.json()["rows"]


async def test_rows_are_capped_with_truncated(cypher_client: Any) -> None:
    _, client = cypher_client
    capped = await _post(client, {"query": "UNWIND range(1, 1000) AS i RETURN i"})
    fewer = await _post(client, {"query": "UNWIND range(1, 1000) AS i RETURN i", "maxRows": 3})
    exact = await _post(client, {"query": "UNWIND range(1, 50) AS i RETURN i"})
    assert (capped.json()["rowCount"], capped.json()["truncated"]) == (50, True)
    assert (fewer.json()["rows"], fewer.json()["truncated"]) == ([[1], [2], [3]], True)
    assert (exact.json()["rowCount"], exact.json()["truncated"]) == (50, False)


async def test_csv_answers_carry_the_truncation_in_a_header(cypher_client: Any) -> None:
    _, client = cypher_client
    response = await _post(
        client,
        {"query": "UNWIND range(1, 3) AS i RETURN i, [i, i] AS pair, null AS nothing", "format": "csv"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-olgraph-truncated"] == "false"
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["i", "pair", "nothing"],
        ["1", "[1,1]", ""],
        ["2", "[2,2]", ""],
        ["3", "[3,3]", ""],
    ]


async def test_temporal_spatial_and_path_values_become_json(cypher_client: Any) -> None:
    app, client = cypher_client
    await _cypher_write(
        app, "MATCH (a:Marker {name: 'm1'}), (b:Marker {name: 'm2'}) CREATE (a)-[:LINKS {w: 1}]->(b)"
    )
    response = await _post(
        client,
        {
            "query": "MATCH p = (:Marker)-[r:LINKS]->(:Marker) "
            "RETURN date('2024-05-01') AS d, duration('P1DT2H') AS du, point({x: 1, y: 2}) AS pt, p"
        },
    )
    assert response.status_code == 200, response.text
    [[day, duration, point, path]] = response.json()["rows"]
    assert (day, duration, point) == ("2024-05-01", "P1DT2H", {"srid": 7203, "x": 1.0, "y": 2.0})
    assert [n["properties"]["name"] for n in path["nodes"]] == ["m1", "m2"]
    [link] = path["relationships"]
    assert (link["type"], link["properties"]) == ("LINKS", {"w": 1})
    assert link["startElementId"] == path["nodes"][0]["elementId"]


async def test_a_query_over_the_timeout_is_refused(tmp_path: Path, neo4j_uri: str, neo4j_auth: Any) -> None:
    neo4j: dict[str, Any] = {"uri": neo4j_uri}
    if neo4j_auth:
        neo4j |= {"user": neo4j_auth[0], "password": neo4j_auth[1]}
    settings = make_settings(
        tmp_path, store={"kind": "neo4j", "neo4j": neo4j}, cypher={"timeout_seconds": 0.5}
    )
    async with running_app(settings) as (_, client):
        slow = "UNWIND range(1, 100000000) AS i WITH i WHERE i % 7 = 123456789 RETURN count(i)"
        response = await client.post("/api/v1/cypher", json={"query": slow})
    assert response.status_code == 400
    assert "cypher.timeout_seconds" in response.json()["error"]


@pytest.mark.parametrize(
    ("key", "status"),
    [("read-key", 403), ("ingest-key", 403), ("admin-key", 200), ("analyst-key", 200), (None, 401)],
)
async def test_roles(cypher_client: Any, key: str | None, status: int) -> None:
    _, client = cypher_client
    headers = {"authorization": f"Bearer {key}"} if key else {}
    response = await _post(client, {"query": "RETURN 1 AS one"}, headers)
    assert response.status_code == status


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": ""}, "query"),
        ({}, "query"),
        ({"query": "RETURN 1", "format": "xml"}, "format"),
        ({"query": "RETURN 1", "parameters": []}, "parameters"),
        ({"query": "RETURN 1", "maxRows": 0}, "maxRows"),
        ({"query": "RETURN 1", "surprise": 1}, "surprise"),
    ],
)
async def test_malformed_requests_get_400_naming_the_field(
    cypher_client: Any, body: dict[str, Any], field: str
) -> None:
    _, client = cypher_client
    response = await _post(client, body)
    assert response.status_code == 400
    assert response.json()["field"] == field
