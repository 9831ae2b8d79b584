"""``olgraph serve`` option handling: environment first, command-line options win."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from olgraph.cli import main
from olgraph.cli.serve import build_settings, describe_store, startup_line


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test from an environment without OLGRAPH_* settings."""
    for name in list(os.environ):
        if name.startswith("OLGRAPH_"):
            monkeypatch.delenv(name)


def test_defaults_without_env_or_options() -> None:
    settings = build_settings()
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 5000)
    assert settings.store.kind == "embedded"
    assert startup_line(settings, "127.0.0.1", 5000) == (
        "olgraph 0.1.0 listening on http://127.0.0.1:5000 (store: embedded .olgraph/graph.db)"
    )


def test_env_is_used_and_options_override_it_group_by_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLGRAPH_SERVER__HOST", "127.0.0.2")
    monkeypatch.setenv("OLGRAPH_SERVER__PORT", "6000")
    monkeypatch.setenv("OLGRAPH_DATA_DIR", "/srv/env-dir")
    from_env = build_settings()
    assert (from_env.server.host, from_env.server.port, from_env.data_dir) == (
        "127.0.0.2",
        6000,
        Path("/srv/env-dir"),
    )
    # --port wins over the env, and the env's host (same group) survives the override
    mixed = build_settings(port=7000, data_dir=Path("/srv/cli-dir"))
    assert (mixed.server.host, mixed.server.port) == ("127.0.0.2", 7000)
    assert mixed.embedded_store_path() == Path("/srv/cli-dir/graph.db")


def test_neo4j_uri_selects_the_neo4j_store_and_keeps_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLGRAPH_STORE__NEO4J__USER", "neo4j")
    monkeypatch.setenv("OLGRAPH_STORE__NEO4J__PASSWORD", "from-env")
    settings = build_settings(neo4j_uri="neo4j://db:7687")
    assert settings.store.kind == "neo4j"
    assert settings.store.neo4j.user == "neo4j"
    assert settings.store.neo4j.password is not None
    assert settings.store.neo4j.password.get_secret_value() == "from-env"
    assert describe_store(settings) == "neo4j neo4j://db:7687"
    assert "from-env" not in startup_line(settings, "::1", 80)
    assert "http://[::1]:80" in startup_line(settings, "::1", 80)


def test_neo4j_credentials_alone_do_not_switch_stores() -> None:
    settings = build_settings(neo4j_user="u", neo4j_password="p")
    assert settings.store.kind == "embedded"
    assert settings.store.neo4j.user == "u"


def test_invalid_env_is_a_usage_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLGRAPH_SERVER__PORT", "not-a-port")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2
    assert "invalid settings" in result.output
    assert "port" in result.output


def test_refuses_a_public_interface_without_api_keys() -> None:
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "without API keys" in result.output


def test_help_names_the_environment_variables() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for name in (
        "OLGRAPH_SERVER__PORT",
        "OLGRAPH_DATA_DIR",
        "OLGRAPH_STORE__NEO4J__URI",
        "OLGRAPH_LOG_LEVEL",
    ):
        assert name in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == "olgraph, version 0.1.0\n"


def test_client_variables_in_the_environment_do_not_upset_the_server_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OLGRAPH_URL/OLGRAPH_API_KEY (for lineage/impact) and OLGRAPH_LOG_LEVEL are not Settings fields."""
    for name, value in {
        "OLGRAPH_URL": "http://x",
        "OLGRAPH_API_KEY": "k",
        "OLGRAPH_LOG_LEVEL": "debug",
    }.items():
        monkeypatch.setenv(name, value)
    assert build_settings(port=5001).server.port == 5001


def test_a_data_dir_that_cannot_be_used_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Opening the store fails before the server starts: one line saying why, exit status 1
    (tests/faults/test_disk_full.py does it on a really read-only filesystem)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(blocker / "data"), "--port", "0"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: cannot start: cannot use the embedded store {blocker}/data/graph.db: "
        f"cannot create {blocker}/data: Not a directory"
    ]
