"""The Neo4j graph store (5.26 LTS; Community is enough): the production ``GraphStore``.

It answers exactly as the embedded store does (``tests/contract`` checks it): both merge
with :mod:`olgraph.store.merge` and build every answer with :mod:`olgraph.store.common`.
The pieces live in private modules:

* ``write``/``batch``: one write transaction per batch, read-merge-write
  under locks taken in key order (see ``write`` for the round trips);
* ``read``: one statement per question, one per level for traversals;
* ``cypher``: the Cypher text, labels and types only from olgraph's enums;
* ``analyst``: analysts' read-only Cypher behind the guards of ``cypher_guard``;
* ``errors``: driver errors → :class:`~olgraph.errors.StoreError` /
  :class:`~olgraph.errors.StoreUnavailable`, in one place.

Transient errors (deadlocks, a leader switch, a dropped connection) are retried by the
driver for at most ``max_retry_time`` seconds for a write, re-running the whole transaction
function, and ``query_retry_time`` for a read (0 by default: a query during an outage answers
503 within about ``connection_timeout``, rather than waiting for the server to come back);
after that they surface as :class:`~olgraph.errors.StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Concatenate, ParamSpec, TypeVar

import neo4j

from olgraph.errors import SchemaMissing, StoreError, StoreUnavailable
from olgraph.normalize.mutations import Mutation, PropValue
from olgraph.store.base import (
    ColumnEdges,
    ColumnLineageResult,
    Direction,
    GraphDump,
    ImpactResult,
    LineageResult,
    NodeView,
    Page,
    RunView,
)
from olgraph.store.cypher_guard import CypherQuery, CypherResult
from olgraph.store.detail_views import DatasetDetail, JobView, NodeDetails, RunDetail, VersionDetail
from olgraph.store.listing import NodeFilter, Window
from olgraph.store.neo4j import admin, columns, lists, read
from olgraph.store.neo4j import details as detail
from olgraph.store.neo4j import search as search_module
from olgraph.store.neo4j.analyst import run_analyst_query
from olgraph.store.neo4j.batch import Batch
from olgraph.store.neo4j.errors import mapped_errors
from olgraph.store.neo4j.schema import apply_schema
from olgraph.store.neo4j.write import apply_batch
from olgraph.store.search import SearchPage, SearchQuery
from olgraph.store.walk import COLUMN_IMPACT, COLUMN_LINEAGE, CONNECTED, WalkSpec

P = ParamSpec("P")
T = TypeVar("T")

ReadFunction = Callable[Concatenate[neo4j.AsyncManagedTransaction, P], Awaitable[T]]

SCHEMA_MARKER = "dataset_key"
"""The constraint whose presence means a database holds olgraph's schema (schemas/neo4j/)."""


class Neo4jStore:
    """A :class:`~olgraph.store.base.GraphStore` in Neo4j, through the async Bolt driver.

    ``user``/``password``: basic auth, or no auth when ``user`` is None. ``database``: the
    database to use (the server's default when None). ``max_retry_time``/``query_retry_time``:
    seconds the driver keeps retrying a write/read transaction that failed transiently.
    ``connection_timeout``: seconds opening one connection may take. ``create_schema``: create
    olgraph's schema in a database that holds none of it; when false, ``open`` raises
    :class:`~olgraph.errors.SchemaMissing` there instead (the CLI's default, so a wrong URI
    never writes into somebody else's Neo4j). A database that holds it is brought up to date
    either way.

    Example::

        store = Neo4jStore("bolt://127.0.0.1:7687")
        await store.open()
        await store.apply(mutations)
        result = await store.lineage("dataset:db:orders", "downstream", depth=5, max_nodes=1000)
        await store.close()
    """

    def __init__(
        self,
        uri: str,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        *,
        max_retry_time: float = 10.0,
        query_retry_time: float = 0.0,
        connection_timeout: float = 2.0,
        create_schema: bool = True,
    ) -> None:
        self.uri = uri
        self.database = database
        self._auth = (user, password or "") if user is not None else None
        self._max_retry_time = max_retry_time
        self._query_retry_time = query_retry_time
        self._connection_timeout = connection_timeout
        self._create_schema = create_schema
        self._driver: neo4j.AsyncDriver | None = None
        self._write_failure: str | None = None  # the last write's retriable failure, until one succeeds

    # ------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Connect, then create the constraints and indexes that are missing (idempotent).

        Raises :class:`~olgraph.errors.SchemaMissing` when the database holds no olgraph schema
        and ``create_schema`` is false.
        """
        if self._driver is not None:
            return
        driver = self._new_driver()
        try:
            with mapped_errors("connecting"):
                await driver.verify_connectivity()
                if not self._create_schema and not await self._holds_schema(driver):
                    raise SchemaMissing(
                        f"Neo4j at {self.uri} (database {self.database or 'default'}) does not hold "
                        "olgraph's schema: is it the database you meant? If it is, start once with "
                        "--neo4j-create-schema (OLGRAPH_STORE__NEO4J__CREATE_SCHEMA=true) to create it"
                    )
                await self._apply_schema(driver)
        except BaseException:
            await driver.close()
            raise
        self._driver = driver

    def _new_driver(self) -> neo4j.AsyncDriver:
        try:
            with mapped_errors("configuring the driver"):
                return neo4j.AsyncGraphDatabase.driver(
                    self.uri,
                    auth=self._auth,
                    max_transaction_retry_time=self._max_retry_time,
                    connection_timeout=self._connection_timeout,
                    connection_acquisition_timeout=self._connection_timeout + self._max_retry_time,
                    # Unknown labels and properties are normal on a young graph: no notifications.
                    notifications_min_severity=neo4j.NotificationMinimumSeverity.OFF,
                )
        except ValueError as exc:
            raise StoreError(f"invalid Neo4j URI {self.uri!r}: {exc}") from exc

    async def _holds_schema(self, driver: neo4j.AsyncDriver) -> bool:
        """Whether the database has olgraph's uniqueness constraint on ``Dataset.key``."""
        async with driver.session(database=self.database) as session:
            result = await session.run(
                "SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties "
                "WHERE name = $name AND labelsOrTypes = ['Dataset'] AND properties = ['key'] "
                "RETURN count(*) AS found",
                name=SCHEMA_MARKER,
            )
            record = await result.single()
        return bool(record and record["found"])

    async def _apply_schema(self, driver: neo4j.AsyncDriver) -> None:
        await apply_schema(driver, self.database)

    async def close(self) -> None:
        """Close the driver and its connections."""
        driver, self._driver = self._driver, None
        if driver is not None:
            await driver.close()

    async def ping(self) -> None:
        """One round trip to the server; :class:`StoreUnavailable` when it does not answer, or
        when the last write failed for a reason of the server's (a full disk, a read-only
        database) and none has succeeded since: a server that answers reads may refuse writes."""
        if self._driver is None:
            raise StoreUnavailable("Neo4j store is not open")
        with mapped_errors("ping"):
            async with self._driver.session(
                database=self.database, connection_acquisition_timeout=self._connection_timeout
            ) as session:
                await (await session.run("RETURN 1")).consume()
        if self._write_failure is not None:
            raise StoreUnavailable(f"the last write failed: {self._write_failure}")

    def _require(self) -> neo4j.AsyncDriver:
        if self._driver is None:  # not yet, or no longer: retrying later can succeed, as for ping
            raise StoreUnavailable("Neo4j store is not open")
        return self._driver

    # ------------------------------------------------------------ writes

    async def apply(self, mutations: Sequence[Mutation]) -> None:
        """Apply one batch in one write transaction (see ``olgraph.store.neo4j.write``)."""
        if not mutations:
            return
        try:
            batch = Batch.of(mutations)
        except ValueError as exc:
            raise StoreError(f"cannot store batch: {exc}") from exc
        driver = self._require()
        try:
            with mapped_errors("applying a batch"):
                async with driver.session(database=self.database) as session:
                    await session.execute_write(apply_batch, batch)
        except StoreUnavailable as exc:
            self._write_failure = str(exc)
            raise
        self._write_failure = None

    # ------------------------------------------------------------ reads

    async def _read(self, action: str, fn: ReadFunction[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        driver = self._require()
        with mapped_errors(action):
            async with driver.session(
                database=self.database,
                max_transaction_retry_time=self._query_retry_time,
                connection_acquisition_timeout=self._connection_timeout + self._query_retry_time,
            ) as session:
                return await session.execute_read(fn, *args, **kwargs)

    async def _write(self, action: str, fn: ReadFunction[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        driver = self._require()
        with mapped_errors(action):
            async with driver.session(database=self.database) as session:
                return await session.execute_write(fn, *args, **kwargs)

    async def get_node(self, key: str) -> NodeView | None:
        """The job, dataset or run with this key, deleted or not."""
        return await self._read("get_node", read.get_node, key)

    async def lineage(
        self,
        key: str,
        direction: Direction,
        depth: int,
        max_nodes: int,
        include_deleted: bool = False,
        *,
        as_of: str | None = None,
    ) -> LineageResult:
        """The lineage subgraph around ``key``; raises ``NotFound`` when it does not exist."""
        spec = WalkSpec(direction, depth, max_nodes, include_deleted, as_of)
        return await self._read("lineage", read.lineage, key, spec)

    async def impact(self, key: str, depth: int, max_nodes: int, *, as_of: str | None = None) -> ImpactResult:
        """Every live dataset, model and job downstream of ``key``."""
        return await self._read(
            "impact", read.impact, key, WalkSpec("downstream", depth, max_nodes, as_of=as_of)
        )

    async def connected(self, key: str, depth: int, max_nodes: int) -> LineageResult:
        """Jobs and datasets linked to ``key`` through jobs' inputs and outputs, either way."""
        spec = WalkSpec("downstream", depth, max_nodes, traversal=CONNECTED)
        return await self._read("connected", read.lineage, key, spec)

    async def column_lineage(
        self,
        key: str,
        direction: Direction,
        depth: int,
        max_nodes: int,
        include_deleted: bool = False,
        *,
        as_of: str | None = None,
    ) -> ColumnLineageResult:
        """Column lineage around a column or all columns of a dataset; ``NotFound`` when unknown."""
        spec = WalkSpec(direction, depth, max_nodes, include_deleted, as_of, COLUMN_LINEAGE)
        return await self._read("column_lineage", columns.column_lineage, key, spec)

    async def column_impact(
        self, key: str, depth: int, max_nodes: int, *, as_of: str | None = None
    ) -> ImpactResult:
        """Every live column, dataset and job downstream of a column."""
        spec = WalkSpec("downstream", depth, max_nodes, as_of=as_of, traversal=COLUMN_IMPACT)
        return await self._read("column_impact", columns.column_impact, key, spec)

    async def column_edges(self, datasets: Sequence[str]) -> ColumnEdges:
        """Column edges between the columns of ``datasets``."""
        return await self._read("column_edges", columns.column_edges, list(datasets))

    async def search(self, query: SearchQuery) -> SearchPage:
        """Nodes whose name contains the query's text, ranked exact, prefix, substring."""
        return await self._read("search", search_module.search, query)

    async def list_namespaces(
        self, limit: int, offset: int, *, include_deleted: bool = False, after: tuple[str, str] | None = None
    ) -> Page:
        """Namespace names, sorted."""
        return await self._read(
            "list_namespaces", lists.list_namespaces, Window(limit, offset, after), include_deleted
        )

    async def get_namespaces(self, names: Sequence[str]) -> dict[str, dict[str, PropValue]]:
        """The namespaces among ``names`` that exist: name → properties."""
        return await self._read("get_namespaces", lists.get_namespaces, list(names))

    async def list_datasets(self, namespace: str, limit: int, offset: int) -> Page:
        """Live datasets and models of ``namespace``, by name."""
        return await self.list_nodes(NodeFilter("dataset", namespace), Window(limit, offset))

    async def list_jobs(self, namespace: str, limit: int, offset: int) -> Page:
        """Live jobs of ``namespace``, by name."""
        return await self.list_nodes(NodeFilter("job", namespace), Window(limit, offset))

    async def list_nodes(self, flt: NodeFilter, window: Window) -> Page:
        """Datasets, models or jobs matching ``flt``, by (name, key)."""
        return await self._read("list_nodes", lists.list_nodes, flt, window)

    async def list_tags(self, limit: int, offset: int) -> Page:
        """Tags with their counts, by key."""
        return await self._read("list_tags", lists.list_tags, limit, offset)

    async def list_runs(self, job_key: str, limit: int, offset: int, state: str | None = None) -> Page:
        """Runs of a job, newest first."""
        return await self._read("list_runs", read.list_runs, job_key, limit, offset, state)

    async def get_run(self, run_id: str) -> RunView | None:
        """One run by runId."""
        return await self._read("get_run", read.get_run, run_id)

    async def get_run_detail(self, run_id: str) -> RunDetail | None:
        """One run in full."""
        return await self._read("get_run_detail", detail.get_run_detail, run_id)

    async def list_child_runs(self, run_id: str, limit: int, offset: int) -> Page:
        """Child runs of a run, newest first."""
        return await self._read("list_child_runs", detail.list_child_runs, run_id, limit, offset)

    async def get_job(self, key: str) -> JobView | None:
        """One job in full."""
        return await self._read("get_job", detail.get_job, key)

    async def get_dataset(self, key: str) -> DatasetDetail | None:
        """One dataset or model in full."""
        return await self._read("get_dataset", detail.get_dataset, key)

    async def get_details(self, jobs: Sequence[str], datasets: Sequence[str], runs: int) -> NodeDetails:
        """Many jobs and datasets in full, with their latest runs, in one read."""
        return await self._read("get_details", detail.get_details, list(jobs), list(datasets), runs)

    async def list_versions(self, key: str, limit: int, offset: int) -> Page:
        """Versions of a dataset, newest first."""
        return await self._read("list_versions", detail.list_versions, key, limit, offset)

    async def get_version(self, dataset: str, version: str) -> VersionDetail | None:
        """One version of a dataset with its provenance."""
        return await self._read("get_version", detail.get_version, dataset, version)

    async def external_dependents(self, namespace: str, limit: int) -> list[NodeView]:
        """Live nodes outside ``namespace`` fed directly by it."""
        return await self._read("external_dependents", admin.external_dependents, namespace, limit)

    async def purge(self, keys: Sequence[str]) -> int:
        """Remove nodes for good (one transaction)."""
        return await self._write("purge", admin.purge, list(keys))

    async def expire_runs(
        self, cutoff: str, after: str, limit: int, dry_run: bool = False
    ) -> tuple[int, str | None]:
        """One retention batch of runs (one transaction)."""
        return await self._write("expire_runs", admin.expire_runs, cutoff, after, limit, dry_run)

    async def expire_versions(
        self, cutoff: str, after: str, limit: int, dry_run: bool = False
    ) -> tuple[int, str | None]:
        """One retention batch of dataset versions (one transaction)."""
        return await self._write("expire_versions", admin.expire_versions, cutoff, after, limit, dry_run)

    async def run_cypher(self, query: CypherQuery) -> CypherResult:
        """An analyst's read-only query, behind every guard (:mod:`olgraph.store.cypher_guard`)."""
        return await run_analyst_query(self._require(), self.database, query)

    async def dump(self) -> GraphDump:
        """The whole graph, canonical (tests only)."""
        return await self._read("dump", read.dump)
