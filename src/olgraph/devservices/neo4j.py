"""Run a local Neo4j Community server from Maven Central jars, without Docker.

Why and how tests use it: docs/architecture.md, "Real services in tests".

Layout under ``<services cache>/neo4j/`` (see :func:`olgraph.devservices._common.services_root`)::

    pom.xml, lib/, lib.complete   the Maven project that fetches the jars once (its own lib folder)
    instance/conf/neo4j.conf      generated on every start
    instance/data, instance/logs  the database and Neo4j's own logs (neo4j.log, debug.log)
    instance/console.log          the JVM's stdout and stderr
    state.json                    pid and ports of the running server
    ports.json                    the last ports used, preferred on the next start
    password                      the generated password of user ``neo4j`` (mode 0600)

The server requires authentication: on the first start the launcher generates a password,
keeps it in ``password`` and sets it as the initial password of user ``neo4j`` before the
database exists (``neo4j-admin dbms set-initial-password``), so there is no moment with a
default password. A database created by an older, auth-less launcher still has the default
password; the launcher changes it to the generated one on its first start with auth.

Example::

    info = up()  # fetches jars on first use, starts, waits for ``RETURN 1``
    print(info.uri, info.user, info.password)  # bolt://127.0.0.1:7687 neo4j <generated>
    down()
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, DriverError, Neo4jError

from olgraph.devservices._common import (
    ServiceInfo,
    choose_port,
    fetch_jars,
    file_lock,
    find_java_home,
    is_our_process,
    java_major_version,
    listens_on,
    port_accepts,
    port_is_free,
    process_alive,
    progress,
    read_json,
    remove_file,
    reuse_ports,
    run_logged,
    secret_file,
    services_root,
    spawn_detached,
    tail,
    terminate,
    write_json,
)
from olgraph.devservices._maven import Artifact
from olgraph.devservices._maven import render_pom as maven_pom
from olgraph.errors import ServiceError

NAME = "neo4j"
NEO4J_VERSION = "5.26.30"
BROWSER_VERSION = "5.24.0"
"""Neo4j Browser (served at ``/browser/``); the newest on Maven Central, as the 5.26 distribution bundles."""
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"
USER = "neo4j"
DEFAULT_PASSWORD = "neo4j"  # noqa: S105 - Neo4j's documented default, replaced at once
"""What Neo4j gives user ``neo4j`` when no initial password was set (it must be changed)."""
ADMIN_TIMEOUT = 120.0
JAVA_VERSIONS = (17, 21)  # Neo4j 5.26 runs on these only
DEFAULT_BOLT_PORT = 7687
DEFAULT_HTTP_PORT = 7474
MEMORY = "512m"
HEAP_ENV = "OLGRAPH_NEO4J_HEAP"
PAGECACHE_ENV = "OLGRAPH_NEO4J_PAGECACHE"
"""Sizes (Neo4j syntax: ``512m``, ``4g``) of the dev server's heap and page cache, read at start;
``MEMORY`` when unset. The benchmarks raise them for graphs of a million nodes."""
_SIZE = re.compile(r"[1-9][0-9]*[kmgKMG]?")
START_TIMEOUT = 120.0
HOST = "127.0.0.1"

# Heap must be given to the JVM directly: the server.memory.heap.* settings are only read by the
# `neo4j` shell bootloader, which we bypass. The rest mirrors the JVM flags Neo4j ships in neo4j.conf.
JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
)


@dataclass(frozen=True)
class Neo4jPaths:
    """Where the launcher keeps the Maven project, the server instance, and its state."""

    root: Path

    @classmethod
    def under(cls, cache_dir: Path | None = None) -> Neo4jPaths:
        """Paths for the Neo4j service inside the services cache (``cache_dir`` or the default)."""
        return cls(services_root(cache_dir) / NAME)

    @property
    def lib(self) -> Path:
        """The folder the jars are copied into; the server's classpath."""
        return self.root / "lib"

    @property
    def instance(self) -> Path:
        """The server's ``--home-dir``."""
        return self.root / "instance"

    @property
    def conf_dir(self) -> Path:
        """The server's ``--config-dir``."""
        return self.instance / "conf"

    @property
    def console_log(self) -> Path:
        """The JVM's stdout and stderr."""
        return self.instance / "console.log"

    @property
    def state_file(self) -> Path:
        """Pid and ports of the running server."""
        return self.root / "state.json"

    @property
    def password_file(self) -> Path:
        """The generated password of user ``neo4j`` (mode 0600)."""
        return self.root / "password"

    @property
    def system_database(self) -> Path:
        """Where the system database (users and their passwords) lives once created."""
        return self.instance / "data" / "databases" / "system"

    def password(self) -> str:
        """The password, generated and stored on first use."""
        return secret_file(self.password_file, new_password)


def new_password() -> str:
    """A random password that starts with a letter: ``neo4j-admin dbms set-initial-password``
    reads one that starts with ``-`` (``token_urlsafe`` makes one in 64) as an option, and the
    server then never gets its password."""
    return "p" + secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Neo4jState:
    """What ``state.json`` records about a started server."""

    pid: int
    bolt_port: int
    http_port: int
    version: str
    java_home: str

    @property
    def bolt_uri(self) -> str:
        """``bolt://127.0.0.1:<port>``."""
        return f"bolt://{HOST}:{self.bolt_port}"

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.http_port}"

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in ``state.json``."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Neo4jState | None:
        """Parse ``state.json`` content; None when it is missing or malformed."""
        if data is None:
            return None
        try:
            return cls(
                pid=int(data["pid"]),
                bolt_port=int(data["bolt_port"]),
                http_port=int(data["http_port"]),
                version=str(data["version"]),
                java_home=str(data["java_home"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def render_pom(version: str = NEO4J_VERSION) -> str:
    """The Maven project whose only job is to copy the Neo4j Community jars into ``lib/``.

    ``org.neo4j:neo4j`` holds ``CommunityEntryPoint`` and pulls in ``neo4j-bolt`` (the Bolt
    connector) and ``neo4j-server`` (HTTP) transitively; ``neo4j-browser`` is the Browser UI
    the server serves from its classpath, so analysts can query without installing anything.
    """
    dependencies = [
        Artifact("org.neo4j", "neo4j", version),
        Artifact("org.neo4j.client", "neo4j-browser", BROWSER_VERSION),
    ]
    return maven_pom("olgraph.devservices.neo4j", "neo4j-server-jars", version, dependencies)


def render_conf(instance_dir: Path, bolt_port: int, http_port: int) -> str:
    """``neo4j.conf`` for a loopback-only development server that requires authentication."""
    settings = {
        "dbms.security.auth_enabled": "true",
        "server.default_listen_address": HOST,
        "server.default_advertised_address": HOST,
        "server.bolt.enabled": "true",
        "server.bolt.listen_address": f"{HOST}:{bolt_port}",
        "server.bolt.advertised_address": f"{HOST}:{bolt_port}",
        "server.bolt.tls_level": "DISABLED",
        "server.http.enabled": "true",
        "server.http.listen_address": f"{HOST}:{http_port}",
        "server.http.advertised_address": f"{HOST}:{http_port}",
        "server.https.enabled": "false",
        "server.directories.data": str(instance_dir / "data"),
        "server.directories.logs": str(instance_dir / "logs"),
        "server.memory.heap.initial_size": memory_size(HEAP_ENV),
        "server.memory.heap.max_size": memory_size(HEAP_ENV),
        "server.memory.pagecache.size": memory_size(PAGECACHE_ENV),
        "dbms.usage_report.enabled": "false",
        # A throwaway dev database: do not reserve 256 MiB of transaction log per database up front.
        "db.tx_log.preallocate": "false",
        "db.tx_log.rotation.size": "32M",
    }
    lines = ["# Generated by olgraph.devservices.neo4j on every start; edits are lost."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def memory_size(variable: str, env: Mapping[str, str] | None = None) -> str:
    """The size set in ``variable`` (``HEAP_ENV`` or ``PAGECACHE_ENV``), else ``MEMORY``."""
    value = (os.environ if env is None else env).get(variable, "").strip()
    if not value:
        return MEMORY
    if not _SIZE.fullmatch(value):
        raise ServiceError(f"{variable}={value!r} is not a memory size such as 512m or 4g")
    return value


def java_command(java_home: Path, lib_dir: Path, instance_dir: Path) -> list[str]:
    """The argv that starts the server in the foreground of its own process."""
    heap = memory_size(HEAP_ENV)
    return [
        str(java_home / "bin" / "java"),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        *JVM_FLAGS,
        "-cp",
        f"{lib_dir}{os.sep}*",
        ENTRY_POINT,
        f"--home-dir={instance_dir}",
        f"--config-dir={instance_dir / 'conf'}",
    ]


def ensure_jars(paths: Neo4jPaths, java_home: Path) -> None:
    """Fetch the server jars with Maven unless ``lib/`` already holds the ones for this pom."""
    fetch_jars(paths.root, paths.lib, render_pom(), f"Neo4j {NEO4J_VERSION}", java_home)


def bolt_answers(uri: str, timeout: float = 5.0, auth: tuple[str, str] | None = None) -> bool:
    """True when the server at ``uri`` answers ``RETURN 1`` with ``auth``.

    Raises :class:`AuthError` when it answers but refuses the credentials.
    """
    try:
        with (
            GraphDatabase.driver(uri, auth=auth, connection_timeout=timeout) as driver,
            driver.session() as session,
        ):
            record = session.run("RETURN 1 AS ok").single(strict=True)
            return bool(record["ok"] == 1)
    except AuthError:
        raise
    except (DriverError, Neo4jError, OSError):
        return False


def set_initial_password(paths: Neo4jPaths, java_home: Path) -> None:
    """Give user ``neo4j`` the generated password before the system database is created.

    Neo4j reads it on the database's very first start; once the database exists this does
    nothing (:func:`_change_default_password` covers databases made without it).
    """
    if paths.system_database.exists():
        return
    env = {**os.environ, "JAVA_HOME": str(java_home), "NEO4J_HOME": str(paths.instance)}
    env["NEO4J_CONF"] = str(paths.conf_dir)
    argv = [
        str(java_home / "bin" / "java"),
        "-cp",
        f"{paths.lib}{os.sep}*",
        ADMIN_TOOL,
        "dbms",
        "set-initial-password",
        paths.password(),
    ]
    run_logged(argv, env, paths.instance / "logs" / "set-initial-password.log", ADMIN_TIMEOUT)


def _change_default_password(uri: str, password: str) -> bool:
    """Change the default password of a database made before authentication was on; False when
    the default password does not work either (someone set another one)."""
    try:
        with (
            GraphDatabase.driver(uri, auth=(USER, DEFAULT_PASSWORD), connection_timeout=5.0) as driver,
            driver.session(database="system") as session,
        ):
            session.run(
                "ALTER CURRENT USER SET PASSWORD FROM $old TO $new", old=DEFAULT_PASSWORD, new=password
            ).consume()
    except AuthError:
        return False
    progress("neo4j: changed the default password of the existing database to the generated one")
    return True


def up(
    cache_dir: Path | None = None, timeout: float = START_TIMEOUT, *, any_port: bool = False
) -> ServiceInfo:
    """Start the local Neo4j server unless it already runs, and wait until it answers queries.

    Idempotent: a healthy running server is returned as is (``started=False``). ``any_port``:
    free ports instead of 7687/7474 on a first start (later starts reuse the ports they had).
    Raises :class:`ServiceError` when no Java 17/21 JDK or ``mvn`` is found, the fetch fails, or the
    server does not answer ``RETURN 1`` within ``timeout`` seconds (the log tail is in the message).
    """
    paths = Neo4jPaths.under(cache_dir)
    with file_lock(paths.root / ".lock"):
        state = Neo4jState.from_json(read_json(paths.state_file))
        if state is not None and _is_our_server(state, paths):
            _wait_ready(paths, state, timeout)
            return _info(state, paths, running=True)
        java_home = find_java_home(JAVA_VERSIONS, os.environ.get("JAVA_HOME"))
        ensure_jars(paths, java_home)
        state = _start(paths, java_home, any_port=any_port)
        try:
            waited = _wait_ready(paths, state, timeout)
        except ServiceError:
            terminate(state.pid, grace=10.0)
            remove_file(paths.state_file)
            raise
        progress(f"neo4j ready on {state.bolt_uri} after {waited:.1f}s")
        return _info(state, paths, running=True, started=True)


def down(cache_dir: Path | None = None) -> bool:
    """Stop the local Neo4j server; return False when it was not running. Data is kept."""
    paths = Neo4jPaths.under(cache_dir)
    with file_lock(paths.root / ".lock"):
        state = Neo4jState.from_json(read_json(paths.state_file))
        running = state is not None and _is_our_server(state, paths)
        if state is not None and running:
            progress(f"stopping neo4j (pid {state.pid})…")
            terminate(state.pid)
        remove_file(paths.state_file)
        return running


def status(cache_dir: Path | None = None) -> ServiceInfo | None:
    """Describe the last started server (``running`` tells whether its process lives), or None."""
    paths = Neo4jPaths.under(cache_dir)
    state = Neo4jState.from_json(read_json(paths.state_file))
    if state is None:
        return None
    return _info(state, paths, running=_is_our_server(state, paths))


def _start(paths: Neo4jPaths, java_home: Path, *, any_port: bool = False) -> Neo4jState:
    # The last run's ports (kept in ports.json by down()) first: a restarted server keeps its address.
    well_known = {"bolt": DEFAULT_BOLT_PORT, "http": DEFAULT_HTTP_PORT}
    ports = reuse_ports(paths.root / "ports.json", well_known, any_port=any_port)
    bolt_port, http_port = ports["bolt"], ports["http"]
    if not port_is_free(http_port, reuse_address=False):
        # Neo4j's HTTP server cannot bind over TIME_WAIT connections (left by Browser clients
        # of the last run); Bolt, the address clients keep, can. Move only the HTTP port.
        http_port = choose_port(0, taken=[bolt_port])
        write_json(paths.root / "ports.json", {"bolt": bolt_port, "http": http_port})
    for folder in (paths.conf_dir, paths.instance / "data", paths.instance / "logs"):
        folder.mkdir(parents=True, exist_ok=True)
    (paths.conf_dir / "neo4j.conf").write_text(render_conf(paths.instance, bolt_port, http_port))
    set_initial_password(paths, java_home)
    remove_file(paths.console_log)
    env = {k: v for k, v in os.environ.items() if k not in {"NEO4J_HOME", "NEO4J_CONF"}}
    env["JAVA_HOME"] = str(java_home)
    progress(
        f"starting neo4j {NEO4J_VERSION} on bolt://{HOST}:{bolt_port} "
        f"(Java {java_major_version(java_home)} at {java_home})…"
    )
    pid = spawn_detached(java_command(java_home, paths.lib, paths.instance), env, paths.console_log)
    state = Neo4jState(pid, bolt_port, http_port, NEO4J_VERSION, str(java_home))
    write_json(paths.state_file, state.to_json())
    return state


def _wait_ready(paths: Neo4jPaths, state: Neo4jState, timeout: float) -> float:
    """Wait until *our* server answers on its Bolt port with the generated password.

    The socket listening on the port must belong to our process: when another server took
    the port, ours fails to bind and exits, and that is reported, never the other one.
    """
    started = time.monotonic()
    auth = (USER, paths.password())
    while True:
        if not process_alive(state.pid):
            raise ServiceError(f"neo4j (pid {state.pid}) exited during start-up\n{_log_tails(paths)}")
        ours = listens_on(state.pid, state.bolt_port)
        if ours is not False and port_accepts(state.bolt_port) and _answers(paths, state, auth):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise ServiceError(
                f"neo4j (pid {state.pid}) did not answer RETURN 1 on {state.bolt_uri} "
                f"within {timeout:.0f}s\n{_log_tails(paths)}"
            )
        time.sleep(0.5)


def _answers(paths: Neo4jPaths, state: Neo4jState, auth: tuple[str, str]) -> bool:
    try:
        return bolt_answers(state.bolt_uri, auth=auth)
    except AuthError as exc:
        if _change_default_password(state.bolt_uri, auth[1]):
            return False  # answers with the new password on the next round
        raise ServiceError(
            f"neo4j on {state.bolt_uri} refuses the password in {paths.password_file}; it was changed "
            f"outside the launcher. Stop it and delete {paths.instance / 'data'} to start afresh."
        ) from exc


def _is_our_server(state: Neo4jState, paths: Neo4jPaths) -> bool:
    return is_our_process(state.pid, ENTRY_POINT, str(paths.instance))


def _info(state: Neo4jState, paths: Neo4jPaths, running: bool, started: bool = False) -> ServiceInfo:
    return ServiceInfo(
        NAME,
        state.bolt_uri,
        state.http_url,
        state.pid,
        running,
        started,
        ui_url=f"{state.http_url}/browser/",
        user=USER,
        password=paths.password(),
    )


def _log_tails(paths: Neo4jPaths) -> str:
    neo4j_log = paths.instance / "logs" / "neo4j.log"
    return (
        f"--- {paths.console_log} ---\n{tail(paths.console_log, 20)}\n"
        f"--- {neo4j_log} ---\n{tail(neo4j_log, 40)}"
    )
