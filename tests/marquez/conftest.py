"""The real Marquez 0.50 and olgraph's Marquez-compatible API, fed the same events.

One Marquez per session (built from its source tarball by ``bench/marquez.py``, cached under the
test services cache; a fresh private PostgreSQL without fsync) and one ``olgraph serve`` with
``--marquez-port``. ``fed`` posts the shared corpus and the scenarios of ``marquez_scenarios`` to
both, one event at a time in the same order: an event goes to Marquez only if olgraph's parser
takes it, and to olgraph only once Marquez took it, so both hold the same events.
"""

from __future__ import annotations

import importlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from differential import Side
from marquez_peer_support import FULL, Fed, Olgraph, corpus_events, free_port, scenario_events

from olgraph.errors import InvalidEvent
from olgraph.ingest import parse_event
from service_paths import TEST_SERVICES_CACHE

E2E = importlib.import_module("e2e_support")  # tests/e2e/, put on the path by marquez_peer_support


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here talks to the real Marquez. Marquez Web's tests (a webpack build of minutes
    on a fresh machine) run with ``make test-marquez`` only: ``make test`` leaves them out."""
    web: list[pytest.Item] = []
    for item in items:
        path = item.nodeid.replace("\\", "/")
        if "tests/marquez/" in path or path.startswith("marquez/"):
            item.add_marker(pytest.mark.marquez)
            if "test_marquez_web.py" in path and not FULL:
                web.append(item)
    if web:
        config.hook.pytest_deselected(items=web)
        items[:] = [item for item in items if item not in web]


@pytest.fixture(scope="session")
def scratch() -> Iterator[Path]:
    """A folder the postgres user can reach (PostgreSQL runs as that user)."""
    path = Path(tempfile.mkdtemp(prefix="olgraph-marquez-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def marquez_url(scratch: Path) -> Iterator[str]:
    """The real Marquez 0.50.0, on a fresh PostgreSQL."""
    from marquez import marquez_server  # noqa: PLC0415  (bench/marquez.py)

    with marquez_server(scratch, TEST_SERVICES_CACHE, durable=False, heap="1g") as server:
        yield server.url


@pytest.fixture(scope="session")
def olgraph(scratch: Path) -> Iterator[Olgraph]:
    """``olgraph serve`` (embedded store) with the Marquez-compatible API on a second port."""
    port = free_port()
    with E2E.run_server(scratch / "olgraph", env={"OLGRAPH_MARQUEZ__PORT": str(port)}) as server:
        yield Olgraph(server.url, f"http://127.0.0.1:{port}", server)


@pytest.fixture(scope="session")
def fed(marquez_url: str, olgraph: Olgraph) -> Fed:
    """The corpus and the scenarios, posted to both in the same order."""
    result = Fed()
    headers = {"Content-Type": "application/json"}
    with httpx.Client(timeout=120) as client:
        for name, body in [*corpus_events(), *scenario_events()]:
            try:
                event = json.loads(body)
                parse_event(event)
            except (ValueError, InvalidEvent) as exc:
                result.skipped[name] = f"olgraph refuses it: {exc}"
                continue
            answer = client.post(f"{marquez_url}/api/v1/lineage", content=body, headers=headers)
            if answer.status_code >= 300:
                result.skipped[name] = f"Marquez refuses it: {answer.status_code} {answer.text[:200]}"
                continue
            ours = client.post(f"{olgraph.marquez_url}/api/v1/lineage", content=body, headers=headers)
            assert ours.status_code == 201, f"{name}: {ours.status_code} {ours.text}"
            result.posted.append(name)
            result.events.append(event)
    with httpx.Client(base_url=olgraph.url, timeout=30) as own:
        E2E.wait_applied(own)
    return result


@pytest.fixture(scope="session")
def sides(fed: Fed, marquez_url: str, olgraph: Olgraph) -> Iterator[tuple[Side, Side]]:
    """Clients of both Marquez APIs, once both hold the same events."""
    assert fed.posted
    marquez, ours = Side("Marquez", marquez_url), Side("olgraph", olgraph.marquez_url)
    yield marquez, ours
    marquez.close()
    ours.close()
