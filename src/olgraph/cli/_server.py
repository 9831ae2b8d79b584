"""What the server commands share: their options, settings from environment and options, and
running uvicorn until Ctrl-C or SIGTERM.

``olgraph serve`` (embedded) and ``olgraph api`` (distributed) differ only in the options
they add and the start-up line they print.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click
import uvicorn
from pydantic import ValidationError

from olgraph.cli._output import fail
from olgraph.config import Settings, check_serving_security
from olgraph.errors import InsecureSettings, OlgraphError

if TYPE_CHECKING:
    from olgraph.runtime import Runtime

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")

F = TypeVar("F", bound=Callable[..., Any])
StartupLine = Callable[[Settings, str, int], str]
"""Builds the line printed once the server listens, from the settings, host and bound port."""


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def build_settings(
    *,
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
    neo4j_uri: str | None = None,
    neo4j_user: str | None = None,
    neo4j_password: str | None = None,
    neo4j_create_schema: bool | None = None,
    store_kind: str | None = None,
    default_store_kind: str | None = None,
    log_kind: str | None = None,
    kafka_bootstrap: str | None = None,
    kafka_topic: str | None = None,
    retention_days: int | None = None,
    marquez_port: int | None = None,
) -> Settings:
    """Settings from the environment, overridden by the options that were given.

    The store is ``store_kind`` when given, else Neo4j when ``neo4j_uri`` is given, else
    what ``OLGRAPH_STORE__KIND`` says, else ``default_store_kind`` (or the settings' default,
    embedded). ``log_kind`` selects the event log. Overrides are passed as nested init values,
    which pydantic-settings merges over the environment group by group (``--port`` keeps
    ``OLGRAPH_SERVER__HOST``).
    """
    overrides: dict[str, Any] = {}
    if server := _given(host=host, port=port):
        overrides["server"] = server
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    store: dict[str, Any] = _given(kind=store_kind or ("neo4j" if neo4j_uri else None))
    neo4j = _given(uri=neo4j_uri, user=neo4j_user, password=neo4j_password)
    if neo4j_create_schema:  # only a given flag overrides OLGRAPH_STORE__NEO4J__CREATE_SCHEMA
        neo4j["create_schema"] = True
    if neo4j:
        store["neo4j"] = neo4j
    if store:
        overrides["store"] = store
    log: dict[str, Any] = _given(kind=log_kind)
    if kafka := _given(bootstrap_servers=kafka_bootstrap, topic=kafka_topic):
        log["kafka"] = kafka
    if log:
        overrides["log"] = log
    if retention_days is not None:
        overrides["retention"] = {"days": retention_days}
    if marquez_port is not None:
        overrides["marquez"] = {"port": marquez_port}
    settings = Settings(**overrides)
    if default_store_kind and "kind" not in settings.store.model_fields_set:
        overrides["store"] = store | {"kind": default_store_kind}
        settings = Settings(**overrides)
    return settings


def checked_settings(**options: Any) -> Settings:
    """:func:`build_settings`, refused like a usage error (exit 2) when invalid or insecure."""
    try:
        settings = build_settings(**options)
        check_serving_security(settings)
    except ValidationError as exc:
        raise fail(f"invalid settings:\n{exc}") from exc
    except InsecureSettings as exc:
        raise fail(str(exc)) from exc
    return settings


def describe_store(settings: Settings) -> str:
    """The store part of a start-up line: ``embedded PATH`` or ``neo4j URI``."""
    if settings.store.kind == "neo4j":
        return f"neo4j {settings.store.neo4j.uri}"
    return f"embedded {settings.embedded_store_path()}"


def listening_url(host: str, port: int) -> str:
    """``http://host:port``, with an IPv6 host in brackets."""
    shown_host = f"[{host}]" if ":" in host else host
    return f"http://{shown_host}:{port}"


def _apply(decorator: F, options: list[Callable[[F], F]]) -> F:
    for option in reversed(options):
        decorator = option(decorator)
    return decorator


def server_options(command: F) -> F:
    """``--host``, ``--port`` and ``--marquez-port``."""
    return _apply(
        command,
        [
            click.option(
                "--host",
                default=None,
                help="Interface to bind [env OLGRAPH_SERVER__HOST; default 127.0.0.1].",
            ),
            click.option(
                "--port",
                type=click.IntRange(0, 65535),
                default=None,
                help="TCP port [env OLGRAPH_SERVER__PORT; 5000].",
            ),
            click.option(
                "--marquez-port",
                type=click.IntRange(0, 65535),
                default=None,
                help="Also serve Marquez's API (for Marquez Web and marquez-python) on this port "
                "[env OLGRAPH_MARQUEZ__PORT; default: off].",
            ),
        ],
    )


def neo4j_options(command: F) -> F:
    """``--neo4j-uri`` (selects the Neo4j store), ``--neo4j-user``, ``--neo4j-password`` and
    ``--neo4j-create-schema``."""
    return _apply(
        command,
        [
            click.option(
                "--neo4j-uri", default=None, help="Use Neo4j at this URI [env OLGRAPH_STORE__NEO4J__URI]."
            ),
            click.option("--neo4j-user", default=None, help="Neo4j user [env OLGRAPH_STORE__NEO4J__USER]."),
            click.option(
                "--neo4j-password", default=None, help="Neo4j password [env OLGRAPH_STORE__NEO4J__PASSWORD]."
            ),
            click.option(
                "--neo4j-create-schema",
                is_flag=True,
                default=None,
                help="Create olgraph's schema in a Neo4j database that has none (else such a database "
                "is refused) [env OLGRAPH_STORE__NEO4J__CREATE_SCHEMA].",
            ),
        ],
    )


def log_level_option(command: F) -> F:
    """``--log-level`` (env ``OLGRAPH_LOG_LEVEL``)."""
    option: Callable[[F], F] = click.option(
        "--log-level",
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
        default="info",
        envvar="OLGRAPH_LOG_LEVEL",
        show_envvar=True,
        show_default=True,
    )
    return option(command)


def configure_logging(level: str) -> str:
    """Log olgraph at ``level``; return the level for uvicorn's own (quieter below debug)."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(RepeatFilter(prefixes=("aiokafka",)))
    return level if level in ("debug", "warning", "error", "critical") else "warning"


class RepeatFilter(logging.Filter):
    """Let each distinct message of the given loggers through at most once per ``interval`` seconds.

    While a broker is down, aiokafka logs the same connection error for every retry, thousands
    of lines a second; the next line let through says how many were dropped meanwhile.

    >>> f = RepeatFilter(prefixes=("aiokafka",), interval=60.0, clock=iter([0.0, 1.0, 61.0]).__next__)
    >>> def rec(msg):
    ...     return logging.LogRecord("aiokafka.conn", logging.ERROR, __file__, 1, msg, None, None)
    >>> [f.filter(rec("down")), f.filter(rec("down"))]
    [True, False]
    >>> third = rec("down"); f.filter(third), third.getMessage()
    (True, 'down (1 similar message suppressed)')
    """

    def __init__(
        self, prefixes: tuple[str, ...], interval: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.prefixes, self.interval, self.clock = prefixes, interval, clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to emit ``record`` (others' records always pass)."""
        if not record.name.startswith(self.prefixes):
            return True
        key, now = (record.name, str(record.msg)), self.clock()
        last, dropped = self._seen.get(key, (None, 0))
        if last is not None and now - last < self.interval:
            self._seen[key] = (last, dropped + 1)
            return False
        self._seen[key] = (now, 0)
        if dropped:
            plural = "s" if dropped != 1 else ""
            record.msg = f"{record.msg} ({dropped} similar message{plural} suppressed)"
        return True


GC_THRESHOLDS = (50_000, 20, 10)
"""The cyclic garbage collector's thresholds in olgraph's long-running processes (see :func:`tune_gc`)."""


def tune_gc() -> None:
    """Make the cyclic garbage collector run less often in a long-running olgraph process.

    Nearly everything olgraph allocates is freed by reference counting; the cyclic collector
    only finds the rare cycle. With CPython's default thresholds (700, 10, 10) it still ran so
    often that, measured, it took about a third of a 10,000-node lineage answer and a quarter
    of turning events into mutations, scanning the same young objects again and again. With
    a first generation of 50,000 objects, most of a request's or a batch's objects are freed
    before any scan; cycles are still collected, later. What was allocated while starting
    (modules, the app, the open store) is frozen out of the scans for good. Called once, when
    the process has started and is about to serve.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_server(settings: Settings, log_level: str, startup_line: StartupLine) -> None:
    """Serve the app for ``settings`` until Ctrl-C or SIGTERM; print ``startup_line`` once listening.

    The port is bound and the runtime (store, event log or Kafka producer) opened before
    uvicorn starts, so that a taken port or a store that cannot be opened is one ``Error:``
    line (exit status 1). Returns normally (exit status 0) after uvicorn's graceful shutdown,
    then closes the runtime.
    """
    # Bound before anything else starts, so a taken port is one line, not uvicorn's traceback.
    listener = bind_listener(settings.server.host, settings.server.port)
    marquez = (
        bind_listener(settings.server.host, settings.marquez.port, option="--marquez-port")
        if settings.marquez.port is not None
        else None
    )
    uvicorn_level = configure_logging(log_level.lower())
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then restores the previous handlers and
    # re-raises the signal. Turning SIGTERM into the same KeyboardInterrupt as Ctrl-C makes a
    # stop by a supervisor (systemd, Kubernetes) exit 0 after that graceful shutdown too.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(listener, settings, uvicorn_level, startup_line, marquez))
    finally:
        signal.signal(signal.SIGTERM, previous)
        listener.close()
    click.echo("olgraph stopped", err=True)


def _bound_port(server: uvicorn.Server, fallback: int) -> int:
    """The port actually bound (differs from the setting when that is 0)."""
    for listener in server.servers:
        for sock in listener.sockets:
            return int(sock.getsockname()[1])
    return fallback


def bind_listener(host: str, port: int, option: str = "--port") -> socket.socket:
    """A TCP socket bound to ``host:port`` for the server, or a one-line error (exit status 1).

    The message names the address and what to do, e.g. ``Error: port 5000 on 127.0.0.1 is
    already in use (another olgraph?); stop what listens there or choose another with --port``.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise fail(f"cannot listen on {host}: {exc.strerror}", code=1) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise fail(
                f"port {port} on {host} is already in use (another olgraph?); "
                f"stop what listens there or choose another with {option}",
                code=1,
            ) from exc
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", code=1) from exc
    return sock


async def _serve(
    listener: socket.socket,
    settings: Settings,
    uvicorn_level: str,
    startup_line: StartupLine,
    marquez: socket.socket | None = None,
) -> None:
    """Open the runtime (a failure is one line, exit status 1), then serve until stopped."""
    from olgraph.api.app import create_app  # noqa: PLC0415  (keeps `olgraph impact` start-up fast)
    from olgraph.runtime import build_runtime  # noqa: PLC0415

    runtime = build_runtime(settings)
    try:
        await runtime.start()
    except OlgraphError as exc:
        raise fail(f"cannot start: {' '.join(str(exc).split())}", code=1) from exc
    try:
        app = create_app(settings, runtime=runtime, runtime_started=True)
        config = uvicorn.Config(app, log_level=uvicorn_level, access_log=False, lifespan="on")
        tune_gc()
        server = _Leader(config)
        task = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started:
            port = _bound_port(server, settings.server.port)
            click.echo(startup_line(settings, settings.server.host, port))
        if marquez is not None and not task.done():
            follower = _marquez_server(settings, runtime, uvicorn_level)
            await _start_follower(server, follower, marquez, settings)
        await task
    finally:
        await runtime.stop()
        if marquez is not None:
            marquez.close()


class _Follower(uvicorn.Server):
    """A second server in the process: the first one handles the signals and tells it to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Leader(uvicorn.Server):
    """The main server: on shutdown it stops its followers first, so that they have finished
    before it re-raises the signal that stopped it (which ends the event loop)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.followers: list[tuple[_Follower, asyncio.Task[None]]] = []

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for follower, _ in self.followers:
            follower.should_exit = True
        if self.followers:
            await asyncio.wait([task for _, task in self.followers])
        await super().shutdown(sockets=sockets)


def _marquez_server(settings: Settings, runtime: Runtime, log_level: str) -> _Follower:
    """The Marquez-compatible API's server, sharing the started ``runtime``."""
    from olgraph.api.marquez.app import create_marquez_app  # noqa: PLC0415

    app = create_marquez_app(settings, runtime=runtime, owns_runtime=False)
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on")
    return _Follower(config)


async def _start_follower(
    leader: _Leader, follower: _Follower, listener: socket.socket, settings: Settings
) -> None:
    """Start the Marquez-compatible server beside the main one; a follower that fails or stops
    stops the main server too (half a server is not what was asked for)."""
    task = asyncio.create_task(follower.serve(sockets=[listener]))
    leader.followers.append((follower, task))
    task.add_done_callback(lambda _: setattr(leader, "should_exit", True))
    while not follower.started and not task.done():
        await asyncio.sleep(0.02)
    if follower.started:
        port = int(listener.getsockname()[1])
        click.echo(f"Marquez-compatible API (Marquez 0.50) on {listening_url(settings.server.host, port)}")


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt
