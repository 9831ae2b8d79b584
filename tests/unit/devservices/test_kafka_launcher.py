"""The pure parts of the local Kafka launcher: config, pom, argv, cluster id, ports, JDK, state, jars."""

from __future__ import annotations

import base64
import os
import socket
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from olgraph.devservices import ServiceError, _common, launchers
from olgraph.devservices import kafka as launcher
from olgraph.devservices._common import find_java_home, process_alive, read_json, reuse_ports, write_json
from olgraph.devservices.kafka import KafkaPaths, KafkaState


def _settings(text: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")]
    keys = [key.strip() for key, _ in pairs]
    assert len(keys) == len(set(keys)), "a setting appears twice"
    return {key.strip(): value.strip() for key, value in pairs}


def _fake_jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "release").write_text(f'JAVA_VERSION="{version}"\n')
    return home


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _exited_child_pid() -> int:
    pid = os.posix_spawn(sys.executable, [sys.executable, "-c", "pass"], dict(os.environ))
    deadline = time.monotonic() + 30
    while process_alive(pid):
        assert time.monotonic() < deadline, "child did not exit"
        time.sleep(0.05)
    return pid


# --- server.properties, log config, pom, argv -------------------------------------------------------


def test_server_is_a_single_kraft_node_on_loopback(tmp_path: Path) -> None:
    settings = _settings(
        launcher.render_server_properties(tmp_path / "data", port=19092, controller_port=19093)
    )

    assert settings["process.roles"] == "broker,controller"
    assert settings["node.id"] == "1"
    assert settings["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert (
        "controller.quorum.bootstrap.servers" not in settings
    )  # static quorum: see render_server_properties
    assert settings["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert settings["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert settings["controller.listener.names"] == "CONTROLLER"
    assert settings["log.dirs"] == str(tmp_path / "data")


def test_server_settings_fit_one_node_and_make_partitioning_real(tmp_path: Path) -> None:
    settings = _settings(launcher.render_server_properties(tmp_path, 1, 2))

    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "default.replication.factor",
    ):
        assert settings[key] == "1", key
    assert settings["num.partitions"] == "3"
    assert settings["auto.create.topics.enable"] == "true"
    assert settings["group.initial.rebalance.delay.ms"] == "0"
    assert int(settings["log.segment.bytes"]) <= 64 * 1024 * 1024
    assert int(settings["log.cleaner.dedupe.buffer.size"]) <= 32 * 1024 * 1024


def test_logging_goes_to_files_under_logs_only(tmp_path: Path) -> None:
    config = _settings(launcher.render_log_config(tmp_path / "logs"))

    appender_types = {
        value
        for key, value in config.items()
        if key.startswith("appender.") and key.count(".") == 2 and key.endswith(".type")
    }
    assert appender_types == {"RollingFile"}  # no Console appender
    assert config["appender.server.fileName"] == str(tmp_path / "logs" / "server.log")
    assert config["rootLogger.level"] == "INFO"
    assert config["shutdownHook"] == "disable"


def test_pom_pins_the_broker_and_a_log4j2_binding() -> None:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    pom = ET.fromstring(launcher.render_pom())

    deps = [
        tuple(d.findtext(f"m:{part}", namespaces=ns) for part in ("groupId", "artifactId", "version"))
        for d in pom.findall("m:dependencies/m:dependency", ns)
    ]
    assert deps == [
        ("org.apache.kafka", "kafka_2.13", "4.3.1"),
        ("org.apache.logging.log4j", "log4j-slf4j-impl", launcher.LOG4J_VERSION),
    ]


def test_java_command_uses_the_chosen_jdk_classpath_and_log_config(tmp_path: Path) -> None:
    argv = launcher.java_command(
        Path("/jdk17"), tmp_path / "lib", tmp_path / "log4j2.properties", "kafka.Kafka", "server.properties"
    )

    assert argv[0] == "/jdk17/bin/java"
    assert "-Xmx512m" in argv
    assert f"-Dlog4j2.configurationFile={tmp_path / 'log4j2.properties'}" in argv
    assert argv[argv.index("-cp") + 1] == f"{tmp_path / 'lib'}/*"
    assert argv[-2:] == ["kafka.Kafka", "server.properties"]


def test_format_keeps_formatted_log_dirs() -> None:
    args = launcher.format_args("abc", Path("/x/server.properties"))

    assert args[0] == "format"
    assert args[args.index("--cluster-id") + 1] == "abc"
    assert args[args.index("--config") + 1] == "/x/server.properties"
    assert "--ignore-formatted" in args


# --- cluster id -------------------------------------------------------------------------------------


def test_new_cluster_ids_are_kafka_uuids() -> None:
    ids = {launcher.new_cluster_id() for _ in range(200)}

    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_cluster_id_is_read_back_from_formatted_storage(tmp_path: Path) -> None:
    assert launcher.formatted_cluster_id(tmp_path) is None

    (tmp_path / "meta.properties").write_text("#\nnode.id=1\nversion=1\ncluster.id=r0OM4nUiQOq1nq3MJu4t7Q\n")
    assert launcher.formatted_cluster_id(tmp_path) == "r0OM4nUiQOq1nq3MJu4t7Q"


# --- ports ------------------------------------------------------------------------------------------


def test_ports_default_when_nothing_is_remembered(tmp_path: Path) -> None:
    defaults = {"port": _free_port(), "controller_port": _free_port()}

    assert reuse_ports(tmp_path / "ports.json", defaults) == defaults
    assert read_json(tmp_path / "ports.json") == defaults


def test_a_restart_prefers_the_remembered_ports(tmp_path: Path) -> None:
    remembered = {"port": _free_port(), "controller_port": _free_port()}
    write_json(tmp_path / "ports.json", remembered)

    assert reuse_ports(tmp_path / "ports.json", {"port": 9092, "controller_port": 9093}) == remembered


def test_ports_to_avoid_are_not_taken_even_when_remembered(tmp_path: Path) -> None:
    """A dev service asked for free ports must not take the well-known ones its folder
    remembers from an earlier start that had them (another server may expect them)."""
    well_known = {"port": _free_port(), "controller_port": _free_port()}
    write_json(tmp_path / "ports.json", well_known)

    chosen = reuse_ports(tmp_path / "ports.json", well_known, any_port=True)

    assert not set(chosen.values()) & set(well_known.values())
    assert chosen["port"] != chosen["controller_port"]
    assert reuse_ports(tmp_path / "ports.json", well_known, any_port=True) == chosen  # then kept


def test_a_busy_remembered_port_is_replaced_and_never_doubled(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        busy_port = busy.getsockname()[1]
        write_json(tmp_path / "ports.json", {"port": busy_port, "controller_port": "junk"})

        chosen = reuse_ports(tmp_path / "ports.json", {"port": 9092, "controller_port": busy_port})

    assert busy_port not in chosen.values()
    assert chosen["port"] != chosen["controller_port"]
    assert read_json(tmp_path / "ports.json") == chosen


# --- JDK ----------------------------------------------------------------------------------------------


def test_the_broker_gets_a_java_17_or_21_jdk_never_a_newer_default(tmp_path: Path) -> None:
    jvm = tmp_path / "jvm"
    temurin25 = _fake_jdk(jvm, "temurin-25-jdk-amd64", "25.0.3")
    jdk17 = _fake_jdk(jvm, "java-17-openjdk-amd64", "17.0.15")

    assert launcher.JAVA_VERSIONS == (17, 21)
    assert find_java_home(launcher.JAVA_VERSIONS, str(temurin25), roots=[jvm]) == jdk17.resolve()


# --- state, CLI registration, lifecycle without a broker ---------------------------------------------


def test_state_round_trips_through_the_json_file(tmp_path: Path) -> None:
    state = KafkaState(42, 9092, 9093, "r0OM4nUiQOq1nq3MJu4t7Q", "4.3.1", "/jdk")
    write_json(tmp_path / "state.json", state.to_json())

    assert KafkaState.from_json(read_json(tmp_path / "state.json")) == state
    assert state.bootstrap_servers == "127.0.0.1:9092"


@pytest.mark.parametrize("content", ["", "[]", "{not json", '{"pid": 1}', '{"pid": 1, "port": "x"}'])
def test_corrupt_or_partial_state_reads_as_none(tmp_path: Path, content: str) -> None:
    (tmp_path / "state.json").write_text(content)

    assert KafkaState.from_json(read_json(tmp_path / "state.json")) is None


def test_kafka_is_a_registered_service() -> None:
    services = launchers()

    assert services["kafka"] is launcher
    assert list(services) == ["neo4j", "kafka"]


def test_status_and_down_without_a_broker(tmp_path: Path) -> None:
    assert launcher.status(tmp_path) is None
    assert launcher.down(tmp_path) is False


def test_status_reports_a_dead_pid_as_stopped_and_down_forgets_it(tmp_path: Path) -> None:
    paths = KafkaPaths.under(tmp_path)
    paths.root.mkdir(parents=True)
    write_json(paths.state_file, KafkaState(_exited_child_pid(), 1, 2, "id", "4.3.1", "/jdk").to_json())

    info = launcher.status(tmp_path)
    assert info is not None
    assert (info.name, info.uri, info.running, info.http_url) == ("kafka", "127.0.0.1:1", False, None)
    assert launcher.down(tmp_path) is False
    assert not paths.state_file.exists()


def test_a_broker_that_dies_during_start_up_is_reported_with_its_logs(tmp_path: Path) -> None:
    paths = KafkaPaths.under(tmp_path)
    paths.logs.mkdir(parents=True)
    (paths.logs / "server.log").write_text("ERROR Exiting Kafka due to fatal exception\n")
    state = KafkaState(_exited_child_pid(), _free_port(), _free_port(), "id", "4.3.1", "/jdk")

    with pytest.raises(ServiceError, match="exited during start-up") as caught:
        launcher._wait_ready(paths, state, timeout=5)
    assert "Exiting Kafka due to fatal exception" in str(caught.value)


def test_nothing_listening_is_not_ready() -> None:
    assert launcher.broker_answers(f"127.0.0.1:{_free_port()}", timeout=2) is False


def test_jars_are_fetched_once_per_pom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_maven(project_dir: Path, goals: list[str], java_home: Path, log_path: Path) -> None:
        calls.append(goals)
        (project_dir / "lib").mkdir()
        (project_dir / "lib" / "kafka_2.13-4.3.1.jar").write_bytes(b"")

    monkeypatch.setattr(_common, "run_maven", fake_maven)
    paths = KafkaPaths.under(tmp_path)

    launcher.ensure_jars(paths, Path("/jdk"))
    launcher.ensure_jars(paths, Path("/jdk"))
    assert len(calls) == 1
    assert "-DoutputDirectory=lib" in calls[0]
    assert "kafka_2.13" in (paths.root / "pom.xml").read_text()

    (paths.root / "lib.complete").write_text("a different pom\n")
    launcher.ensure_jars(paths, Path("/jdk"))
    assert len(calls) == 2
