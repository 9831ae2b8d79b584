"""Build Marquez 0.50.0 from its source tarball and run it on a private PostgreSQL cluster.

Used by the peer benchmark (``bench/peer.py``) and by the differential tests
(``tests/marquez/``). Maven Central does not serve Marquez's jar, so the peer comes as a source
tarball (Marquez's ``api`` and Java client sources with a Maven ``pom.xml``): its path is
``$OLGRAPH_MARQUEZ_TARBALL``, else the copy kept beside this repository (see
docs/migrating-from-marquez.md). Nothing of Marquez is committed. The tarball is copied to a
scratch folder, unpacked and compiled with ``mvn`` (its dependencies come from Maven Central
into ``~/.m2``); the build is cached under the services cache, keyed by the tarball's digest::

    <services cache>/marquez/build-<digest>/   the unpacked source, target/classes, classpath.txt
    <work dir>/marquez/pgdata/                 a fresh PostgreSQL cluster per start (user postgres)
    <work dir>/marquez/marquez.yml, .log       Marquez's configuration and console output

PostgreSQL comes from Debian (installed with ``apt-get`` when missing); everything listens on
127.0.0.1, on ports chosen free at start.

Example::

    with marquez_server(Path("/tmp/bench-work")) as marquez:
        httpx.post(f"{marquez.url}/api/v1/lineage", json=event)  # 201: stored
        print(marquez.rss_mib())
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from _support import apt_install, log, proc_memory_mib

from olgraph.devservices._common import (
    choose_port,
    file_lock,
    find_java_home,
    process_alive,
    run_logged,
    run_maven,
    services_root,
    spawn_detached,
    tail,
    terminate,
)
from olgraph.errors import ServiceError

MARQUEZ_VERSION = "0.50.0"
MAIN_CLASS = "marquez.MarquezApp"
JAVA_VERSIONS = (17,)  # what Marquez 0.50 is built for and tested on
TARBALL_ENV = "OLGRAPH_MARQUEZ_TARBALL"
DEFAULT_TARBALL = (
    Path(__file__).resolve().parents[1].parent / "shared" / "peers" / "marquez" / "marquez-0.50.0-mvn.tar.gz"
)
SOURCE_DIR = "marquez-mvn"  # the tarball's top folder
HOST = "127.0.0.1"
DB_NAME = DB_USER = DB_PASSWORD = "marquez"
HEAP = "2g"  # as the dev Neo4j's heap in the benchmarks
PG_SHARED_BUFFERS = "1GB"
START_TIMEOUT = 300.0  # Flyway applies ~90 migrations on the first start
PG_TIMEOUT = 120.0
BUILD_MARKER = "build.complete"


@dataclass
class MarquezServer:
    """A running Marquez: its API ``url``, JVM ``pid``, the log to read when it misbehaves and
    the pid of its PostgreSQL's postmaster (whose children serve the connections)."""

    url: str
    admin_url: str
    pid: int
    log_path: Path
    postgres_pid: int

    def rss_mib(self) -> float:
        """Current resident memory of the JVM (PostgreSQL not included), MiB."""
        return proc_memory_mib(self.pid, "VmRSS")

    def peak_rss_mib(self) -> float:
        """Peak resident memory of the JVM since start, MiB."""
        return proc_memory_mib(self.pid, "VmHWM")


@dataclass(frozen=True)
class MarquezBuild:
    """A compiled Marquez: the classpath to start it with."""

    root: Path
    classpath: str


@contextlib.contextmanager
def marquez_server(
    work_dir: Path, cache_dir: Path | None = None, *, durable: bool = True, heap: str = HEAP
) -> Iterator[MarquezServer]:
    """Build (once), start Marquez on a fresh PostgreSQL, yield it; stop Java, then PostgreSQL.

    ``cache_dir``: the services cache holding the build (default ``$OLGRAPH_SERVICES_CACHE``,
    else ``~/.cache/olgraph/services``). ``durable=False`` runs PostgreSQL without fsync (tests:
    nothing there must outlive the run; the benchmark keeps fsync on).
    """
    java_home = find_java_home(JAVA_VERSIONS, os.environ.get("JAVA_HOME"))
    build = build_marquez(services_root(cache_dir) / "marquez", java_home)
    root = (work_dir / "marquez").resolve()
    root.mkdir(parents=True, exist_ok=True)
    with postgres_cluster(root, durable=durable) as pg_port:
        yield from _run_marquez(root, build, java_home, pg_port, heap)


def postmaster_pid(root: Path) -> int:
    """The running postmaster of the cluster in ``root/pgdata`` (first line of ``postmaster.pid``)."""
    return int((root / "pgdata" / "postmaster.pid").read_text().split()[0])


# --- build -----------------------------------------------------------------------------------------


def source_tarball() -> Path:
    """The Marquez source tarball: ``$OLGRAPH_MARQUEZ_TARBALL`` or the default copy; raise when absent."""
    configured = os.environ.get(TARBALL_ENV)
    path = Path(configured).expanduser() if configured else DEFAULT_TARBALL
    if not path.is_file():
        raise ServiceError(
            f"no Marquez source tarball at {path}: set {TARBALL_ENV} to marquez-{MARQUEZ_VERSION}-mvn.tar.gz"
        )
    return path


def file_digest(path: Path) -> str:
    """The sha256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_marquez(cache: Path, java_home: Path) -> MarquezBuild:
    """Compile Marquez from the tarball unless a build of the same tarball is cached; return it.

    The tarball is copied into a scratch folder first (its folder may be read-only), unpacked and
    compiled there, then moved into ``cache/build-<digest>``: an interrupted build leaves no
    half-built cache entry. A lock keeps two processes from building at once.
    """
    tarball = source_tarball()
    digest = file_digest(tarball)
    root = cache / f"build-{digest[:16]}"
    with file_lock(cache / "build.lock"):
        found = _cached_build(root, digest)
        if found is not None:
            return found
        shutil.rmtree(root, ignore_errors=True)
        log(f"building Marquez {MARQUEZ_VERSION} from {tarball.name} (first run only: ~80 s)")
        started = time.monotonic()
        scratch = Path(tempfile.mkdtemp(prefix="marquez-build-", dir=cache))
        try:
            copy = scratch / tarball.name
            shutil.copyfile(tarball, copy)
            with tarfile.open(copy) as archive:
                archive.extractall(scratch, filter="data")
            source = scratch / SOURCE_DIR
            run_maven(source, ["-DskipTests", "compile"], java_home, scratch / "mvn.log")
            (source / BUILD_MARKER).write_text(digest + "\n", encoding="utf-8")
            source.rename(root)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        log(f"Marquez built in {time.monotonic() - started:.0f}s into {root}")
        built = _cached_build(root, digest)
        if built is None:
            raise ServiceError(f"Marquez's build in {root} is incomplete (no classes or classpath)")
        return built


def _cached_build(root: Path, digest: str) -> MarquezBuild | None:
    """The build in ``root`` when it is complete, of ``digest``, and its jars are all still there."""
    marker, classpath_file = root / BUILD_MARKER, root / "target" / "classpath.txt"
    if not marker.is_file() or marker.read_text().strip() != digest or not classpath_file.is_file():
        return None
    if not (root / "target" / "classes" / "marquez" / "MarquezApp.class").is_file():
        return None
    jars = classpath_file.read_text().strip()
    if not all(Path(jar).is_file() for jar in jars.split(os.pathsep)):
        return None  # ~/.m2 was cleaned: compile again, which fetches them
    return MarquezBuild(root, f"{root / 'target' / 'classes'}{os.pathsep}{jars}")


# --- PostgreSQL ------------------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The ``bin`` folder of Debian's newest PostgreSQL, installing the package when none is there."""
    try:
        apt_install("postgresql", lambda: _installed_postgres() is not None)
    except RuntimeError as exc:
        raise ServiceError(str(exc)) from exc
    found = _installed_postgres()
    if found is None:  # apt_install checked; only a race with an uninstall gets here
        raise ServiceError("no /usr/lib/postgresql/*/bin/initdb")
    return found


def _installed_postgres() -> Path | None:
    candidates = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    return max(candidates, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, default=None)


def _reachable(path: Path) -> None:
    """Let the ``postgres`` user traverse every parent of ``path`` (o+x), as initdb needs."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


@contextlib.contextmanager
def postgres_cluster(root: Path, *, durable: bool = True) -> Iterator[int]:
    """A fresh cluster in ``root/pgdata`` on a free loopback port with Marquez's DB; yields the port.

    ``initdb`` and ``postgres`` refuse to run as root, so both run as the ``postgres`` user,
    which is given the data folder and the right to traverse its parents.
    """
    bin_dir, pgdata, log_path = postgres_bin(), root / "pgdata", root / "postgres.log"
    shutil.rmtree(pgdata, ignore_errors=True)  # fresh database per start: results must not mix
    pgdata.mkdir(parents=True)
    _reachable(root)
    shutil.chown(pgdata, "postgres", "postgres")
    initdb = [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust"]
    _as_postgres([*initdb, "-E", "UTF8", "--locale=C.UTF-8"], root / "initdb.log")
    port = choose_port(55432)
    options = (
        f"-c listen_addresses={HOST} -c port={port} -c unix_socket_directories={pgdata} "
        f"-c shared_buffers={PG_SHARED_BUFFERS} -c max_connections=200"
    )
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    pg_ctl = str(bin_dir / "pg_ctl")
    log_path.touch()
    shutil.chown(log_path, "postgres", "postgres")
    start = [pg_ctl, "start", "-w", "-t", str(int(PG_TIMEOUT)), "-D", str(pgdata), "-l", str(log_path)]
    _as_postgres([*start, "-o", options], root / "pg_ctl.log")
    try:
        _create_marquez_db(bin_dir, port, root / "psql.log")
        yield port
    finally:
        with contextlib.suppress(ServiceError):
            _as_postgres([pg_ctl, "stop", "-w", "-m", "fast", "-D", str(pgdata)], root / "pg_ctl.log")
        shutil.rmtree(pgdata, ignore_errors=True)


def _as_postgres(argv: list[str], log_path: Path) -> None:
    """Run a PostgreSQL tool as the ``postgres`` user; raise with its output when it fails."""
    if not shutil.which("runuser"):
        raise ServiceError("runuser (util-linux) not found: it runs PostgreSQL as the postgres user")
    try:
        run_logged(["runuser", "-u", "postgres", "--", *argv], os.environ, log_path, PG_TIMEOUT)
    except ServiceError as exc:
        raise ServiceError(f"{Path(argv[0]).name} failed:\n{exc}") from exc


def _create_marquez_db(bin_dir: Path, port: int, log_path: Path) -> None:
    statements = (
        f"CREATE USER {DB_USER} WITH PASSWORD '{DB_PASSWORD}'",
        f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}",
    )
    psql = [str(bin_dir / "psql"), "-h", HOST, "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
    for sql in statements:
        run_logged([*psql, "-c", sql], os.environ, log_path, PG_TIMEOUT)


# --- Marquez ---------------------------------------------------------------------------------------


def render_config(app_port: int, admin_port: int, pg_port: int) -> str:
    """``marquez.yml``: loopback ports, the private database, migrations on start.

    As Marquez's example configuration: ``httpCompliance`` legacy, the two tags it seeds (PII,
    SENSITIVE), search (OpenSearch) off. GraphQL is off (nothing here uses it).
    """
    return f"""# Generated by bench/marquez.py
server:
  applicationConnectors:
    - type: http
      bindHost: {HOST}
      port: {app_port}
      httpCompliance: RFC7230_LEGACY
  adminConnectors:
    - type: http
      bindHost: {HOST}
      port: {admin_port}
db:
  driverClass: org.postgresql.Driver
  url: jdbc:postgresql://{HOST}:{pg_port}/{DB_NAME}
  user: {DB_USER}
  password: {DB_PASSWORD}
migrateOnStartup: true
graphql:
  enabled: false
search:
  enabled: false
logging:
  level: WARN
  appenders:
    - type: console
tags:
  - name: PII
    description: Personally identifiable information
  - name: SENSITIVE
    description: Contains sensitive information
"""


def _run_marquez(
    root: Path, build: MarquezBuild, java_home: Path, pg_port: int, heap: str
) -> Iterator[MarquezServer]:
    app_port = choose_port(15000)
    admin_port = choose_port(15001, taken=(app_port,))
    config, log_path = root / "marquez.yml", root / "marquez.log"
    config.write_text(render_config(app_port, admin_port, pg_port), encoding="utf-8")
    log_path.write_bytes(b"")
    argv = [str(java_home / "bin" / "java"), f"-Xmx{heap}", "-cp", build.classpath, MAIN_CLASS]
    log(f"starting Marquez {MARQUEZ_VERSION} on {HOST}:{app_port} (PostgreSQL on {pg_port})")
    pid = spawn_detached(
        [*argv, "server", str(config)], {**os.environ, "JAVA_HOME": str(java_home)}, log_path
    )
    urls = f"http://{HOST}:{app_port}", f"http://{HOST}:{admin_port}"
    server = MarquezServer(*urls, pid, log_path, postmaster_pid(root))
    try:
        _wait_ready(server)
        yield server
    finally:
        terminate(pid, grace=30.0)


def _wait_ready(server: MarquezServer) -> None:
    """Until ``GET /api/v1/namespaces`` answers 200; raise with the log tail if it dies or hangs."""
    started = time.monotonic()
    while time.monotonic() - started < START_TIMEOUT:
        if not process_alive(server.pid):
            raise ServiceError(f"Marquez exited during start:\n{tail(server.log_path)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/api/v1/namespaces", timeout=5).status_code == 200:
                log(f"Marquez ready in {time.monotonic() - started:.0f}s")
                return
        time.sleep(0.5)
    raise ServiceError(f"Marquez not ready within {START_TIMEOUT:.0f}s:\n{tail(server.log_path)}")


def main() -> int:
    """Start Marquez and keep it up until Ctrl-C (for trying the compatibility routes by hand)."""
    work = Path(tempfile.mkdtemp(prefix="olgraph-marquez-"))
    with contextlib.suppress(KeyboardInterrupt), marquez_server(work, durable=False) as marquez:
        log(f"MARQUEZ_URL={marquez.url} (Ctrl-C stops it)")
        while process_alive(marquez.pid):
            time.sleep(1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
