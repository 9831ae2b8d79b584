"""What only the embedded (SQLite) store promises: the file, durability settings, atomicity, errors.

The behaviour both stores share is in ``tests/contract``.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest

from olgraph.errors import StoreError, StoreUnavailable
from olgraph.normalize.mutations import (
    Label,
    Link,
    Merge,
    Prop,
    RelType,
    ReplaceLinks,
    UpsertEdge,
    UpsertNode,
)
from olgraph.store.base import GraphStore
from olgraph.store.embedded.schema import SCHEMA_FILES, schema_sql
from olgraph.store.embedded.store import EmbeddedStore, _map_error
from olgraph.store.listing import ListOrder, NodeFilter, Window

REPO = Path(__file__).resolve().parents[4]


def _dataset(name: str, at: str = "t1") -> UpsertNode:
    return UpsertNode(
        f"dataset:db:{name}",
        Label.DATASET,
        (Prop("namespace", "db"), Prop("name", name), Prop("lastSeenAt", at, Merge.MAX)),
    )


def _job(name: str) -> UpsertNode:
    return UpsertNode(f"job:db:{name}", Label.JOB, (Prop("namespace", "db"), Prop("name", name)))


@pytest.fixture
async def store(tmp_path: Path) -> EmbeddedStore:
    opened = EmbeddedStore(tmp_path / "graph.db")
    await opened.open()
    yield opened  # type: ignore[misc]
    await opened.close()


def test_the_shipped_schema_is_the_one_in_schemas() -> None:
    for name in SCHEMA_FILES:
        assert (REPO / "schemas" / "sqlite" / name).read_text(encoding="utf-8") == schema_sql(name)


def test_embedded_store_implements_the_protocol(tmp_path: Path) -> None:
    assert isinstance(EmbeddedStore(tmp_path / "x.db"), GraphStore)


async def test_file_is_wal_with_full_sync(store: EmbeddedStore) -> None:
    assert store.path.exists()
    journal = await store._call(lambda conn: conn.execute("PRAGMA journal_mode").fetchone()[0])
    sync = await store._call(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0])
    assert (journal, sync) == ("wal", 2)  # 2 = FULL


async def test_graph_survives_reopening_and_schema_is_reapplied(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "graph.db"
    first = EmbeddedStore(path)
    await first.open()
    await first.open()  # idempotent
    await first.apply([_dataset("a"), _job("j"), UpsertEdge(RelType.CONSUMED_BY, "dataset:db:a", "job:db:j")])
    before = await first.dump()
    await first.close()
    await first.close()
    again = EmbeddedStore(path)
    await again.open()
    assert await again.dump() == before
    await again.close()


async def test_calls_before_open_fail_clearly(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "g.db")
    with pytest.raises(StoreError, match="not open"):
        await store.get_node("dataset:db:a")
    with pytest.raises(StoreUnavailable):
        await store.ping()


async def test_ping_answers_when_open(store: EmbeddedStore) -> None:
    await store.ping()


async def test_a_failing_batch_leaves_no_trace(store: EmbeddedStore) -> None:
    await store.apply([_dataset("kept")])
    before = await store.dump()
    unstorable = UpsertEdge(RelType.CONSUMED_BY, "dataset:db:a", "job:db:j", (Prop("x", object()),))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await store.apply([_dataset("a"), _job("j"), unstorable])
    assert await store.dump() == before
    await store.apply([_dataset("a")])  # the store is still usable
    assert "dataset:db:a" in (await store.dump()).nodes


async def test_relationships_to_missing_nodes_are_skipped(store: EmbeddedStore) -> None:
    await store.apply(
        [
            _dataset("a"),
            UpsertEdge(RelType.CONSUMED_BY, "dataset:db:a", "job:db:missing"),
            ReplaceLinks("job:db:missing", RelType.OWNS, (Link("owner:x"),), True, "t", "owners"),
        ]
    )
    graph = await store.dump()
    assert graph.edges == {}
    assert list(graph.nodes) == ["dataset:db:a"]


async def test_concurrent_calls_are_serialized_safely(store: EmbeddedStore) -> None:
    writes = [store.apply([_dataset(f"d{i}", at=f"t{i}")]) for i in range(30)]
    reads = [store.list_datasets("db", 100, 0) for _ in range(10)]
    await asyncio.gather(*writes, *reads)
    page = await store.list_datasets("db", 100, 0)
    assert page.total == 30


async def test_lineage_issues_one_statement_per_hop_not_per_node(store: EmbeddedStore) -> None:
    mutations: list[UpsertNode | UpsertEdge] = [_dataset("src")]
    for i in range(25):
        mutations += [_job(f"j{i}"), _dataset(f"out{i}")]
        mutations += [
            UpsertEdge(RelType.CONSUMED_BY, "dataset:db:src", f"job:db:j{i}"),
            UpsertEdge(RelType.PRODUCES, f"job:db:j{i}", f"dataset:db:out{i}"),
        ]
    await store.apply(mutations)
    statements: list[str] = []
    await store._call(lambda conn: conn.set_trace_callback(statements.append))
    result = await store.lineage("dataset:db:src", "downstream", depth=5, max_nodes=1000)
    await store._call(lambda conn: conn.set_trace_callback(None))
    assert len(result.nodes) == 51
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]  # key sets load in between
    assert len(queries) < 15


def test_busy_and_missing_files_map_to_retriable_errors() -> None:
    busy = _map_error(sqlite3.OperationalError("database is locked"))
    assert isinstance(busy, StoreUnavailable)
    assert busy.retriable
    broken = _map_error(sqlite3.DatabaseError("file is not a database"))
    assert type(broken) is StoreUnavailable  # the file, not the events: nothing to dead-letter
    refused = _map_error(sqlite3.IntegrityError("UNIQUE constraint failed: nodes.key"))
    assert type(refused) is StoreError
    assert not refused.retriable


async def test_opening_an_unusable_path_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    store = EmbeddedStore(tmp_path / "dir.db")
    with pytest.raises(StoreUnavailable):
        await store.open()
    with pytest.raises(StoreUnavailable, match="not open"):
        await store.dump()
    with pytest.raises(StoreUnavailable, match="not open"):  # retriable, as ping says
        await store.apply([_job("j")])


async def test_not_a_database_cannot_be_opened(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    store = EmbeddedStore(path)
    with pytest.raises(StoreUnavailable, match="file is not a database"):
        await store.open()


async def _read_side_calls(store: EmbeddedStore) -> None:
    """Every read-side question once (details, listings, columns, admin reads)."""
    await store.get_job("job:db:j1")
    await store.get_run_detail("0190a1b2-c3d4-7e5f-8a6b-000000000001")
    await store.list_child_runs("0190a1b2-c3d4-7e5f-8a6b-000000000001", 10, 0)
    await store.list_versions("dataset:db:d1", 10, 0)
    await store.get_version("dataset:db:d1", "initial")
    never_seen = (Prop("namespace", "db"), Prop("name", "unseen"))  # sorted after the others
    await store.apply([UpsertNode("dataset:db:unseen", Label.DATASET, never_seen)])
    for flt in (
        NodeFilter("dataset", "db"),
        NodeFilter("dataset"),
        NodeFilter("job", "db", owner="team:x"),
        NodeFilter("dataset", tag=("pii", None)),
        NodeFilter("dataset", "db", models=True, tag=("pii", "true")),
    ):
        await store.list_nodes(flt, Window(10))
        await store.list_nodes(flt, Window(10, 0, ("d1", "dataset:db:d1")))
        for descending in (False, True):
            by_seen = ListOrder("lastSeenAt", descending=descending)
            await store.list_nodes(flt, Window(100, 5, order=by_seen))  # past the ones with a time
            await store.list_nodes(flt, Window(10, 0, ("2024-05-01", "dataset:db:d1"), by_seen))
            await store.list_nodes(flt, Window(10, 0, (None, "dataset:db:d1"), by_seen))
    await store.list_namespaces(10, 0, after=("a", "namespace:a"))
    await store.list_tags(10, 0)
    await store.column_edges(["dataset:db:d1", "dataset:db:d2"])
    await store.external_dependents("db", 10)
    await store.expire_runs("2000-01-01", "", 10, dry_run=True)
    await store.expire_versions("2000-01-01", "", 10, dry_run=True)


_SCANS = re.compile(r"^SCAN (?!f\b|\(subquery)|PRIMARY KEY \(type=\?\)$")


async def test_no_query_scans_a_table(store: EmbeddedStore) -> None:
    """Every statement seeks by key: SQLite's planner is pinned where it would scan (CROSS JOIN)."""
    mutations: list[UpsertNode | UpsertEdge] = []
    for i in range(30):  # enough rows for the planner to care
        mutations += [
            _dataset(f"d{i}"),
            _job(f"j{i}"),
            UpsertEdge(RelType.CONSUMED_BY, f"dataset:db:d{i}", f"job:db:j{i}"),
        ]
        mutations.append(UpsertEdge(RelType.PRODUCES, f"job:db:j{i}", f"dataset:db:d{i + 1}"))
    await store.apply([*mutations, _dataset("d30")])
    statements: list[str] = []
    await store._call(lambda conn: conn.set_trace_callback(statements.append))
    await store.apply([_dataset("d3"), UpsertEdge(RelType.ALIAS_OF, "dataset:db:d3", "dataset:db:d4")])
    owner = UpsertNode("owner:team:a", Label.OWNER, (Prop("name", "team:a"),))
    owns = ReplaceLinks("dataset:db:d3", RelType.OWNS, (Link("owner:team:a"),), True, "t2", "owners")
    await store.apply([owner, owns])  # reads the dataset's OWNS edges: (type, dst) with props
    await store.lineage("dataset:db:d5", "both", 10, 1000)
    await store.impact("dataset:db:d0", 10, 1000)
    await store.get_dataset("dataset:db:d1")
    await store.get_run("0190a1b2-c3d4-7e5f-8a6b-000000000001")
    await store.list_runs("job:db:j1", 10, 0)
    await store.list_datasets("db", 10, 0)
    await _read_side_calls(store)
    await store._call(lambda conn: conn.set_trace_callback(None))
    queries = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "DELETE"))]
    assert len(queries) > 10

    def plans(conn: sqlite3.Connection) -> list[tuple[str, str]]:
        return [(q, row[3]) for q in queries for row in conn.execute("EXPLAIN QUERY PLAN " + q)]

    scans = [(q[:80], detail) for q, detail in await store._call(plans) if _SCANS.search(detail)]
    assert scans == []


async def test_search_uses_its_indexes(store: EmbeddedStore) -> None:
    """Exact and prefix matches seek the term index, substrings the trigram index: no table scan."""
    from olgraph.store.search import SearchQuery  # noqa: PLC0415

    await store.apply(
        [_dataset(f"orders{i}") for i in range(30)] + [_job(f"load_orders{i}") for i in range(30)]
    )
    statements: list[str] = []
    await store._call(lambda conn: conn.set_trace_callback(statements.append))
    for text, namespace in (("orders1", None), ("ord", "db"), ("rders", None), ("or", None)):
        page = await store.search(SearchQuery(text, namespace=namespace, limit=5))
        assert page.hits
    await store._call(lambda conn: conn.set_trace_callback(None))
    queries = [s for s in statements if "search_terms" in s and s.lstrip().upper().startswith("SELECT")]
    assert len(queries) >= 8

    def plans(conn: sqlite3.Connection) -> list[str]:
        return [row[3] for q in queries for row in conn.execute("EXPLAIN QUERY PLAN " + q)]

    details = await store._call(plans)
    assert not [d for d in details if re.match(r"SCAN (s|search_terms|nodes)\b", d)], details
    assert any(re.match(r"SCAN search_fts VIRTUAL TABLE INDEX \d+:M", d) for d in details)  # a MATCH
