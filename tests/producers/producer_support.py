"""What the producer scenarios share: cached toolchains, an olgraph server with API keys, and a
view of the graph it holds.

**Toolchains.** Each producer runs unmodified from its own registry package, in its own
virtualenv (pyspark, Airflow and dbt conflict with olgraph's dev dependencies and with each
other) or Maven lib folder. They are built by the fixtures themselves on first use, in the
checkout's private test-services folder beside the test Neo4j and Kafka
(``<checkout>/.cache/test-services`` or ``$OLGRAPH_TEST_SERVICES_CACHE``), in
``producers/<name>-<digest>``, the digest covering what is installed: a fresh clone's ``make
test`` provisions everything, later runs reuse it, and changing a pinned version builds
afresh. A lock file keeps two sessions from building the same one at once;
``producers/provision.log`` records how long each build took.

**The server.** ``olgraph serve`` (embedded store, in ``conftest.py``) with two API keys: ``ingest`` for the
producer and ``read`` for the assertions, behind a recording proxy so the tests see each
request as the producer put it on the wire (gzip, Bearer key).

**The graph.** Assertions go only through the public query API (``producer_graph.Graph``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from olgraph.devservices._common import (
    choose_port,
    fetch_jars,
    file_lock,
    find_java_home,
    tail,
)
from service_paths import TEST_SERVICES_CACHE

REPO = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 1800.0  # seconds: a cold pip install of Airflow or pyspark on a busy machine
PROVISION_TIMEOUT = 2400.0
"""pytest-timeout for a producer test: the first one of a module builds its toolchain (minutes on
a fresh machine: Airflow alone downloads for about five)."""
DEPENDENCY_PLUGIN_VERSION = "3.8.1"


def _load_e2e_support() -> Any:
    """tests/e2e/e2e_support.py by path: its server, proxy and report helpers serve here too."""
    name = "olgraph_e2e_support"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "e2e" / "e2e_support.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


E2E = _load_e2e_support()
INGEST = E2E.ApiKeySpec("producer", "ingest", "producer-ingest-secret")
READ = E2E.ApiKeySpec("tests", "read", "producer-read-secret")


# --- toolchains ------------------------------------------------------------------------------------


def producers_cache() -> Path:
    """``<test services>/producers``: one folder per toolchain, plus the lock files and the log."""
    root = TEST_SERVICES_CACHE / "producers"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _note(line: str) -> None:
    with (producers_cache() / "provision.log").open("a", encoding="utf-8") as log:
        log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")


def python_env(name: str, requirements: Sequence[str]) -> Path:
    """The ``bin`` folder of a virtualenv holding ``requirements`` (built once, then reused)."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    root = producers_cache() / f"{name}-{_digest(python, sorted(requirements))}"
    marker, bin_dir = root / "complete", root / "venv" / "bin"
    with file_lock(producers_cache() / f"{name}.lock"):
        if marker.is_file():
            return bin_dir
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        started = time.monotonic()
        venv.EnvBuilder(with_pip=True).create(root / "venv")
        log = root / "pip.log"
        with log.open("wb") as out:
            result = subprocess.run(
                [str(bin_dir / "pip"), "install", "--quiet", *requirements],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=INSTALL_TIMEOUT,
                check=False,
                env={k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))},
            )
        if result.returncode != 0:
            pytest.fail(f"cannot install {name} ({' '.join(requirements)}):\n{tail(log)}", pytrace=False)
        marker.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        _note(f"built {root.name} in {time.monotonic() - started:.0f}s")
    return bin_dir


def maven_lib(name: str, artifacts: Sequence[str]) -> Path:
    """A folder with the jars of ``artifacts`` (``group:artifact:version``) and their dependencies."""
    template = (
        "    <dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version></dependency>"
    )
    dependencies = "\n".join(template.format(*artifact.split(":")) for artifact in artifacts)
    pom = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>olgraph.tests</groupId><artifactId>{name}</artifactId><version>1</version>
  <dependencies>
{dependencies}
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId>
    <version>{DEPENDENCY_PLUGIN_VERSION}</version>
  </plugin></plugins></build>
</project>
"""
    root = producers_cache() / f"{name}-{_digest(pom)}"
    with file_lock(producers_cache() / f"{name}.lock"):
        started = time.monotonic()
        fetched = not (root / "lib.complete").is_file()
        fetch_jars(root, root / "lib", pom, name, java_home())
        if fetched:
            _note(f"fetched {root.name} in {time.monotonic() - started:.0f}s")
    return root / "lib"


def java_home() -> Path:
    """A Java 17 or 21 JDK (what Spark 4 and the Java client here are run and compiled with)."""
    return find_java_home((17, 21), os.environ.get("JAVA_HOME"))


def run_logged(
    argv: Sequence[str], log: Path, env: Mapping[str, str], cwd: Path, timeout: float = 600.0
) -> None:
    """Run a producer command to completion, output into ``log``; fail the test with its tail."""
    with log.open("ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        result = subprocess.run(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    assert result.returncode == 0, f"{argv[0]} exited with {result.returncode}:\n{tail(log, 80)}"


def producer_env(bin_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """Our environment without olgraph's, OpenLineage's or Python's settings, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OLGRAPH_", "OPENLINEAGE", "PYTHON", "VIRTUAL_ENV", "JAVA_TOOL", "SPARK_"))
    }
    if bin_dir is not None:
        env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    return env | extra


# --- helpers -----------------------------------------------------------------------------------------


def wait_for(condition: Any, what: str, timeout: float = 120.0) -> Any:
    """Poll ``condition()`` until it returns something truthy (bounded); fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def field_key(namespace: str, name: str, column: str) -> str:
    return f"field:{namespace}:{name}#{column}"


# --- PostgreSQL -------------------------------------------------------------------------------------


@dataclass
class Postgres:
    """A private PostgreSQL cluster on a loopback port (trust auth for ``postgres``)."""

    bin_dir: Path
    port: int
    root: Path

    def psql(self, database: str, sql: str) -> str:
        """Run ``sql`` in ``database``; its unaligned, tuples-only output."""
        done = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def postgres_bin() -> Path:
    """Debian's newest PostgreSQL ``bin`` folder, installing the package when none is there."""

    def found() -> Path | None:
        candidates = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
        return max(
            candidates, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, default=None
        )

    if found() is None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
        ):
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)
            if done.returncode != 0:
                pytest.fail(f"PostgreSQL is missing and {' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    bin_dir = found()
    assert bin_dir is not None, "apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb"
    return bin_dir


@contextlib.contextmanager
def postgres_cluster(databases: Sequence[str]) -> Iterator[Postgres]:
    """A fresh cluster with ``databases``, stopped and removed at the end.

    ``initdb`` and ``postgres`` refuse to run as root, so they run as the ``postgres`` user, in
    a folder under /tmp (the services cache may sit under a home folder that user cannot reach).
    """
    bin_dir = postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="olgraph-pg-"))
    root.chmod(0o755)
    pgdata, log = root / "pgdata", root / "postgres.log"
    pgdata.mkdir()
    log.touch()
    for path in (pgdata, log):
        shutil.chown(path, "postgres", "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    initdb = [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    run_logged([*as_postgres, *initdb, "--locale=C.UTF-8"], root / "initdb.log", os.environ, root)
    port = choose_port(55432)
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={pgdata}"
    pg_ctl = [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(pgdata)]
    run_logged(
        [*pg_ctl, "start", "-w", "-t", "120", "-l", str(log), "-o", options],
        root / "pg_ctl.log",
        os.environ,
        root,
        timeout=180,
    )
    try:
        cluster = Postgres(bin_dir, port, root)
        for database in databases:
            cluster.psql("postgres", f"CREATE DATABASE {database}")
        yield cluster
    finally:
        run_logged([*pg_ctl, "stop", "-w", "-m", "fast"], root / "pg_ctl.log", os.environ, root, timeout=180)
        shutil.rmtree(root, ignore_errors=True)
