"""``olgraph serve``: run the HTTP API, the event log and the consumer in one process.

Every option can also come from the environment: the ``OLGRAPH_*`` variables of
:class:`~olgraph.config.Settings` (``OLGRAPH_SERVER__PORT``, ``OLGRAPH_DATA_DIR``,
``OLGRAPH_STORE__NEO4J__URI``…); an option given on the command line wins.

Example::

    $ olgraph serve --port 5000
    olgraph 0.1.0 listening on http://127.0.0.1:5000 (store: embedded .olgraph/graph.db)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from types import FrameType
from typing import Any

import click
import uvicorn
from pydantic import ValidationError

from olgraph import __version__
from olgraph.cli._output import fail
from olgraph.config import Settings, check_serving_security
from olgraph.errors import InsecureSettings

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def build_settings(
    *,
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
    neo4j_uri: str | None = None,
    neo4j_user: str | None = None,
    neo4j_password: str | None = None,
) -> Settings:
    """Settings from the environment, overridden by the options that were given.

    Giving ``neo4j_uri`` selects the Neo4j store. Overrides are passed as nested init values,
    which pydantic-settings merges over the environment group by group.
    """
    server: dict[str, Any] = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    neo4j = {
        k: v
        for k, v in {"uri": neo4j_uri, "user": neo4j_user, "password": neo4j_password}.items()
        if v is not None
    }
    overrides: dict[str, Any] = {}
    if server:
        overrides["server"] = server
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if neo4j:
        overrides["store"] = {"neo4j": neo4j} | ({"kind": "neo4j"} if neo4j_uri else {})
    return Settings(**overrides)


def describe_store(settings: Settings) -> str:
    """The store part of the start-up line: ``embedded PATH`` or ``neo4j URI``."""
    if settings.store.kind == "neo4j":
        return f"neo4j {settings.store.neo4j.uri}"
    return f"embedded {settings.embedded_store_path()}"


def startup_line(settings: Settings, host: str, port: int) -> str:
    """The one line ``serve`` prints once it is accepting connections."""
    shown_host = f"[{host}]" if ":" in host else host
    store = describe_store(settings)
    return f"olgraph {__version__} listening on http://{shown_host}:{port} (store: {store})"


def _bound_port(server: uvicorn.Server, fallback: int) -> int:
    """The port actually bound (differs from the setting when that is 0)."""
    for listener in server.servers:
        for sock in listener.sockets:
            return int(sock.getsockname()[1])
    return fallback


async def _serve(server: uvicorn.Server, settings: Settings) -> None:
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        port = _bound_port(server, settings.server.port)
        click.echo(startup_line(settings, settings.server.host, port))
    await task


def _configure_logging(level: str) -> str:
    """Log olgraph at ``level``; return the level for uvicorn's own (quieter below debug)."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return level if level in ("debug", "warning", "error", "critical") else "warning"


@click.command("serve", short_help="Run the server: HTTP API, event log and consumer.")
@click.option("--host", default=None, help="Interface to bind [env OLGRAPH_SERVER__HOST; default 127.0.0.1].")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="TCP port [env OLGRAPH_SERVER__PORT; 5000]."
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Event log and embedded graph [env OLGRAPH_DATA_DIR; default .olgraph].",
)
@click.option("--neo4j-uri", default=None, help="Use Neo4j at this URI [env OLGRAPH_STORE__NEO4J__URI].")
@click.option("--neo4j-user", default=None, help="Neo4j user [env OLGRAPH_STORE__NEO4J__USER].")
@click.option("--neo4j-password", default=None, help="Neo4j password [env OLGRAPH_STORE__NEO4J__PASSWORD].")
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="info",
    envvar="OLGRAPH_LOG_LEVEL",
    show_envvar=True,
    show_default=True,
)
def serve_command(
    *,
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    neo4j_uri: str | None,
    neo4j_user: str | None,
    neo4j_password: str | None,
    log_level: str,
) -> None:
    """Run the olgraph server (HTTP API, event log and consumer) until Ctrl-C."""
    try:
        settings = build_settings(
            host=host,
            port=port,
            data_dir=data_dir,
            neo4j_uri=neo4j_uri,
            neo4j_user=neo4j_user,
            neo4j_password=neo4j_password,
        )
        check_serving_security(settings)
    except ValidationError as exc:
        raise fail(f"invalid settings:\n{exc}") from exc
    except InsecureSettings as exc:
        raise fail(str(exc)) from exc
    from olgraph.api.app import create_app  # noqa: PLC0415  (keeps `olgraph impact` start-up fast)

    uvicorn_level = _configure_logging(log_level.lower())
    config = uvicorn.Config(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        log_level=uvicorn_level,
        access_log=False,
        lifespan="on",
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then restores the previous handlers and
    # re-raises the signal. Turning SIGTERM into the same KeyboardInterrupt as Ctrl-C makes a
    # stop by a supervisor (systemd, Kubernetes) exit 0 after that graceful shutdown too.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(uvicorn.Server(config), settings))
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo("olgraph stopped", err=True)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt
