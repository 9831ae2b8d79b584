"""``olgraph consume`` option handling: environment first, options win; the store is Neo4j by default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from olgraph.cli.consume import build_consume_settings, consume_command, consume_startup_line


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test from an environment without OLGRAPH_* settings."""
    for name in list(os.environ):
        if name.startswith("OLGRAPH_"):
            monkeypatch.delenv(name)


def test_defaults_consume_the_default_topic_into_neo4j() -> None:
    settings = build_consume_settings()
    kafka = settings.log.kafka
    assert settings.log.kind == "kafka"
    assert (kafka.bootstrap_servers, kafka.topic, kafka.dead_letter_topic, kafka.group_id) == (
        "127.0.0.1:9092",
        "openlineage.events",
        "openlineage.events.dlq",
        "olgraph-consume",
    )
    assert settings.store.kind == "neo4j"
    assert consume_startup_line(settings, "http://127.0.0.1:9400") == (
        "olgraph 0.1.0 consume: kafka 127.0.0.1:9092 topic openlineage.events group olgraph-consume"
        " → store neo4j bolt://127.0.0.1:7687; health on http://127.0.0.1:9400"
    )


def test_env_is_used_and_options_override_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLGRAPH_LOG__KAFKA__BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    monkeypatch.setenv("OLGRAPH_LOG__KAFKA__GROUP_ID", "env-group")
    monkeypatch.setenv("OLGRAPH_LOG__KAFKA__TOPIC", "env-topic")
    monkeypatch.setenv("OLGRAPH_STORE__NEO4J__URI", "neo4j://env:7687")
    monkeypatch.setenv("OLGRAPH_STORE__NEO4J__USER", "neo4j")
    monkeypatch.setenv("OLGRAPH_STORE__NEO4J__PASSWORD", "from-env")
    from_env = build_consume_settings()
    assert from_env.log.kafka.bootstrap_servers == "k1:9092,k2:9092"
    assert (from_env.log.kafka.group_id, from_env.log.kafka.topic) == ("env-group", "env-topic")
    assert from_env.store.neo4j.uri == "neo4j://env:7687"

    given = build_consume_settings(
        kafka_bootstrap="k3:9092", group="cli-group", dead_letter_topic="cli-dlq", neo4j_uri="bolt://cli:7687"
    )
    kafka = given.log.kafka
    assert (kafka.bootstrap_servers, kafka.group_id, kafka.dead_letter_topic) == (
        "k3:9092",
        "cli-group",
        "cli-dlq",
    )
    assert kafka.topic == "env-topic"  # not given: the env's value survives in the same group
    assert given.store.neo4j.uri == "bolt://cli:7687"
    assert given.store.neo4j.password is not None
    assert given.store.neo4j.password.get_secret_value() == "from-env"
    assert "from-env" not in consume_startup_line(given, "http://127.0.0.1:9400")


def test_embedded_store_only_when_asked_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = build_consume_settings(store="embedded", data_dir=tmp_path)
    assert settings.store.kind == "embedded"
    assert settings.embedded_store_path() == tmp_path / "graph.db"
    monkeypatch.setenv("OLGRAPH_STORE__KIND", "embedded")
    assert build_consume_settings().store.kind == "embedded"
    assert build_consume_settings(store="neo4j").store.kind == "neo4j"


def test_help_names_every_option_and_its_environment_variable() -> None:
    result = CliRunner().invoke(consume_command, ["--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for text in (
        "--kafka-bootstrap",
        "OLGRAPH_LOG__KAFKA__BOOTSTRAP_SERVERS",
        "--group",
        "OLGRAPH_LOG__KAFKA__GROUP_ID",
        "--topic",
        "--dead-letter-topic",
        "--neo4j-uri",
        "OLGRAPH_STORE__NEO4J__URI",
        "--store",
        "--health-port",
        "OLGRAPH_HEALTH_PORT",
        "--log-level",
    ):
        assert text in result.output, text


def test_invalid_settings_are_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLGRAPH_CONSUMER__BATCH_SIZE", "0")
    result = CliRunner().invoke(consume_command, [])
    assert result.exit_code == 2
    assert "invalid settings" in result.output
    assert "batch_size" in result.output
