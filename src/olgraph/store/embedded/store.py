"""The embedded graph store: the whole graph in one SQLite file (the zero-setup default).

One connection, used only from one dedicated worker thread, so every call is serialized
and safe to make concurrently from asyncio code. Writes run in one ``BEGIN IMMEDIATE``
transaction per batch; reads run in one read transaction each (a consistent snapshot).
The file is in WAL mode with ``synchronous=FULL``: a batch that ``apply`` returned from is
durable, which is what lets the consumer commit its offsets afterwards.

A write that fails because of the disk or the machine (full, read-only, an I/O error, out of
memory, a lock held too long) raises :class:`~olgraph.errors.StoreUnavailable`: nothing is wrong
with the batch, so the consumer keeps it and retries. Until a write succeeds again, :meth:`ping`
reports that failure, so ``/readyz`` says the store cannot take writes.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from olgraph.errors import OlgraphError, StoreError, StoreUnavailable
from olgraph.filesystem import prepare_directory, sqlite_error_is_environmental, write_problem
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
from olgraph.store.detail_views import DatasetDetail, JobView, NodeDetails, RunDetail, VersionDetail
from olgraph.store.embedded import admin, columns, lists
from olgraph.store.embedded import details as detail
from olgraph.store.embedded import query as q
from olgraph.store.embedded import search as search_module
from olgraph.store.embedded.apply import apply_batch
from olgraph.store.embedded.schema import connect
from olgraph.store.listing import NodeFilter, Window
from olgraph.store.search import SearchPage, SearchQuery
from olgraph.store.walk import COLUMN_IMPACT, COLUMN_LINEAGE, CONNECTED, WalkSpec

T = TypeVar("T")

DEFAULT_MIN_FREE_BYTES = 1024 * 1024
"""Free space below which :meth:`EmbeddedStore.ping` reports that the store cannot take writes."""


def _map_error(exc: sqlite3.Error) -> StoreError:
    """Translate an sqlite3 error into ours: the disk, memory and locks are retriable, the rest not."""
    if sqlite_error_is_environmental(exc):
        return StoreUnavailable(f"embedded store cannot write now: {exc}")
    return StoreError(f"embedded store failed: {exc}")


class EmbeddedStore:
    """A :class:`~olgraph.store.base.GraphStore` in one SQLite file.

    Example::

        store = EmbeddedStore(Path("olgraph.db"))
        await store.open()
        await store.apply(mutations)
        page = await store.list_datasets("warehouse", limit=50, offset=0)
        await store.close()
    """

    def __init__(self, path: Path, *, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES) -> None:
        self.path = Path(path)
        self.min_free_bytes = min_free_bytes
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._write_failure: str | None = None  # the last write's retriable failure, until one succeeds

    # ------------------------------------------------------------ plumbing

    async def _call(self, fn: Callable[..., T], *args: object, write: bool = False) -> T:
        """Run ``fn(conn, *args)`` on the worker thread; reads inside one read transaction."""
        if self._executor is None:
            raise StoreUnavailable("embedded store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(self._run, fn, args, write))

    def _run(self, fn: Callable[..., T], args: tuple[object, ...], write: bool) -> T:
        conn = self._conn
        if conn is None:
            raise StoreUnavailable("embedded store is not open")
        try:
            if write:
                return fn(conn, *args)  # the function manages its own transaction
            conn.execute("BEGIN")
            try:
                return fn(conn, *args)
            finally:
                if conn.in_transaction:  # SQLite may have ended it after an I/O error
                    conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _map_error(exc) from exc
        except MemoryError as exc:
            raise StoreUnavailable("embedded store: out of memory") from exc

    def _connect(self) -> None:
        problem = prepare_directory(self.path.parent) or write_problem(self.path, min_free_bytes=0)
        if problem is not None:
            raise StoreUnavailable(f"cannot use the embedded store {self.path}: {problem}")
        try:
            self._conn = connect(self.path)
        except sqlite3.Error as exc:
            raise _map_error(exc) from exc
        except OSError as exc:  # creating the directory
            raise StoreUnavailable(f"cannot create the embedded store {self.path}: {exc}") from exc

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Create or open the file and apply the schema idempotently."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="olgraph-sqlite")
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._connect)
        except OlgraphError:
            self._executor.shutdown(wait=True)
            self._executor = None
            raise

    async def close(self) -> None:
        """Close the connection and stop the worker thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        await asyncio.get_running_loop().run_in_executor(executor, self._disconnect)
        executor.shutdown(wait=True)

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` when the file cannot be read, or cannot be written now.

        "Cannot be written" is the last write's failure until a write succeeds again, a
        read-only filesystem or file, or less than ``min_free_bytes`` free beside the file.
        """
        if self._executor is None:
            raise StoreUnavailable("embedded store is not open")
        await self._call(lambda conn: conn.execute("SELECT count(*) FROM sqlite_master").fetchone())
        if self._write_failure is not None:
            raise StoreUnavailable(f"the last write failed: {self._write_failure}")
        problem = await asyncio.to_thread(write_problem, self.path, self.min_free_bytes, probe=True)
        if problem is not None:
            raise StoreUnavailable(f"embedded store cannot take writes: {problem}")

    # ------------------------------------------------------------ writes

    async def apply(self, mutations: Sequence[Mutation]) -> None:
        """Apply one batch in one transaction (see ``olgraph.store.embedded.apply``)."""
        if not mutations:
            return
        try:
            await self._call(apply_batch, list(mutations), write=True)
        except StoreUnavailable as exc:
            if self._executor is not None:
                self._write_failure = str(exc)
            raise
        self._write_failure = None

    # ------------------------------------------------------------ reads

    async def get_node(self, key: str) -> NodeView | None:
        """The job, dataset or run with this key, deleted or not."""
        return await self._call(q.get_node, key)

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
        return await self._call(q.lineage, key, spec)

    async def impact(self, key: str, depth: int, max_nodes: int, *, as_of: str | None = None) -> ImpactResult:
        """Every live dataset, model and job downstream of ``key``."""
        return await self._call(q.impact, key, WalkSpec("downstream", depth, max_nodes, as_of=as_of))

    async def connected(self, key: str, depth: int, max_nodes: int) -> LineageResult:
        """Jobs and datasets linked to ``key`` through jobs' inputs and outputs, either way."""
        return await self._call(q.lineage, key, WalkSpec("downstream", depth, max_nodes, traversal=CONNECTED))

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
        return await self._call(columns.column_lineage, key, spec)

    async def column_impact(
        self, key: str, depth: int, max_nodes: int, *, as_of: str | None = None
    ) -> ImpactResult:
        """Every live column, dataset and job downstream of a column."""
        spec = WalkSpec("downstream", depth, max_nodes, as_of=as_of, traversal=COLUMN_IMPACT)
        return await self._call(columns.column_impact, key, spec)

    async def column_edges(self, datasets: Sequence[str]) -> ColumnEdges:
        """Column edges between the columns of ``datasets``."""
        return await self._call(columns.column_edges, list(datasets))

    async def search(self, query: SearchQuery) -> SearchPage:
        """Nodes whose name contains the query's text, ranked exact, prefix, substring."""
        return await self._call(search_module.search, query)

    async def list_namespaces(
        self, limit: int, offset: int, *, include_deleted: bool = False, after: tuple[str, str] | None = None
    ) -> Page:
        """Namespace names, sorted."""
        return await self._call(lists.list_namespaces, Window(limit, offset, after), include_deleted)

    async def get_namespaces(self, names: Sequence[str]) -> dict[str, dict[str, PropValue]]:
        """The namespaces among ``names`` that exist: name → properties."""
        return await self._call(lists.get_namespaces, list(names))

    async def list_datasets(self, namespace: str, limit: int, offset: int) -> Page:
        """Live datasets and models of ``namespace``, by name."""
        return await self.list_nodes(NodeFilter("dataset", namespace), Window(limit, offset))

    async def list_jobs(self, namespace: str, limit: int, offset: int) -> Page:
        """Live jobs of ``namespace``, by name."""
        return await self.list_nodes(NodeFilter("job", namespace), Window(limit, offset))

    async def list_nodes(self, flt: NodeFilter, window: Window) -> Page:
        """Datasets, models or jobs matching ``flt``, by (name, key)."""
        return await self._call(lists.list_nodes, flt, window)

    async def list_tags(self, limit: int, offset: int) -> Page:
        """Tags with their counts, by key."""
        return await self._call(lists.list_tags, limit, offset)

    async def list_runs(self, job_key: str, limit: int, offset: int, state: str | None = None) -> Page:
        """Runs of a job, newest first."""
        return await self._call(q.list_runs, job_key, limit, offset, state)

    async def get_run(self, run_id: str) -> RunView | None:
        """One run by runId."""
        return await self._call(q.get_run, run_id)

    async def get_run_detail(self, run_id: str) -> RunDetail | None:
        """One run in full."""
        return await self._call(detail.get_run_detail, run_id)

    async def list_child_runs(self, run_id: str, limit: int, offset: int) -> Page:
        """Child runs of a run, newest first."""
        return await self._call(detail.list_child_runs, run_id, limit, offset)

    async def get_job(self, key: str) -> JobView | None:
        """One job in full."""
        return await self._call(detail.get_job, key)

    async def get_dataset(self, key: str) -> DatasetDetail | None:
        """One dataset or model in full."""
        return await self._call(detail.get_dataset, key)

    async def get_details(self, jobs: Sequence[str], datasets: Sequence[str], runs: int) -> NodeDetails:
        """Many jobs and datasets in full, with their latest runs, in one read."""
        return await self._call(detail.get_details, list(jobs), list(datasets), runs)

    async def list_versions(self, key: str, limit: int, offset: int) -> Page:
        """Versions of a dataset, newest first."""
        return await self._call(detail.list_versions, key, limit, offset)

    async def get_version(self, dataset: str, version: str) -> VersionDetail | None:
        """One version of a dataset with its provenance."""
        return await self._call(detail.get_version, dataset, version)

    async def external_dependents(self, namespace: str, limit: int) -> list[NodeView]:
        """Live nodes outside ``namespace`` fed directly by it."""
        return await self._call(admin.external_dependents, namespace, limit)

    async def purge(self, keys: Sequence[str]) -> int:
        """Remove nodes for good (one transaction)."""
        return await self._call(admin.purge, list(keys), write=True)

    async def expire_runs(
        self, cutoff: str, after: str, limit: int, dry_run: bool = False
    ) -> tuple[int, str | None]:
        """One retention batch of runs (one transaction)."""
        return await self._call(admin.expire_runs, cutoff, after, limit, dry_run, write=True)

    async def expire_versions(
        self, cutoff: str, after: str, limit: int, dry_run: bool = False
    ) -> tuple[int, str | None]:
        """One retention batch of dataset versions (one transaction)."""
        return await self._call(admin.expire_versions, cutoff, after, limit, dry_run, write=True)

    async def dump(self) -> GraphDump:
        """The whole graph, canonical (tests only)."""
        return await self._call(q.dump)
