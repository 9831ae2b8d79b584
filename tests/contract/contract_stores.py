"""Factories of fresh, opened, empty stores for the contract suite (one per store kind)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from olgraph.store.base import GraphStore
from olgraph.store.embedded import EmbeddedStore

StoreFactory = Callable[[], AbstractAsyncContextManager[GraphStore]]


def embedded_factory(folder: Path) -> StoreFactory:
    """Fresh embedded stores, each in a new file under ``folder``."""

    @asynccontextmanager
    async def make() -> AsyncIterator[GraphStore]:
        store = EmbeddedStore(folder / f"graph-{uuid.uuid4().hex}.db")
        await store.open()
        try:
            yield store
        finally:
            await store.close()

    return make


def neo4j_factory(request: pytest.FixtureRequest) -> StoreFactory:
    """Fresh Neo4j stores: the database is emptied (indexes kept) before each one opens.

    Uses the session's ``neo4j_uri``/``neo4j_driver`` fixtures (``tests/conftest.py``).
    """
    from olgraph.store.neo4j import Neo4jStore  # noqa: PLC0415 - only when a Neo4j test runs

    uri = str(request.getfixturevalue("neo4j_uri"))
    driver = request.getfixturevalue("neo4j_driver")
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")

    @asynccontextmanager
    async def make() -> AsyncIterator[GraphStore]:
        with driver.session() as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
        store = Neo4jStore(uri, user=user or None, password=password or None)
        await store.open()
        try:
            yield store
        finally:
            await store.close()

    return make
