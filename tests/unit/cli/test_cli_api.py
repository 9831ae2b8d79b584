"""``olgraph api`` option handling: always the Kafka sink, environment first, options win.

(The running process is exercised in tests/integration/kafka/test_api_to_kafka.py.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from olgraph.cli import main
from olgraph.cli._server import build_settings
from olgraph.cli.api_cmd import api_options, api_startup_line
from olgraph.config import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test from an environment without OLGRAPH_* settings."""
    for name in list(os.environ):
        if name.startswith("OLGRAPH_"):
            monkeypatch.delenv(name)


def api_settings(**options: Any) -> Settings:
    """What ``olgraph api`` builds from these options (and the environment)."""
    return build_settings(**api_options(**options))


def test_defaults_send_events_to_the_default_topic_and_read_neo4j() -> None:
    settings = api_settings()
    assert settings.log.kind == "kafka"
    assert (settings.log.kafka.bootstrap_servers, settings.log.kafka.topic) == (
        "127.0.0.1:9092",
        "openlineage.events",
    )
    assert settings.store.kind == "neo4j"  # like `olgraph consume`: the replicas share one graph
    assert api_startup_line(settings, "127.0.0.1", 5000) == (
        "olgraph 0.1.0 api listening on http://127.0.0.1:5000 "
        "(events → kafka 127.0.0.1:9092 topic openlineage.events; store: neo4j bolt://127.0.0.1:7687)"
    )


def test_the_embedded_store_only_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = api_settings(store="embedded", data_dir=Path("/srv/box"))
    assert (settings.store.kind, settings.embedded_store_path()) == ("embedded", Path("/srv/box/graph.db"))
    assert api_startup_line(settings, "127.0.0.1", 1).endswith("store: embedded /srv/box/graph.db)")
    monkeypatch.setenv("OLGRAPH_STORE__KIND", "embedded")
    assert api_settings().store.kind == "embedded"
    assert api_settings(store="neo4j").store.kind == "neo4j"
    monkeypatch.delenv("OLGRAPH_STORE__KIND")
    monkeypatch.setenv("OLGRAPH_STORE__NEO4J__URI", "neo4j://env-graph:7687")
    assert (api_settings().store.kind, api_settings().store.neo4j.uri) == ("neo4j", "neo4j://env-graph:7687")


def test_serve_keeps_the_embedded_default() -> None:
    assert build_settings(log_kind="local").store.kind == "embedded"


def test_options_win_over_the_environment_group_by_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLGRAPH_LOG__KAFKA__BOOTSTRAP_SERVERS", "env-broker:9092")
    monkeypatch.setenv("OLGRAPH_LOG__KAFKA__TOPIC", "env.topic")
    monkeypatch.setenv("OLGRAPH_LOG__KAFKA__SEND_TIMEOUT_SECONDS", "3")
    from_env = build_settings(log_kind="kafka")
    assert (from_env.log.kafka.bootstrap_servers, from_env.log.kafka.topic) == (
        "env-broker:9092",
        "env.topic",
    )
    mixed = build_settings(log_kind="kafka", kafka_bootstrap="k1:9092,k2:9092")
    assert mixed.log.kafka.bootstrap_servers == "k1:9092,k2:9092"
    assert (mixed.log.kafka.topic, mixed.log.kafka.send_timeout_seconds) == ("env.topic", 3)
    assert build_settings(log_kind="kafka", kafka_topic="cli.topic").log.kafka.topic == "cli.topic"


def test_neo4j_store_and_start_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLGRAPH_STORE__NEO4J__PASSWORD", "secret")
    settings = api_settings(kafka_bootstrap="kafka:9092", neo4j_uri="neo4j://graph:7687", neo4j_user="neo4j")
    assert settings.store.kind == "neo4j"
    line = api_startup_line(settings, "::", 8080)
    assert line == (
        "olgraph 0.1.0 api listening on http://[::]:8080 "
        "(events → kafka kafka:9092 topic openlineage.events; store: neo4j neo4j://graph:7687)"
    )
    assert "secret" not in line


def test_the_log_kind_from_the_command_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """One environment can serve both commands: `serve` stays embedded, `api` always uses Kafka."""
    monkeypatch.setenv("OLGRAPH_LOG__KIND", "kafka")
    assert build_settings(log_kind="local").log.kind == "local"
    monkeypatch.setenv("OLGRAPH_LOG__KIND", "local")
    assert api_settings().log.kind == "kafka"


def test_invalid_env_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLGRAPH_LOG__KAFKA__SEND_TIMEOUT_SECONDS", "-1")
    result = CliRunner().invoke(main, ["api"])
    assert result.exit_code == 2
    assert "invalid settings" in result.output
    assert "send_timeout_seconds" in result.output


def test_refuses_a_public_interface_without_api_keys() -> None:
    result = CliRunner().invoke(main, ["api", "--host", "0.0.0.0", "--kafka-bootstrap", "k:9092"])
    assert result.exit_code == 2
    assert "without API keys" in result.output


def test_help_names_the_options_and_their_environment_variables() -> None:
    result = CliRunner().invoke(main, ["api", "--help"])
    assert result.exit_code == 0
    for name in (
        "--kafka-bootstrap",
        "--topic",
        "--host",
        "--port",
        "--neo4j-uri",
        "--neo4j-user",
        "--neo4j-password",
        "--store",
        "--data-dir",
        "--log-level",
        "OLGRAPH_LOG__KAFKA__BOOTSTRAP_SERVERS",
        "OLGRAPH_LOG__KAFKA__TOPIC",
        "OLGRAPH_SERVER__PORT",
        "OLGRAPH_STORE__NEO4J__URI",
        "OLGRAPH_STORE__KIND",
        "OLGRAPH_LOG_LEVEL",
    ):
        assert name in result.output, name


def test_api_is_listed_among_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "api" in result.output.split("Commands:")[1]
