"""The local Neo4j launcher against the real server the session fixture provides."""

from __future__ import annotations

import urllib.request

import pytest
from click.testing import CliRunner
from neo4j import Driver

from olgraph.cli.services import services
from olgraph.devservices import ServiceInfo
from olgraph.devservices import neo4j as launcher

pytestmark = pytest.mark.neo4j


@pytest.fixture
def launched(neo4j_uri: str) -> ServiceInfo:
    """The launcher's view of the session's server; skipped (with the reason) when it is not ours."""
    info = launcher.status()
    if info is None or info.uri != neo4j_uri:
        pytest.skip(f"the session's Neo4j ({neo4j_uri}) was not started by the local launcher")
    return info


def test_the_server_answers_a_query(neo4j_driver: Driver) -> None:
    records, _, _ = neo4j_driver.execute_query("RETURN 1 AS one")

    assert [record["one"] for record in records] == [1]


def test_status_reports_the_running_server(launched: ServiceInfo) -> None:
    assert launched.running
    assert launched.uri.startswith("bolt://127.0.0.1:")
    assert launched.http_url is not None
    assert launched.http_url.startswith("http://127.0.0.1:")


def test_up_is_idempotent(launched: ServiceInfo) -> None:
    again = launcher.up()

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


def test_cli_status_and_up_print_one_line_per_service(launched: ServiceInfo) -> None:
    runner = CliRunner()

    status = runner.invoke(services, ["status", "neo4j"])
    up = runner.invoke(services, ["up", "neo4j"])

    browser = f"(browser: {launched.http_url}/browser/)"
    assert (status.exit_code, status.stdout) == (0, f"neo4j {launched.uri} running {browser}\n")
    assert (up.exit_code, up.stdout) == (0, f"neo4j {launched.uri} {browser}\n")


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
