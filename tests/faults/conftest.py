"""Fixtures of the fault tests: private Neo4j and Kafka servers that a test may stop, and process control.

Tests that stop a server get a *private* one (``private_neo4j``, ``private_kafka``, module
scope): started by the project's launchers in a temporary services folder, so stopping it
never disturbs the session's shared servers. Tests that only kill olgraph processes use the
session fixtures (``neo4j_uri``, ``kafka_bootstrap``) from tests/conftest.py.

``processes`` starts ``olgraph api`` / ``olgraph consume`` subprocesses and reaps them all after
the test; a failing test's report carries their output.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from fault_kafka import Topics, create_topic
from fault_support import PrivateServer, Processes, olgraph_processes, private_server
from fault_verify import empty_database

from olgraph.devservices import kafka as kafka_launcher
from olgraph.devservices import neo4j as neo4j_launcher

_ACTIVE: list[Processes] = []


@pytest.fixture(scope="module")
def private_neo4j(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateServer]:
    """A Neo4j of this module only (``.address`` is its Bolt URI), stopped at the module's end."""
    yield from private_server(neo4j_launcher, tmp_path_factory.mktemp("private-services"))


@pytest.fixture(scope="module")
def private_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateServer]:
    """A Kafka broker of this module only (``.address`` is its bootstrap string), stopped at the end."""
    yield from private_server(kafka_launcher, tmp_path_factory.mktemp("private-services"))


@pytest.fixture
def make_topics(request: pytest.FixtureRequest) -> Callable[[str, int], Topics]:
    """Create uniquely named topics on a broker: ``make_topics(bootstrap, partitions)``."""

    def make(bootstrap: str, partitions: int) -> Topics:
        name = f"faults-{request.node.name[:40]}-{uuid.uuid4().hex[:10]}".replace("[", "-").replace("]", "")
        topics = Topics(name, f"{name}.dlq", f"{name}-group")
        create_topic(bootstrap, topics.events, partitions)
        create_topic(bootstrap, topics.dead_letters, 1)
        return topics

    return make


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Start olgraph subprocesses; every one is reaped after the test (see :class:`Processes`)."""
    with olgraph_processes(tmp_path / "processes") as started:
        _ACTIVE.append(started)
        try:
            yield started
        finally:
            _ACTIVE.remove(started)


@pytest.fixture
def empty_graph() -> Callable[[str], str]:
    """Empty the Neo4j at a URI (the exactly-once check counts every node); returns the URI."""

    def empty(uri: str) -> str:
        empty_database(uri)
        return uri

    return empty


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the output of the test's olgraph processes to its report when it fails."""
    report = yield
    if report.failed:
        for started in _ACTIVE:
            for process in started.started:
                report.sections.append((f"{process.name} output", process.output(200)))
    return report
