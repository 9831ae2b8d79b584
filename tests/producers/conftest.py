"""Fixtures of the producer scenarios: an ``olgraph serve`` with API keys behind a recording proxy,
and the distributed deployment (``producer_kafka.distributed``).

Helpers and toolchain provisioning live in ``producer_support``, the graph's reading in
``producer_graph`` (module names unique in the tree).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from producer_graph import Graph
from producer_kafka import distributed
from producer_support import E2E, INGEST, READ

__all__ = ["distributed", "served"]

pytest_runtest_makereport = E2E.pytest_runtest_makereport


class Served:
    """A running server, the proxy producers send through, and the graph it holds."""

    def __init__(self, server: object, proxy: object) -> None:
        self.server = server
        self.proxy = proxy
        self.graph = Graph(str(server.url), READ.secret)  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        """Where producers send (the recording proxy in front of the server)."""
        return str(self.proxy.url)  # type: ignore[attr-defined]

    def wait_applied(self) -> None:
        """Until every accepted event is in the graph (none dead-lettered)."""
        with self.server.client(READ.secret) as client:  # type: ignore[attr-defined]
            E2E.wait_applied(client)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``olgraph serve`` (embedded store) with an ``ingest`` and a ``read`` key, for one module."""
    data_dir: Path = tmp_path_factory.mktemp("olgraph") / "data"
    with (
        E2E.run_server(data_dir, api_keys=[INGEST, READ]) as server,
        E2E.run_recording_proxy(server.url) as proxy,
    ):
        yield Served(server, proxy)
