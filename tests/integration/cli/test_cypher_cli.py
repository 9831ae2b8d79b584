"""``olgraph cypher`` through real processes: a ``serve`` on Neo4j (and one on the embedded store)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLGRAPH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env | (extra or {})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(data_dir: Path, extra: list[str], env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "olgraph",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        *extra,
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip(), f"serve exited: {process.communicate(timeout=10)}"
            yield f"http://127.0.0.1:{port}"
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


@pytest.fixture
def neo4j_server(
    tmp_path: Path, neo4j_uri: str, neo4j_auth: tuple[str, str] | None, clean_neo4j: None
) -> Iterator[str]:
    env = _env()
    if neo4j_auth:
        env |= {"OLGRAPH_STORE__NEO4J__USER": neo4j_auth[0], "OLGRAPH_STORE__NEO4J__PASSWORD": neo4j_auth[1]}
    yield from _serve(tmp_path / "data", ["--neo4j-uri", neo4j_uri], env)


def _cypher(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "olgraph", "cypher", *args, "--url", url],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )


@pytest.mark.neo4j
def test_cypher_prints_a_table_json_and_csv(neo4j_server: str) -> None:
    query = "UNWIND range(1, $n) AS i RETURN i, 'row ' + i AS label"
    table = _cypher(neo4j_server, query, "--param", "n=3")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines() == ["i  label", "-  -----", "1  row 1", "2  row 2", "3  row 3"]

    as_json = _cypher(neo4j_server, query, "--param", "n=2", "--format", "json")
    assert json.loads(as_json.stdout) == {
        "columns": ["i", "label"],
        "rows": [[1, "row 1"], [2, "row 2"]],
        "rowCount": 2,
        "truncated": False,
    }

    as_csv = _cypher(neo4j_server, query, "--param", "n=5", "--format", "csv", "--max-rows", "2")
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines() == ["i,label", "1,row 1", "2,row 2"]
    assert "truncated" in as_csv.stderr


@pytest.mark.neo4j
def test_cypher_refusals_exit_2_with_the_reason(neo4j_server: str) -> None:
    refused = _cypher(neo4j_server, "MATCH (n) DETACH DELETE n")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "Error: the server answered 400: query: only read queries may run here: "
        "this query writes (query type 'w')"
    )


def test_cypher_on_the_embedded_store_says_it_needs_neo4j(tmp_path: Path) -> None:
    for url in _serve(tmp_path / "data", [], _env()):
        result = _cypher(url, "MATCH (n) RETURN n")
        assert result.returncode == 2
        assert "501: Cypher needs the Neo4j store (store.kind=neo4j)" in result.stderr
