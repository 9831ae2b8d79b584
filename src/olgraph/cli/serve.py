"""``olgraph serve``: run the HTTP API, the event log and the consumer in one process.

Every option can also come from the environment: the ``OLGRAPH_*`` variables of
:class:`~olgraph.config.Settings` (``OLGRAPH_SERVER__PORT``, ``OLGRAPH_DATA_DIR``,
``OLGRAPH_STORE__NEO4J__URI``…); an option given on the command line wins.

Example::

    $ olgraph serve --port 5000
    olgraph 0.1.0 listening on http://127.0.0.1:5000 (store: embedded .olgraph/graph.db)
"""

from __future__ import annotations

from pathlib import Path

import click

from olgraph import __version__
from olgraph.cli._server import (
    build_settings,
    checked_settings,
    describe_store,
    listening_url,
    log_level_option,
    neo4j_options,
    run_server,
    server_options,
)
from olgraph.config import Settings

__all__ = ["build_settings", "describe_store", "serve_command", "startup_line"]


def startup_line(settings: Settings, host: str, port: int) -> str:
    """The one line ``serve`` prints once it is accepting connections."""
    store = describe_store(settings)
    return f"olgraph {__version__} listening on {listening_url(host, port)} (store: {store})"


@click.command("serve", short_help="Run the server: HTTP API, event log and consumer.")
@server_options
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Event log and embedded graph [env OLGRAPH_DATA_DIR; default .olgraph].",
)
@neo4j_options
@click.option(
    "--retention-days",
    type=click.IntRange(min=1),
    default=None,
    help="Remove runs, dataset versions and raw events older than this, hourly "
    "[env OLGRAPH_RETENTION__DAYS; default: keep everything].",
)
@log_level_option
def serve_command(
    *,
    host: str | None,
    port: int | None,
    marquez_port: int | None,
    data_dir: Path | None,
    neo4j_uri: str | None,
    neo4j_user: str | None,
    neo4j_password: str | None,
    neo4j_create_schema: bool | None,
    retention_days: int | None,
    log_level: str,
) -> None:
    """Run the olgraph server (HTTP API, event log and consumer) until Ctrl-C."""
    settings = checked_settings(
        host=host,
        port=port,
        marquez_port=marquez_port,
        data_dir=data_dir,
        neo4j_uri=neo4j_uri,
        neo4j_user=neo4j_user,
        neo4j_password=neo4j_password,
        neo4j_create_schema=neo4j_create_schema,
        retention_days=retention_days,
        # An OLGRAPH_LOG__KIND=kafka meant for `olgraph api` must not turn serve into an API replica.
        log_kind="local",
    )
    run_server(settings, log_level, startup_line)
