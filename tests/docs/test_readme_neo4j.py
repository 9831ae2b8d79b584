"""The README's Neo4j example runs as written: the URI comes from ``olgraph services up``, never a
hard-coded port, and ``olgraph serve`` then stores the graph in that Neo4j.

The block is taken from README.md ("Neo4j and Cypher"), run by bash with ``.venv/bin/olgraph``
replaced by this interpreter's ``python -m olgraph``; ``olgraph serve`` gets ``--port 0`` and a
temporary data folder. The Neo4j is the test session's (``neo4j_uri``), which the local
launcher started in the same services cache, so ``services up`` finds it running.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_readme import README_CLI, REPO, section_blocks

from olgraph.devservices import neo4j as neo4j_launcher


def _neo4j_block() -> list[str]:
    (block,) = [b for b in section_blocks("Neo4j and Cypher", "bash") if "services up" in b.text]
    lines = [line.split("  #")[0].strip() for line in block.text.splitlines() if line.strip()]
    assert len(lines) == 2, lines
    return lines


def test_the_readme_takes_the_neo4j_uri_from_services_up() -> None:
    up, serve = _neo4j_block()
    assert up == f'eval "$({README_CLI} services up neo4j --env)"'
    assert serve == f"{README_CLI} serve"
    assert "7687" not in up + serve


@pytest.mark.neo4j
def test_the_readme_neo4j_example_serves_from_the_neo4j_that_services_up_started(
    neo4j_uri: str, tmp_path: Path
) -> None:
    running = neo4j_launcher.status()
    if os.environ.get("NEO4J_URI") or running is None or running.uri != neo4j_uri:
        pytest.skip("the session's Neo4j is not the local launcher's (NEO4J_URI is set)")
    cli = f"{shlex.quote(sys.executable)} -m olgraph"
    up, serve = (line.replace(README_CLI, cli) for line in _neo4j_block())
    script = f"set -e\n{up}\nexec {serve} --port 0 --data-dir {shlex.quote(str(tmp_path / 'data'))}\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLGRAPH_", "OPENLINEAGE"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    if cache := os.environ.get("OLGRAPH_SERVICES_CACHE"):
        env["OLGRAPH_SERVICES_CACHE"] = cache
    process = subprocess.Popen(
        ["bash", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert re.fullmatch(
        rf"olgraph \S+ listening on http://127\.0\.0\.1:\d+ \(store: neo4j {neo4j_uri}\)", line
    ), (
        line,
        err,
    )
