"""The embedded store when it cannot write *now*: a full file, a read-only filesystem.

SQLite's ``max_page_count`` pragma makes the file "full" for real — SQLite answers
``SQLITE_FULL`` ("database or disk is full"), exactly as on a full disk — without needing a
small volume (``tests/faults/test_disk_full.py`` does it with a real 12 MB tmpfs as well).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from olgraph.errors import StoreUnavailable
from olgraph.normalize.mutations import Label, Merge, Prop, UpsertNode
from olgraph.store.embedded import EmbeddedStore


def _big_dataset(n: int) -> UpsertNode:
    return UpsertNode(
        f"dataset:db:d{n}",
        Label.DATASET,
        (Prop("namespace", "db"), Prop("name", f"d{n}"), Prop("facet.pad", "x" * 50_000, Merge.LWW)),
    )


def _limit_pages(conn: sqlite3.Connection, pages: int) -> None:
    conn.execute(f"PRAGMA max_page_count={pages}")


def _page_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA page_count").fetchone()[0])


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EmbeddedStore]:
    opened = EmbeddedStore(tmp_path / "graph.db", min_free_bytes=0)
    await opened.open()
    yield opened
    await opened.close()


async def _fill_up(store: EmbeddedStore) -> StoreUnavailable:
    pages = await store._call(_page_count)
    await store._call(lambda conn: _limit_pages(conn, pages + 20))  # room for about one node
    for n in range(10):
        try:
            await store.apply([_big_dataset(n)])
        except StoreUnavailable as exc:
            return exc
    raise AssertionError("the store never filled up")


async def test_a_full_file_is_retriable_and_names_the_cause(store: EmbeddedStore) -> None:
    exc = await _fill_up(store)

    assert exc.retriable
    # The cause, not the ROLLBACK that SQLite had already done ("no transaction is active").
    assert "database or disk is full" in str(exc)
    assert "rollback" not in str(exc).lower()


async def test_ping_reports_a_failed_write_until_one_succeeds(store: EmbeddedStore) -> None:
    await store.ping()
    await _fill_up(store)

    with pytest.raises(StoreUnavailable, match=r"last write failed: .*database or disk is full"):
        await store.ping()

    await store._call(lambda conn: _limit_pages(conn, 1_000_000))  # space is back
    await store.apply([_big_dataset(99)])
    await store.ping()
    assert await store.get_node("dataset:db:d99") is not None


async def test_the_store_keeps_working_after_a_full_file(store: EmbeddedStore) -> None:
    """A COMMIT that fails must not leave a transaction open (the next BEGIN would fail for ever)."""
    await _fill_up(store)
    await store._call(lambda conn: _limit_pages(conn, 1_000_000))
    for n in range(20, 23):
        await store.apply([_big_dataset(n)])
    assert [await store.get_node(f"dataset:db:d{n}") is not None for n in range(20, 23)] == [True] * 3


async def test_ping_reports_too_little_free_space(tmp_path: Path) -> None:
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    store = EmbeddedStore(tmp_path / "graph.db", min_free_bytes=free * 2 + 1)
    await store.open()
    try:
        with pytest.raises(StoreUnavailable, match="bytes free on the filesystem"):
            await store.ping()
    finally:
        await store.close()
