"""docs/api.md: every ``curl`` example runs against a real server on the shop graph, and the
answer it shows has exactly the shape the server sends (tests/docs/api_examples.py made them).

The answers are regenerated with ``PYTHONPATH=src .venv/bin/python tests/docs/api_examples.py``.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_examples import DOC_URL, events, examples

from olgraph.config import Settings
from served_app import serve_in_thread

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
EXAMPLES = examples(DOC.read_text(encoding="utf-8"))
REFUSED = 409  # the example of a delete that live dependents block


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    for url in serve_in_thread(Settings(data_dir=tmp_path_factory.mktemp("api-doc"))):
        with httpx.Client(base_url=url) as client:
            for event in events():
                assert client.post("/api/v1/lineage", json=event).status_code == 201
            deadline = time.monotonic() + 30
            while client.get("/api/v1/stats").json()["pending"] and time.monotonic() < deadline:
                time.sleep(0.05)
        yield url


def test_the_doc_has_its_examples() -> None:
    assert len(EXAMPLES) >= 19
    routes = {shlex.split(curl)[-1 if "-X" not in curl else 4].split("?")[0] for curl, _ in EXAMPLES}
    for route in ("/lineage", "/column-lineage", "/impact", "/search", "/datasets", "/jobs", "/retention"):
        assert any(r.endswith("/api/v1" + route) for r in routes), route


def _same_shape(shown: Any, actual: Any, where: str = "$") -> None:
    """Every field shown exists in the answer and none of the answer's is missing (facets: the
    first one shown); lists: the items shown have the shape of the answer's first items."""
    if isinstance(shown, dict):
        assert isinstance(actual, dict), where
        if where.endswith(".facets"):
            assert set(shown) <= set(actual), where
        else:
            assert set(shown) == set(actual), (where, sorted(set(shown) ^ set(actual)))
        for key, value in shown.items():
            _same_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(actual, list), where
        assert len(actual) >= len(shown), where
        for i, item in enumerate(shown):
            _same_shape(item, actual[i], f"{where}[{i}]")


@pytest.mark.parametrize(("curl", "shown"), EXAMPLES, ids=[c.split("/api/v1")[1][:60] for c, _ in EXAMPLES])
def test_each_example_runs_and_answers_what_the_doc_shows(server: str, curl: str, shown: str) -> None:
    command = [*shlex.split(curl.replace(DOC_URL, server)), "-w", "\n%{http_code}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    expected = REFUSED if "DELETE" in curl and "force" not in curl else 200
    assert int(status) == expected, body
    if "format=csv" in curl:
        assert body.splitlines()[: len(shown.splitlines())] == shown.splitlines()
    else:
        _same_shape(json.loads(shown), json.loads(body))
