"""Where the test suite's own services live, and launcher-started servers for the launcher tests.

Tests import it as ``from service_paths import ...`` (tests/ is on ``sys.path``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from olgraph.devservices import ServiceInfo

REPO = Path(__file__).resolve().parents[1]
TEST_SERVICES_CACHE = Path(os.environ.get("OLGRAPH_TEST_SERVICES_CACHE") or REPO / ".cache" / "test-services")
"""The checkout's private services folder: the session's Neo4j and Kafka (tests/conftest.py)."""
LAUNCHER_TESTS_CACHE = TEST_SERVICES_CACHE.parent / "launcher-test-services"
"""Where the launcher tests start servers of their own when the session's come from elsewhere."""


@dataclass(frozen=True)
class Launched:
    """A server started by a launcher, and the services folder it lives in."""

    info: ServiceInfo
    cache_dir: Path


def launched_server(launcher: ModuleType, session_address: str) -> Iterator[Launched]:
    """The session's server when the launcher started it; otherwise (it comes from the environment
    or testcontainers) one the launcher starts now, privately, and stops afterwards. Either way the
    launcher tests run: they never skip because the servers came from elsewhere."""
    info = launcher.status(TEST_SERVICES_CACHE)
    if info is not None and info.running and info.uri == session_address:
        yield Launched(info, TEST_SERVICES_CACHE)
        return
    own = launcher.up(LAUNCHER_TESTS_CACHE, any_port=True)
    try:
        yield Launched(own, LAUNCHER_TESTS_CACHE)
    finally:
        if own.started:
            launcher.down(LAUNCHER_TESTS_CACHE)
