"""The local Neo4j launcher against the real server the session fixture provides."""

from __future__ import annotations

import stat
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from neo4j import Driver, GraphDatabase
from neo4j.exceptions import AuthError

from olgraph.cli.services import services
from olgraph.devservices import ServiceError, ServiceInfo
from olgraph.devservices import neo4j as launcher
from service_paths import Launched, launched_server

pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def started(neo4j_uri: str) -> Iterator[Launched]:
    """A launcher-started server: the session's, or one of these tests' own (never a skip)."""
    yield from launched_server(launcher, neo4j_uri)


@pytest.fixture
def launched(started: Launched) -> ServiceInfo:
    return started.info


def test_the_server_answers_a_query(neo4j_driver: Driver) -> None:
    records, _, _ = neo4j_driver.execute_query("RETURN 1 AS one")

    assert [record["one"] for record in records] == [1]


def test_status_reports_the_running_server(launched: ServiceInfo) -> None:
    assert launched.running
    assert launched.uri.startswith("bolt://127.0.0.1:")
    assert launched.http_url is not None
    assert launched.http_url.startswith("http://127.0.0.1:")


def test_up_is_idempotent(started: Launched, launched: ServiceInfo) -> None:
    again = launcher.up(started.cache_dir)

    assert (again.uri, again.pid, again.running, again.started) == (launched.uri, launched.pid, True, False)


@pytest.fixture
def leftover_node(neo4j_driver: Driver) -> None:
    """A node from an imaginary earlier test, created before ``clean_neo4j`` runs."""
    neo4j_driver.execute_query("CREATE (:LauncherTestLeftover)-[:LINKS]->(:LauncherTestLeftover)")


def test_clean_neo4j_empties_the_database(
    neo4j_driver: Driver, leftover_node: None, clean_neo4j: None
) -> None:
    records, _, _ = neo4j_driver.execute_query("MATCH (n) RETURN count(n) AS nodes")

    assert records[0]["nodes"] == 0


def test_cli_status_and_up_print_one_line_per_service(started: Launched, launched: ServiceInfo) -> None:
    runner = CliRunner()
    cache = ["--cache-dir", str(started.cache_dir)]

    status = runner.invoke(services, ["status", "neo4j", *cache])
    up = runner.invoke(services, ["up", "neo4j", *cache])

    password = (started.cache_dir / "neo4j" / "password").read_text().strip()
    credentials = f"user neo4j password {password}"
    browser = f"(browser: {launched.http_url}/browser/)"
    assert (status.exit_code, status.stdout) == (0, f"neo4j {launched.uri} running {credentials} {browser}\n")
    assert (up.exit_code, up.stdout) == (0, f"neo4j {launched.uri} {credentials} {browser}\n")


def test_the_server_requires_the_generated_password(started: Launched, launched: ServiceInfo) -> None:
    """A CREATE from any local process without the password is refused."""
    password_file = started.cache_dir / "neo4j" / "password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert (launched.user, launched.password) == ("neo4j", password_file.read_text().strip())
    with pytest.raises(AuthError):
        launcher.bolt_answers(launched.uri)
    with GraphDatabase.driver(launched.uri, auth=("neo4j", "neo4j")) as driver, pytest.raises(AuthError):
        driver.execute_query("CREATE (:Intruder)")
    assert launcher.bolt_answers(launched.uri, auth=("neo4j", password_file.read_text().strip()))


def test_up_never_reports_another_server_as_its_own(
    tmp_path: Path, launched: ServiceInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two checkouts starting at once may both pick a port that is free at that moment; the one
    whose server then cannot bind it must fail, not report the other's server as its own (it did:
    the readiness probe only asked whoever answered on the port)."""
    taken = {
        "bolt": int(launched.uri.rpartition(":")[2]),
        "http": int(str(launched.http_url).rpartition(":")[2]),
    }
    monkeypatch.setattr(launcher, "reuse_ports", lambda *_args, **_kw: dict(taken))
    with pytest.raises(ServiceError, match="exited during start-up"):
        launcher.up(tmp_path / "services", timeout=120)
    assert launcher.status(tmp_path / "services") is None


def test_neo4j_browser_is_served(launched: ServiceInfo) -> None:
    """Analysts open Neo4j Browser at the URL ``olgraph services status`` prints."""
    assert launched.ui_url == f"{launched.http_url}/browser/"
    with urllib.request.urlopen(launched.ui_url, timeout=10) as response:
        assert response.status == 200
        assert b"<title>Neo4j Browser" in response.read()


def test_cli_rejects_an_unknown_service() -> None:
    result = CliRunner().invoke(services, ["status", "nosuch"])

    assert result.exit_code == 2
    assert "unknown service nosuch; choose from kafka, neo4j" in result.output
