"""``olgraph services up|down|status [SERVICE...]``: the local development servers, without Docker.

Each service takes another port when its default one is taken, so take addresses from what
these commands print, never from the defaults. ``--env`` prints them as shell settings that the
olgraph commands read::

    $ olgraph services up
    neo4j bolt://127.0.0.1:7687 user neo4j password Gx3… (browser: http://127.0.0.1:7474/browser/)
    kafka 127.0.0.1:9092
    $ olgraph services status neo4j
    neo4j bolt://127.0.0.1:7687 running user neo4j password Gx3… (browser: http://127.0.0.1:7474/browser/)
    $ eval "$(olgraph services up neo4j --env)"   # then `olgraph serve` uses that Neo4j

Neo4j requires authentication: the password is generated on its first start and kept in
``<cache>/neo4j/password`` (mode 0600); ``--env`` exports it as ``OLGRAPH_STORE__NEO4J__USER``
and ``OLGRAPH_STORE__NEO4J__PASSWORD`` (or pass ``--neo4j-user``/``--neo4j-password``).
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import click

from olgraph.devservices import Launcher, ServiceError, ServiceInfo, launchers

F = TypeVar("F", bound=Callable[..., object])

_names_argument = click.argument("names", metavar="[SERVICE]...", nargs=-1)
_cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for jars, data and state (default: $OLGRAPH_SERVICES_CACHE or ~/.cache/olgraph/services).",
)


def _service_options(func: F) -> F:
    return _names_argument(_cache_dir_option(func))


_env_option = click.option(
    "--env",
    "as_env",
    is_flag=True,
    help="Print shell `export` lines of the OLGRAPH_* settings that point olgraph at the services "
    '(eval "$(olgraph services up --env)").',
)


@click.group("services")
def services() -> None:
    """Run the local services that development and the tests use (SERVICE: neo4j, kafka; default all)."""


@services.command("up")
@_service_options
@_env_option
def up_command(names: tuple[str, ...], cache_dir: Path | None, as_env: bool) -> None:
    """Fetch (first run only) and start each SERVICE; print where it listens."""
    for name, launcher in _select(names).items():
        with _reporting(name):
            info = launcher.up(cache_dir)
        click.echo(shell_settings(name, info) if as_env else _describe(name, info))


@services.command("down")
@_service_options
def down_command(names: tuple[str, ...], cache_dir: Path | None) -> None:
    """Stop each SERVICE (its data is kept)."""
    for name, launcher in _select(names).items():
        with _reporting(name):
            stopped = launcher.down(cache_dir)
        click.echo(f"{name} stopped" if stopped else f"{name} was not running")


@services.command("status")
@_service_options
@_env_option
def status_command(names: tuple[str, ...], cache_dir: Path | None, as_env: bool) -> None:
    """Print whether each SERVICE runs, and where."""
    for name, launcher in _select(names).items():
        with _reporting(name):
            info = launcher.status(cache_dir)
        running = info is not None and info.running
        if as_env and info is not None and running:
            click.echo(shell_settings(name, info))
        elif as_env:
            raise click.ClickException(f"{name} is not running (start it with: olgraph services up {name})")
        else:
            click.echo(
                _describe(name, info, " running") if info is not None and running else f"{name} stopped"
            )


def _select(names: tuple[str, ...]) -> dict[str, Launcher]:
    available = launchers()
    unknown = [name for name in names if name not in available]
    if unknown:
        raise click.BadParameter(
            f"unknown service {', '.join(unknown)}; choose from {', '.join(sorted(available))}",
            param_hint="SERVICE",
        )
    return {name: available[name] for name in (names or tuple(available))}


@contextlib.contextmanager
def _reporting(name: str) -> Iterator[None]:
    """Turn a launcher failure into a click error: message on stderr, exit status 1."""
    try:
        yield
    except ServiceError as exc:
        raise click.ClickException(f"{name}: {exc}") from exc


def shell_settings(name: str, info: ServiceInfo) -> str:
    """``export`` lines of the settings that point olgraph's commands at a running service.

    The dev Neo4j is olgraph's own, so creating olgraph's schema there is allowed.

    >>> print(shell_settings("kafka", ServiceInfo("kafka", "127.0.0.1:9092", None, 1, True)))
    export OLGRAPH_LOG__KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:9092
    """
    if name == "neo4j":
        settings = {
            "OLGRAPH_STORE__KIND": "neo4j",
            "OLGRAPH_STORE__NEO4J__URI": info.uri,
            "OLGRAPH_STORE__NEO4J__CREATE_SCHEMA": "true",
        }
        # credentials: the dev server's generated password
        user, password = info.user, info.password
        if user and password:
            settings |= {"OLGRAPH_STORE__NEO4J__USER": user, "OLGRAPH_STORE__NEO4J__PASSWORD": password}
    else:
        settings = {"OLGRAPH_LOG__KAFKA__BOOTSTRAP_SERVERS": info.uri}
    return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in settings.items())


def _describe(name: str, info: ServiceInfo, suffix: str = "") -> str:
    """``neo4j bolt://127.0.0.1:7687 running user neo4j password PW (browser: http://…/browser/)``."""
    credentials = f" user {info.user} password {info.password}" if info.user and info.password else ""
    ui = f" (browser: {info.ui_url})" if info.ui_url else ""
    return f"{name} {info.uri}{suffix}{credentials}{ui}"
