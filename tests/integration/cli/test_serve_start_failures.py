"""What a newcomer sees when ``olgraph serve`` cannot start: one line naming the problem, exit 1,
never a traceback. Real processes, a real port held by another socket, a real Neo4j."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from neo4j import Driver

REPO = Path(__file__).resolve().parents[3]


def _olgraph(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "OPENLINEAGE"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "olgraph", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("command", ["serve", "api"])
def test_a_taken_port_is_one_line_naming_it(command: str, taken_port: int, tmp_path: Path) -> None:
    result = _olgraph(command, "--port", str(taken_port), "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: port {taken_port} on 127.0.0.1 is already in use (another olgraph?); "
        "stop what listens there or choose another with --port\n"
    )
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["serve", "api"])
def test_a_taken_marquez_port_is_one_line_naming_its_option(
    command: str, taken_port: int, tmp_path: Path
) -> None:
    args = ("--port", "0", "--marquez-port", str(taken_port), "--data-dir", str(tmp_path / "d"))
    result = _olgraph(command, *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: port {taken_port} on 127.0.0.1 is already in use (another olgraph?); "
        "stop what listens there or choose another with --marquez-port\n"
    )
    assert result.stdout == ""


def test_an_unreachable_neo4j_does_not_stop_serve_and_readiness_says_so(tmp_path: Path) -> None:
    """Neo4j down is not a start failure (docs/durability.md): serve starts, one warning line says
    queries answer 503 until the store answers, /readyz is 503 naming the store, and events are
    still accepted (the local log holds them until Neo4j is back)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "OPENLINEAGE"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        "-m",
        "olgraph",
        "serve",
        "--port",
        "0",
        "--neo4j-uri",
        f"bolt://127.0.0.1:{closed}",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path
    ) as server:
        try:
            assert server.stdout is not None
            listening = server.stdout.readline()  # blocks until the server listens (or exits)
            assert listening.startswith("olgraph 0.1.0 listening on http://127.0.0.1:"), listening
            assert listening.rstrip().endswith(f"(store: neo4j bolt://127.0.0.1:{closed})")
            base = listening.split(" on ", 1)[1].split(" ", 1)[0]
            with httpx.Client(base_url=base, timeout=30) as client:
                ready = client.get("/readyz")
                assert ready.status_code == 503
                assert "store" in ready.text
                event = {
                    "eventType": "START",
                    "eventTime": "2024-01-01T00:00:00Z",
                    "producer": "https://example.org/tests",
                    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
                    "run": {"runId": "run-while-neo4j-is-down"},
                    "job": {"namespace": "n", "name": "j"},
                }
                assert client.post("/api/v1/lineage", json=event).status_code == 201
        finally:
            server.send_signal(signal.SIGTERM)
            _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr
    warnings = [line for line in stderr.splitlines() if "WARNING" in line]
    assert f"Neo4j unreachable (connecting): Couldn't connect to 127.0.0.1:{closed}" in warnings[0]
    assert "queries answer 503 until the graph store answers" in stderr
    assert "Traceback" not in stderr


@pytest.mark.neo4j
@pytest.mark.usefixtures("clean_neo4j")
def test_a_neo4j_without_olgraphs_schema_is_refused_unless_asked_to_create_it(
    neo4j_driver: Driver, neo4j_uri: str, tmp_path: Path
) -> None:
    """A wrong URI must not write into somebody else's Neo4j: a database without olgraph's
    schema is refused with a line saying how to create it, and nothing is written; with
    ``--neo4j-create-schema`` the schema is created and the server starts.

    (Community edition has one user database, so the test takes olgraph's schema out of the
    session's Neo4j and puts it back by the second start.)
    """
    _drop_schema(neo4j_driver)
    refused = _olgraph("serve", "--port", "0", "--neo4j-uri", neo4j_uri, *_credentials(), cwd=tmp_path)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr == (
        f"Error: cannot start: Neo4j at {neo4j_uri} (database default) does not hold olgraph's "
        "schema: is it the database you meant? If it is, start once with --neo4j-create-schema "
        "(OLGRAPH_STORE__NEO4J__CREATE_SCHEMA=true) to create it\n"
    )
    assert neo4j_driver.execute_query("SHOW CONSTRAINTS").records == []
    assert neo4j_driver.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == 0

    created = _olgraph_until_listening(
        ["serve", "--port", "0", "--neo4j-uri", neo4j_uri, "--neo4j-create-schema", *_credentials()], tmp_path
    )
    assert created.startswith("olgraph 0.1.0 listening on http://127.0.0.1:"), created
    constraints = {
        r["name"] for r in neo4j_driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN name").records
    }
    assert {"job_key", "run_key", "dataset_key", "field_key"} <= constraints


def _drop_schema(driver: Driver) -> None:
    """Drop every constraint (with its index), then every other index but the built-in lookups."""
    for record in driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN name").records:
        driver.execute_query(f"DROP CONSTRAINT `{record['name']}` IF EXISTS")
    indexes = driver.execute_query("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name").records
    for record in indexes:
        driver.execute_query(f"DROP INDEX `{record['name']}` IF EXISTS")


def _credentials() -> list[str]:
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    return ["--neo4j-user", user, "--neo4j-password", password] if user and password else []


def _olgraph_until_listening(args: list[str], cwd: Path) -> str:
    """Start ``olgraph ARGS``, return its first stdout line (the start-up line), then stop it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "OPENLINEAGE"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "olgraph", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()  # blocks until the line, or EOF when it exits
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return line
