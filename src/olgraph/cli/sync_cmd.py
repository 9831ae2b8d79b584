"""``olgraph sync mlflow``: pull an MLflow tracking server's registry into the graph.

The events go through the normal ingest path (``POST /api/v1/lineage/batch`` of a running
olgraph server), so the sync needs nothing but an API key: one with the ``ingest`` and
``read`` roles (``admin``), or an ``ingest`` key plus a ``read`` key. What was synced before
is read back from the graph (the query API's listings of the MLflow namespaces), so there is
no local state to lose or to share between machines. Exit codes: see ``SYNC_MLFLOW_HELP``.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import click
import orjson

from olgraph.cli._client import JsonDict, OlgraphClient
from olgraph.cli._output import fail
from olgraph.cli.query import EXIT_FAILURE, url_option
from olgraph.config import LimitSettings

if TYPE_CHECKING:  # the real import is lazy: MLflow is an optional extra
    from olgraph.integrations.mlflow.sync import Previous, Source, Tally

EXIT_SYNCED = 0
EXIT_REFUSED = 1
DEFAULT_BATCH = int(LimitSettings.model_fields["max_batch_events"].default)


def _import_sync() -> ModuleType:
    """The sync module; it needs MLflow and the plugins' distribution (olgraph-integrations[mlflow])."""
    try:
        from olgraph.integrations.mlflow import sync  # noqa: PLC0415 - MLflow is optional
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing.split(".")[0] != "mlflow" and not missing.startswith("olgraph.integrations"):
            raise
        raise fail(
            "olgraph sync mlflow needs MLflow and olgraph's MLflow plugin: install "
            "olgraph-integrations[mlflow] (from a checkout: pip install './integrations[mlflow]')"
        ) from exc
    return sync


# --------------------------------------------------------------------------- talking to olgraph


class EventSink:
    """Collects events into batches and posts each full one; or, on a dry run, prints them."""

    def __init__(self, client: OlgraphClient | None, batch_size: int) -> None:
        self.client = client
        self.batch_size = batch_size
        self.buffer: list[JsonDict] = []
        self.count = 0

    def __call__(self, event: JsonDict) -> None:
        """Take one event."""
        self.count += 1
        if self.client is None:
            click.echo(orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode())
            return
        self.buffer.append(event)
        if len(self.buffer) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Post what is buffered."""
        if self.client is not None and self.buffer:
            batch, self.buffer = self.buffer, []
            self.client.post_batch(batch)


def read_previous(client: OlgraphClient, sync: ModuleType, source: Source) -> Previous:
    """What the graph holds of this MLflow server (``sync.Previous``), from the query API."""
    namespaces = dict.fromkeys([source.tracking_namespace, source.registry_namespace])
    datasets = itertools.chain.from_iterable(
        client.pages(f"/api/v1/namespaces/{quote(ns, safe='')}/datasets") for ns in namespaces
    )
    jobs = client.pages(f"/api/v1/namespaces/{quote(source.tracking_namespace, safe='')}/jobs")
    previous: Previous = sync.Previous.from_listings(source, datasets, jobs)
    return previous


# --------------------------------------------------------------------------- progress


class BarProgress:
    """click's progress bar on stderr: a counting bar on a terminal, a line per stage elsewhere."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def phase(self, label: str) -> None:
        """Show the stage in the bar's label."""
        self.bar.label = f"olgraph sync: {label}"
        self.bar.render_progress()

    def advance(self, entities: int = 1) -> None:
        """Count read entities."""
        self.bar.update(entities)


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    with click.progressbar(
        itertools.count(), label="olgraph sync", show_pos=True, file=sys.stderr, width=20
    ) as bar:
        yield BarProgress(bar)


# --------------------------------------------------------------------------- the command


def summary(tally: Tally, events: int, deleted: int, dry_run: bool) -> str:
    """The closing line: what was read, sent and deleted."""
    read = (
        f"{tally.experiments} experiments, {tally.runs} runs, {tally.logged_models} logged models, "
        f"{tally.registered_models} registered models, {tally.versions} versions"
    )
    if dry_run:
        return (
            f"dry run: read {read}; {events} events would be sent, {deleted} models would be marked deleted"
        )
    return f"synced {read}: {events} events sent, {deleted} models marked deleted"


SYNC_MLFLOW_HELP = """Pull an MLflow tracking server's experiments, runs and models into the graph.

Experiments become jobs, runs become runs (params, metrics, status; logged datasets as
inputs, logged models as outputs), registered models become MODEL datasets whose versions
are written by the runs that produced them, with stages and aliases as tags. Events go to
the olgraph server at --url like any producer's; re-running with the same MLflow state
changes nothing. Models that vanished from MLflow since the last sync are marked deleted,
unless they are more than --max-delete-fraction of those synced before (then --force).

\b
Exit status:
  0  synced; models that vanished from MLflow were marked deleted
  1  synced, but the fail-safe refused to mark the vanished models deleted
  2  usage error; MLflow or olgraph unreachable, refusing, or answering with an error
"""


@click.group("sync", short_help="Pull lineage that other systems hold into the graph.")
def sync_group() -> None:
    """Pull lineage that other systems hold into the graph, through the normal ingest path."""


@sync_group.command(
    "mlflow", help=SYNC_MLFLOW_HELP, short_help="Pull an MLflow server's registry into the graph."
)
@click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    show_envvar=True,
    required=True,
    help="The MLflow tracking server (http://host:5000) or store (sqlite:///mlflow.db).",
)
@click.option(
    "--registry-uri",
    envvar="MLFLOW_REGISTRY_URI",
    show_envvar=True,
    default=None,
    help="The model registry, if not the tracking server's.  [default: the tracking URI]",
)
@url_option
@click.option(
    "--api-key",
    envvar="OLGRAPH_API_KEY",
    show_envvar=True,
    default=None,
    help="API key with the 'ingest' role (and 'read', unless --read-api-key is given).",
)
@click.option(
    "--read-api-key",
    envvar="OLGRAPH_READ_API_KEY",
    show_envvar=True,
    default=None,
    help="API key with the 'read' role, to find what was synced before.  [default: --api-key]",
)
@click.option(
    "--max-delete-fraction",
    type=click.FloatRange(0.0, 1.0),
    default=0.25,
    show_default=True,
    help="Refuse to mark more than this share of the previously synced models deleted.",
)
@click.option("--force", is_flag=True, help="Mark vanished models deleted whatever their share.")
@click.option("--dry-run", is_flag=True, help="Print the events (one JSON per line) instead of sending them.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show progress on stderr.  [default: when stderr is a terminal]",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=DEFAULT_BATCH,
    show_default=True,
    help="Events per POST (no more than the server's limits.max_batch_events).",
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 1000),
    default=500,
    show_default=True,
    help="Entities per MLflow search call.",
)
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, help="Seconds per request."
)
@click.option(
    "--retries",
    type=click.IntRange(0, 20),
    default=5,
    show_default=True,
    help="Retries of a request olgraph answers 503 (or drops).",
)
def sync_mlflow_command(
    *,
    tracking_uri: str,
    registry_uri: str | None,
    url: str,
    api_key: str | None,
    read_api_key: str | None,
    max_delete_fraction: float,
    force: bool,
    dry_run: bool,
    progress: bool | None,
    batch_size: int,
    page_size: int,
    timeout: float,
    retries: int,
) -> None:
    """See SYNC_MLFLOW_HELP (click shows it)."""
    sync = _import_sync()
    for option, uri in (("--tracking-uri", tracking_uri), ("--registry-uri", registry_uri)):
        problem = missing_local_store(uri) if uri else None
        if problem:
            raise fail(f"{option} {uri}: {problem}")
    source = sync.Source(tracking_uri, registry_uri or tracking_uri, page_size)
    client = OlgraphClient(url, api_key, read_api_key, timeout, retries)
    settings = RunSettings(
        max_delete_fraction=max_delete_fraction,
        force=force,
        dry_run=dry_run,
        progress=sys.stderr.isatty() if progress is None else progress,
        batch_size=batch_size,
    )
    try:
        _run(sync, source, client, settings)
    except sync.SyncError as exc:
        raise fail(str(exc)) from exc
    finally:
        client.close()


def missing_local_store(uri: str) -> str | None:
    """Why ``uri`` names no existing local MLflow store, or None (servers are checked by answering).

    MLflow creates a missing SQLite database or file store on first use, so a mistyped path
    would be synced as an empty MLflow (and every model synced before marked deleted).

    >>> missing_local_store("http://mlflow:5000") is None
    True
    >>> missing_local_store("sqlite:////nonexistent/mlflow.db")
    'no such MLflow database: /nonexistent/mlflow.db (MLflow would create an empty one)'
    """
    scheme, _, rest = uri.partition("://")
    if scheme == "sqlite":
        database = rest.removeprefix("/").partition("?")[0]
        if database in ("", ":memory:"):
            return "an in-memory database holds nothing to sync"
        path = Path(database)
        what = "database"
    elif scheme == "file" or not rest:  # file:///path, or a plain path: MLflow's file store
        path = Path(rest if scheme == "file" else uri)
        what = "file store"
    else:
        return None
    if path.exists():
        return None
    return f"no such MLflow {what}: {path} (MLflow would create an empty one)"


@dataclass(frozen=True)
class RunSettings:
    """How one sync behaves, from the command's options."""

    max_delete_fraction: float
    force: bool
    dry_run: bool
    progress: bool
    batch_size: int


def _run(sync: ModuleType, source: Source, client: OlgraphClient, settings: RunSettings) -> None:
    dry_run = settings.dry_run
    reader = _reader(sync, source)
    previous = read_previous(client, sync, source)
    sink = EventSink(None if dry_run else client, settings.batch_size)
    with _progress(settings.progress) as progress:
        scan = sync.sync(reader, previous, sink, progress, client.dataset_facets)
    plan = sync.plan_deletions(previous, scan.present)
    try:
        plan.check(settings.max_delete_fraction, settings.force)
    except sync.DeletionRefused as exc:
        sink.flush()
        _report(summary(scan.tally, sink.count, 0, dry_run), dry_run)
        click.echo(f"Error: {exc}", err=True)
        raise click.exceptions.Exit(EXIT_REFUSED) from exc
    for event in plan.events(source.registry_namespace):
        sink(event)
    sink.flush()
    if plan.vanished_experiments:
        click.echo(
            f"note: {len(plan.vanished_experiments)} experiments are no longer in MLflow; their jobs stay "
            "in the graph (jobs cannot be marked deleted)",
            err=True,
        )
    _report(summary(scan.tally, sink.count, len(plan.vanished), dry_run), dry_run)


def _reader(sync: ModuleType, source: Source) -> Any:
    """An MLflow reader that has checked the server answers."""
    reader = sync.MlflowReader(source)
    reader.check()
    return reader


def _report(line: str, dry_run: bool) -> None:
    # A dry run's stdout is the events (one JSON per line): keep the summary out of it.
    click.echo(line, err=dry_run)


__all__ = ["EXIT_FAILURE", "EXIT_REFUSED", "EXIT_SYNCED", "sync_group"]
