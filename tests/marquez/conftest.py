"""The real Marquez 0.50 and olgraph's Marquez-compatible API, fed the same events.

One Marquez per session (built from its source tarball by ``bench/marquez.py``, cached under the
services cache; a fresh private PostgreSQL without fsync) and one ``olgraph serve`` with
``--marquez-port``. ``fed`` posts the shared corpus and the scenarios of ``scenarios.py`` to both,
one event at a time in the same order: an event goes to Marquez only if olgraph's parser takes
it, and to olgraph only once Marquez took it, so both hold the same events.

``OLGRAPH_MARQUEZ_FULL=1`` (``make test-marquez``) compares every route on every node; without
it (``make test``) a fixed sample: the scenarios' namespaces and a few corpus nodes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from differential import Side

from marquez_scenarios import all_scenarios
from olgraph.errors import InvalidEvent
from olgraph.ingest import parse_event
from service_paths import TEST_SERVICES_CACHE

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus"
BENCH = REPO / "bench"
FULL = os.environ.get("OLGRAPH_MARQUEZ_FULL", "") not in ("", "0", "false")

if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


def _load_e2e_support() -> Any:
    """tests/e2e/e2e_support.py (its ``olgraph serve`` runner), as a module of its own."""
    name = "olgraph_e2e_support"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "e2e" / "e2e_support.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


E2E = _load_e2e_support()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here talks to the real Marquez."""
    for item in items:
        if "tests/marquez/" in item.nodeid.replace("\\", "/") or item.nodeid.startswith("marquez/"):
            item.add_marker(pytest.mark.marquez)


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Olgraph:
    """``olgraph serve`` with its own API at ``url`` and the Marquez-compatible one at ``marquez_url``."""

    url: str
    marquez_url: str
    server: Any


@pytest.fixture(scope="session")
def olgraph(scratch: Path) -> Iterator[Olgraph]:
    """``olgraph serve`` (embedded store) with the Marquez-compatible API on a second port."""
    port = _free_port()
    with E2E.run_server(scratch / "olgraph", env={"OLGRAPH_MARQUEZ__PORT": str(port)}) as server:
        yield Olgraph(server.url, f"http://127.0.0.1:{port}", server)


@dataclass
class Fed:
    """What was posted: events both took, and the ones left out with the reason."""

    posted: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


def corpus_events() -> list[tuple[str, bytes]]:
    """The shared corpus, by file name."""
    return [(p.relative_to(CORPUS).as_posix(), p.read_bytes()) for p in sorted(CORPUS.rglob("*.json"))]


def scenario_events() -> list[tuple[str, bytes]]:
    """The scenarios' events, named ``scenario#n``."""
    return [
        (f"{name}#{n}", json.dumps(event).encode())
        for name, events in all_scenarios().items()
        for n, event in enumerate(events)
    ]


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
