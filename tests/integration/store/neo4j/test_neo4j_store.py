"""Neo4j-specific behaviour of the Neo4j store, against the real server (``tests/contract`` covers answers).

Schema applied idempotently, concurrent writers of overlapping batches, transient errors
retried by the driver, and driver errors mapped to olgraph's when the server is
unreachable, goes away, or rejects a write.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import neo4j
import pytest
from neo4j import Driver
from neo4j.exceptions import Neo4jError

from olgraph.errors import StoreError, StoreUnavailable
from olgraph.normalize.mutations import (
    Label,
    Link,
    Merge,
    Mutation,
    Prop,
    ReadVersion,
    RelType,
    ReplaceLinks,
    UpsertEdge,
    UpsertNode,
)
from olgraph.store import details, walk
from olgraph.store.embedded import EmbeddedStore
from olgraph.store.neo4j import Neo4jStore, read, search
from olgraph.store.neo4j import admin as neo4j_admin
from olgraph.store.neo4j import columns as neo4j_columns
from olgraph.store.neo4j import cypher as cy
from olgraph.store.neo4j import details as neo4j_details
from olgraph.store.neo4j import lists as neo4j_lists
from olgraph.store.neo4j.cypher import schema_statements
from olgraph.store.search import PREFIX_END, SEARCH_TYPES, SearchQuery

pytestmark = pytest.mark.neo4j


@pytest.fixture
async def store(neo4j_uri: str, clean_neo4j: None) -> AsyncIterator[Neo4jStore]:
    """An opened store on an emptied database."""
    opened = _store(neo4j_uri)
    await opened.open()
    yield opened
    await opened.close()


def _schema(driver: Driver) -> tuple[set[str], set[str]]:
    constraints = {r["name"] for r in driver.execute_query("SHOW CONSTRAINTS YIELD name").records}
    indexes = {r["name"] for r in driver.execute_query("SHOW INDEXES YIELD name").records}
    return constraints, indexes


def _auth() -> tuple[str, str] | None:
    """The session Neo4j's credentials (tests/conftest.py puts them in the environment)."""
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    return (user, password) if user and password else None


def _store(uri: str, **options: Any) -> Neo4jStore:
    user, password = _auth() or (None, None)
    return Neo4jStore(uri, user=user, password=password, **options)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dataset(key: str, *props: Prop) -> UpsertNode:
    return UpsertNode(key, Label.DATASET, props)


# ---------------------------------------------------------------- schema


async def test_open_twice_applies_the_schema_once(neo4j_uri: str, neo4j_driver: Driver) -> None:
    first = _store(neo4j_uri)
    await first.open()
    before = _schema(neo4j_driver)
    second = _store(neo4j_uri)
    await second.open()
    racing = [_store(neo4j_uri) for _ in range(3)]
    await asyncio.gather(*(s.open() for s in racing))
    for opened in (first, second, *racing):
        await opened.close()

    assert _schema(neo4j_driver) == before
    constraints, indexes = before
    assert {f"{label.name.lower()}_key" for label in Label} <= constraints
    assert {"dataset_namespace_name", "run_state", "run_updated_at", "run_job", "model_key"} <= indexes
    assert all(
        ("IF NOT EXISTS" in s) or ("DROP INDEX" in s and "IF EXISTS" in s) for s in schema_statements()
    )


async def test_the_key_constraint_rejects_a_duplicate(store: Neo4jStore, neo4j_driver: Driver) -> None:
    await store.apply([_dataset("dataset:ns:t")])

    with pytest.raises(Neo4jError, match="already exists"):
        neo4j_driver.execute_query("CREATE (:Dataset {key: 'dataset:ns:t'})")


# ---------------------------------------------------------------- query plans


def _every_statement() -> dict[str, str]:
    labels, types = [label.value for label in Label], [t.value for t in RelType]
    # (the listing statements moved out of _neo4j_read with the read side's listings)
    statements = {name: getattr(read, name) for name in ("GET_NODE", "IMPACT_DETAILS")}
    for traversal_name in ("DATASET_LINEAGE", "COLUMN_LINEAGE", "COLUMN_IMPACT"):
        traversal = getattr(walk, traversal_name)
        statements[f"start {traversal_name}"] = read.start_query(traversal)
        statements[f"reach {traversal_name}"] = read.reach_query(traversal)
        statements[f"reach one level {traversal_name}"] = read.reach_query(traversal, 0)
        statements[f"probe {traversal_name}"] = read.probe_query(traversal)
        statements[f"aliases {traversal_name}"] = read.aliases_query(traversal)
    tiers = (("exact", False), ("prefix", False), ("substring", False))
    for namespace, dense in itertools.product((False, True), repeat=2):
        kinds = SEARCH_TYPES if dense else ()
        statements[f"search page ns={namespace} dense={dense}"] = search.page_query(
            SEARCH_TYPES, tiers, kinds, namespace, False
        )
        statements[f"search next page ns={namespace} dense={dense}"] = search.page_query(
            SEARCH_TYPES, (("prefix", True), ("substring", False)), kinds, namespace, True
        )
    statements["search count"] = search.count_query(SEARCH_TYPES, True, True, False)
    statements["search count prefix"] = search.count_query(SEARCH_TYPES, False, False, True)
    statements |= {name: getattr(read, name) for name in ("LIST_RUNS", "GET_RUN")}
    statements |= _read_side_statements()
    return statements | {
        "find nodes": cy.find_nodes_query(labels),
        "lock nodes": cy.lock_nodes_query(labels),
        "lock edges": cy.lock_edges_query(types),
        "flush": cy.flush_query(types),
        "links": cy.links_query([(t, incoming) for t in types for incoming in (True, False)]),
        "reads state": cy.READS_STATE,
        "relink reads": cy.RELINK_READS,
    }


def _read_side_statements() -> dict[str, str]:
    """Details, listings, columns and admin statements (every variant a request can make)."""
    out: dict[str, str] = {}
    for label, specs in (
        (Label.JOB, details.JOB_SPECS),
        (Label.DATASET, details.DATASET_SPECS),
        (Label.RUN, details.RUN_SPECS),
        (Label.DATASET_VERSION, details.VERSION_SPECS),
    ):
        out[f"neighbourhood {label.value}"] = neo4j_details.neighbourhood_query(label, tuple(specs))
    out["versions page"] = neo4j_details.page_query(Label.DATASET, neo4j_details._VERSIONS)
    out["children page"] = neo4j_details.page_query(Label.RUN, neo4j_details._CHILDREN)
    out |= {"run stats": neo4j_details.RUN_STATS, "root runs": neo4j_details.ROOT_RUNS}
    out["nodes of details"] = neo4j_details.GET_NODES
    for namespace, owner, tag in itertools.product((True, False), repeat=3):
        if not (namespace or owner or tag):
            continue  # every dataset of every namespace: reads the name index (see below)
        for keyset in (False, True):
            name = f"list ns={namespace} owner={owner} tag={tag} keyset={keyset}"
            out[name] = neo4j_lists._statement(
                "Dataset",
                namespace=namespace,
                models=None,
                owner=owner,
                tag=tag,
                deleted=False,
                keyset=keyset,
            )
    out["list tags"] = neo4j_lists.LIST_TAGS
    out |= {"nodes by key": neo4j_columns.NODES_BY_KEY, "fields of": neo4j_columns.FIELDS_OF}
    out["column edges"] = neo4j_columns.COLUMN_EDGES
    out |= {"external dependents": neo4j_admin.EXTERNAL_DEPENDENTS, "purge": neo4j_admin.PURGE}
    out |= {"runs page": neo4j_admin.RUNS_PAGE, "versions page (retention)": neo4j_admin.VERSIONS_PAGE}
    return out


def test_listing_every_namespace_reads_only_the_name_index(store: Neo4jStore, neo4j_driver: Driver) -> None:
    """Datasets or jobs of every namespace, by name: the name index, in order, not the label."""
    statement = neo4j_lists._statement(
        "Dataset", namespace=False, models=None, owner=False, tag=False, deleted=False, keyset=True
    )
    with neo4j_driver.session() as session:
        plan = session.run(f"EXPLAIN {statement}").consume().plan
    assert plan is not None
    operators = _operators(plan)
    assert "NodeByLabelScan" not in operators
    assert "AllNodesScan" not in operators


def _operators(plan: dict[str, Any]) -> list[str]:
    ops = [str(plan["operatorType"]).split("@")[0]]
    for child in plan.get("children", []):
        ops += _operators(child)
    return ops


@pytest.mark.parametrize(("name", "statement"), sorted(_every_statement().items()))
def test_no_statement_scans_a_label_or_the_whole_graph(
    name: str, statement: str, store: Neo4jStore, neo4j_driver: Driver
) -> None:
    with neo4j_driver.session() as session:
        plan = session.run(f"EXPLAIN {statement}").consume().plan

    assert plan is not None
    # A CONTAINS scan of a TEXT index reads only the matches (its trigrams), not a label.
    scans = [op for op in _operators(plan) if "Scan" in op and op != "NodeIndexContainsScan"]
    assert scans == [], f"{name} scans: {scans}"


def _db_hits(profile: dict[str, Any]) -> int:
    return int(profile.get("dbHits", 0)) + sum(_db_hits(child) for child in profile.get("children", []))


@pytest.mark.parametrize(
    ("text", "after"),
    [("id", None), ("id", ("id", "field:ns:t01500#id")), ("order", None), ("der", None)],
)
async def test_a_page_of_columns_reads_about_a_page(
    text: str, after: tuple[str, str] | None, store: Neo4jStore, neo4j_driver: Driver
) -> None:
    """Two thousand tables share the column names ``id`` and ``order_id``: a page of them reads
    the composite index in rank order (and, for a substring, the few distinct names), so it
    touches about as many entries as it returns, wherever it starts, never every column."""
    tables = [f"t{i:05d}" for i in range(2000)]
    await store.apply(
        [
            UpsertNode(f"field:ns:{t}#{name}", Label.FIELD, (Prop("name", name), Prop("namespace", "ns")))
            for t in tables
            for name in ("id", "order_id")
        ]
    )
    query = SearchQuery(text, types=("column",), limit=20)
    tiers = tuple((tier, after is not None and tier == "exact") for tier in query.tiers())
    statement = search.page_query(("column",), tiers, (), False, False)
    params = {
        "q": text,
        "qEnd": text + PREFIX_END,
        "namespace": None,
        "afterTerm": None if after is None else after[0],
        "afterTie": None if after is None else after[1][: search.TIE_CHARS],
        "afterKey": None if after is None else after[1],
        "limit": 21,
    }
    with neo4j_driver.session() as session:
        result = session.run(f"PROFILE {statement}", params)
        hits = [record["hit"]["key"] for record in result]
        profile = result.consume().profile
    assert profile is not None
    assert len(hits) == 21
    plan = profile["args"]["string-representation"]
    assert _db_hits(profile) < 400, plan  # a plan reading every column of a name passes 2,000


# ---------------------------------------------------------------- concurrency


def _writer_batch(writer: int, keys: list[str]) -> list[Mutation]:
    """Nodes and a chain of edges over ``keys``, each tagged with the writer, shuffled."""
    mark = (Prop("writers", [f"w{writer:03d}"], Merge.UNION),)
    mutations: list[Mutation] = [_dataset(k, *mark, Prop("highest", writer, Merge.MAX)) for k in keys]
    chain = sorted(keys)
    mutations += [UpsertEdge(RelType.ALIAS_OF, a, b, mark) for a, b in itertools.pairwise(chain)]
    random.Random(writer).shuffle(mutations)
    return mutations


async def test_concurrent_overlapping_batches_lose_no_update(store: Neo4jStore) -> None:
    keys = [f"dataset:ns:t{i:02d}" for i in range(30)]
    rnd = random.Random(7)
    picks = {writer: rnd.sample(keys, 15) for writer in range(60)}

    await asyncio.gather(*(store.apply(_writer_batch(w, ks)) for w, ks in picks.items()))

    dump = await store.dump()
    for key in keys:
        writers = [w for w, ks in picks.items() if key in ks]
        assert dump.nodes[key][1]["writers"] == [f"w{w:03d}" for w in writers], key
        assert dump.nodes[key][1]["highest"] == max(writers)
    expected: dict[tuple[str, str], list[str]] = {}
    for writer, ks in picks.items():
        chain = sorted(ks)
        for pair in itertools.pairwise(chain):
            expected.setdefault(pair, []).append(f"w{writer:03d}")
    assert {(s, t): props["writers"] for (_, s, t), props in dump.edges.items()} == expected


def _pipeline_batch(writer: int) -> list[Mutation]:
    """A run of a job reading ``shared`` (implicit read) and, for some writers, writing a version of it.

    Every batch touches the same dataset, its versions and its owners: re-linking implicit
    reads and replacing owners must come out as if the batches had been applied one by one.
    """
    rnd = random.Random(writer)
    shared, run = "dataset:ns:shared", f"run:{writer:04d}"
    at = f"2024-01-01T00:{rnd.randrange(60):02d}:00.000000000Z"
    batch: list[Mutation] = [
        _dataset(shared, Prop("lastSeenAt", at, Merge.MAX)),
        UpsertNode(run, Label.RUN, (Prop("runId", run[4:]), Prop("updatedAt", at, Merge.MAX))),
        ReadVersion(run, shared, at),
    ]
    if writer % 3 == 0:
        version = f"datasetVersion:ns:shared@run:{writer:04d}"
        written = (
            Prop("dataset", shared),
            Prop("version", f"run:{writer:04d}"),
            Prop("createdAt", at, Merge.MIN),
        )
        batch += [
            UpsertNode(version, Label.DATASET_VERSION, written),
            UpsertEdge(RelType.VERSION_OF, version, shared),
            UpsertEdge(RelType.WROTE, run, version, (Prop("at", at, Merge.MIN),)),
        ]
    if writer % 4 == 0:
        owner = f"owner:team{writer % 3}"
        batch += [
            UpsertNode(owner, Label.OWNER, (Prop("name", owner[6:]),)),
            ReplaceLinks(shared, RelType.OWNS, (Link(owner),), incoming=True, version=at, slot="ownership"),
        ]
    rnd.shuffle(batch)
    return batch


async def test_concurrent_batches_give_the_graph_of_sequential_ones(
    store: Neo4jStore, tmp_path: Path
) -> None:
    batches = [_pipeline_batch(writer) for writer in range(48)]

    await asyncio.gather(*(store.apply(batch) for batch in batches))

    sequential = EmbeddedStore(tmp_path / "sequential.db")
    await sequential.open()
    try:
        for batch in batches:
            await sequential.apply(batch)
        assert await store.dump() == await sequential.dump()
    finally:
        await sequential.close()


# ---------------------------------------------------------------- transient errors


class _Proxy:
    """A TCP relay to Neo4j that the test can cut and restore (the server itself is shared)."""

    def __init__(self, neo4j_uri: str) -> None:
        target = urlsplit(neo4j_uri)
        self.target = (target.hostname or "127.0.0.1", target.port or 7687)
        self.port = _free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Stop listening and drop every open connection, both ways."""
        if self._server is None:
            return
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self.target)
        self._writers |= {client_w, server_w}
        await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()


@pytest.fixture
async def proxy(neo4j_uri: str) -> AsyncIterator[_Proxy]:
    relay = _Proxy(neo4j_uri)
    await relay.start()
    yield relay
    await relay.cut()


@contextlib.asynccontextmanager
async def _lock_holder(uri: str, key: str) -> AsyncIterator[neo4j.AsyncTransaction]:
    """Another client's open transaction holding the write lock on node ``key``; rolled back at exit."""
    async with neo4j.AsyncGraphDatabase.driver(uri, auth=_auth()) as driver, driver.session() as session:
        tx = await session.begin_transaction()
        try:
            await (await tx.run("MATCH (n:Dataset {key: $k}) SET n.other = true", k=key)).consume()
            yield tx
        finally:
            await tx.close()


async def _until_blocked_on_a_lock(uri: str, timeout: float = 30.0) -> None:
    """Wait until some transaction is blocked by another's lock (``SHOW TRANSACTIONS``), bounded."""
    deadline = time.monotonic() + timeout
    async with neo4j.AsyncGraphDatabase.driver(uri, auth=_auth()) as driver:
        while True:
            records, _, _ = await driver.execute_query("SHOW TRANSACTIONS YIELD status RETURN status")
            if any(str(record["status"]).startswith("Blocked") for record in records):
                return
            assert time.monotonic() < deadline, f"no transaction waited for a lock within {timeout}s"
            await asyncio.sleep(0.05)


async def _drop_connection_mid_transaction(neo4j_uri: str, proxy: _Proxy, store: Neo4jStore) -> None:
    """Apply a batch through ``proxy`` and cut the connection while the transaction is open.

    The transaction waits for a lock another client holds; the cut aborts it on the server,
    then the other client lets go of the lock.
    """
    batch: list[Mutation] = [_dataset(k, Prop("n", 1, Merge.MAX)) for k in ("dataset:ns:a", "dataset:ns:b")]
    async with _lock_holder(neo4j_uri, "dataset:ns:b"):
        applying = asyncio.create_task(store.apply(batch))
        await _until_blocked_on_a_lock(neo4j_uri)  # the store's transaction holds a and waits for b
        assert not applying.done()
        await proxy.cut()
        await proxy.start()
    await applying


async def test_a_transaction_cut_off_midway_is_retried(
    neo4j_uri: str, clean_neo4j: None, proxy: _Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    store = _store(proxy.uri, max_retry_time=15)
    await store.open()
    try:
        await store.apply([_dataset("dataset:ns:a"), _dataset("dataset:ns:b")])
        caplog.set_level(logging.WARNING, logger="neo4j")

        await _drop_connection_mid_transaction(neo4j_uri, proxy, store)

        assert any("will be retried" in r.getMessage() for r in caplog.records)
        nodes = (await store.dump()).nodes
        assert [nodes[k][1] for k in ("dataset:ns:a", "dataset:ns:b")] == [{"n": 1, "deleted": False}] * 2
    finally:
        await store.close()


async def test_a_failure_outliving_the_retries_is_store_unavailable(
    neo4j_uri: str, clean_neo4j: None, proxy: _Proxy
) -> None:
    store = _store(proxy.uri, max_retry_time=0)
    await store.open()
    try:
        await store.apply([_dataset("dataset:ns:a"), _dataset("dataset:ns:b")])

        with pytest.raises(StoreUnavailable) as caught:
            await _drop_connection_mid_transaction(neo4j_uri, proxy, store)

        assert caught.value.retriable
        assert caught.value.__cause__ is not None
        assert "n" not in (await store.dump()).nodes["dataset:ns:a"][1]  # the batch left nothing behind
        # The server answers again, but /readyz must not say ready before a write went through.
        with pytest.raises(StoreUnavailable, match="the last write failed: Neo4j"):
            await store.ping()
        await store.apply([_dataset("dataset:ns:a", Prop("n", 2, Merge.MAX))])
        await store.ping()
    finally:
        await store.close()


async def test_a_deadlock_with_another_writer_does_not_fail_the_batch(
    store: Neo4jStore, neo4j_uri: str
) -> None:
    """The store locks a then b, another client b then a: Neo4j aborts one of the two.

    Whichever it picks, the batch lands: either the other client fails, or the store's
    transaction is retried once the other one committed.
    """
    await store.apply([_dataset("dataset:ns:a"), _dataset("dataset:ns:b")])
    batch: list[Mutation] = [_dataset(k, Prop("n", 1, Merge.MAX)) for k in ("dataset:ns:b", "dataset:ns:a")]
    other_committed = False
    async with _lock_holder(neo4j_uri, "dataset:ns:b") as other:
        applying = asyncio.create_task(store.apply(batch))
        await _until_blocked_on_a_lock(neo4j_uri)  # the store holds a and waits for b
        with contextlib.suppress(neo4j.exceptions.TransientError):
            await (await other.run("MATCH (n:Dataset {key: 'dataset:ns:a'}) SET n.other = true")).consume()
            await other.commit()
            other_committed = True
    await applying

    nodes = (await store.dump()).nodes
    for key in ("dataset:ns:a", "dataset:ns:b"):
        assert nodes[key][1]["n"] == 1
        assert nodes[key][1].get("other", False) is other_committed


# ---------------------------------------------------------------- unreachable server


async def test_an_unreachable_server_is_store_unavailable() -> None:
    store = Neo4jStore(f"bolt://127.0.0.1:{_free_port()}", connection_timeout=2)

    with pytest.raises(StoreUnavailable, match="unreachable") as caught:
        await store.open()
    assert caught.value.retriable
    with pytest.raises(StoreUnavailable):
        await store.ping()


async def test_losing_the_server_is_store_unavailable_and_recoverable(
    clean_neo4j: None, proxy: _Proxy
) -> None:
    store = _store(proxy.uri, max_retry_time=1, connection_timeout=2)
    await store.open()
    try:
        await store.apply([_dataset("dataset:ns:before")])
        await proxy.cut()

        with pytest.raises(StoreUnavailable):
            await store.apply([_dataset("dataset:ns:during")])
        with pytest.raises(StoreUnavailable):
            await store.get_node("dataset:ns:before")
        with pytest.raises(StoreUnavailable):
            await store.ping()

        await proxy.start()
        await store.apply([_dataset("dataset:ns:after")])
        assert set((await store.dump()).nodes) == {"dataset:ns:before", "dataset:ns:after"}
    finally:
        await store.close()


# ---------------------------------------------------------------- rejected writes


async def test_a_key_too_large_to_index_is_a_store_error_and_nothing_is_written(store: Neo4jStore) -> None:
    batch: list[Mutation] = [_dataset("dataset:ns:fine"), _dataset("dataset:ns:" + "x" * 40_000)]

    with pytest.raises(StoreError, match="too large") as caught:
        await store.apply(batch)

    assert not isinstance(caught.value, StoreUnavailable)
    assert isinstance(caught.value.__cause__, Neo4jError)
    assert (await store.dump()).nodes == {}


async def test_labels_outside_the_allow_list_are_refused(store: Neo4jStore) -> None:
    injected = UpsertNode("dataset:ns:t", Label.DATASET, extra_labels=frozenset({"Model:Admin"}))

    with pytest.raises(StoreError, match="unsupported extra labels"):
        await store.apply([injected])

    assert (await store.dump()).nodes == {}


async def test_property_names_are_never_interpolated(store: Neo4jStore) -> None:
    odd = "facet.x`}) DETACH DELETE n //"
    await store.apply(
        [_dataset("dataset:ns:t", Prop(odd, '{"a": 1}', version="1"), Prop("facet.schema", "{}"))]
    )

    props = (await store.dump()).nodes["dataset:ns:t"][1]
    assert props[odd] == '{"a": 1}'
    assert props["facet.schema"] == "{}"
