"""Fixtures for a real Neo4j, resolved in the order of DESIGN section 8; never a mock, never a silent skip.

1. ``$NEO4J_URI`` (a server you run yourself; auth disabled, or set NEO4J_USERNAME/NEO4J_PASSWORD);
2. the local launcher ``olgraph.devservices.neo4j`` (Maven Central jars, started on 127.0.0.1 and
   stopped at session end only if this session started it);
3. testcontainers, where a Docker engine is reachable;
4. otherwise every test that needs Neo4j fails with the reasons.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from neo4j import Driver, GraphDatabase

from olgraph.devservices import ServiceError
from olgraph.devservices import neo4j as neo4j_launcher

CONTAINER_IMAGE = "neo4j:5.26"


@pytest.fixture(scope="session")
def neo4j_uri() -> Iterator[str]:
    """Bolt URI of a real, auth-less Neo4j shared by the whole test session."""
    from_env = os.environ.get("NEO4J_URI")
    if from_env:
        yield from_env
        return
    problems: list[str] = []
    try:
        info = neo4j_launcher.up()
    except ServiceError as exc:
        problems.append(f"local launcher (olgraph services up neo4j): {exc}")
    else:
        yield info.uri
        if info.started:
            neo4j_launcher.down()
        return
    container = _start_container(problems)
    if container is None:
        pytest.fail("no Neo4j for the tests:\n" + "\n".join(problems), pytrace=False)
    try:
        yield str(container.get_connection_url())
    finally:
        container.stop()


@pytest.fixture
def neo4j_driver(neo4j_uri: str) -> Iterator[Driver]:
    """A synchronous driver on :func:`neo4j_uri`, closed after the test."""
    with GraphDatabase.driver(neo4j_uri, auth=_auth_from_env()) as driver:
        yield driver


@pytest.fixture
def clean_neo4j(neo4j_driver: Driver) -> None:
    """Start the test with no nodes or relationships; indexes and constraints are kept."""
    with neo4j_driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def _auth_from_env() -> tuple[str, str] | None:
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    return (user, password) if user and password else None


def _start_container(problems: list[str]) -> Any:
    """A started Neo4j testcontainer with auth disabled, or None (reason appended to ``problems``)."""
    try:
        from docker.errors import DockerException  # noqa: PLC0415 - optional, heavy
        from testcontainers.community.neo4j import Neo4jContainer  # noqa: PLC0415
    except ImportError as exc:
        problems.append(f"testcontainers: not installed ({exc})")
        return None
    with warnings.catch_warnings():
        # docker-py leaves its probe socket unclosed when no engine answers; warnings are errors here.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            container = Neo4jContainer(CONTAINER_IMAGE)
            container.with_env("NEO4J_dbms_security_auth__enabled", "false").start()
        except DockerException as exc:
            problems.append(f"testcontainers: no Docker engine reachable ({exc})")
            container = None
        gc.collect()
    return container
