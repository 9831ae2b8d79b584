"""The pure parts of the local Neo4j launcher: config, JDK choice, ports, state, jar caching."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from olgraph.devservices import ServiceError, _common
from olgraph.devservices import neo4j as launcher
from olgraph.devservices._common import (
    choose_port,
    find_java_home,
    java_major_version,
    listens_on,
    port_is_free,
    process_alive,
    read_json,
    services_root,
    write_json,
)
from olgraph.devservices.neo4j import Neo4jPaths, Neo4jState


def _conf_settings(text: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")]
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), "a setting appears twice"
    return dict(pairs)


def _fake_jdk(root: Path, name: str, version: str | None) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    if version is not None:
        (home / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{version}"\n')
    return home


# --- neo4j.conf, pom.xml, java argv -----------------------------------------------------------------


def test_conf_is_loopback_only_and_requires_authentication(tmp_path: Path) -> None:
    settings = _conf_settings(launcher.render_conf(tmp_path, bolt_port=17687, http_port=17474))

    assert settings["dbms.security.auth_enabled"] == "true"
    assert settings["server.bolt.listen_address"] == "127.0.0.1:17687"
    assert settings["server.http.listen_address"] == "127.0.0.1:17474"
    assert settings["server.https.enabled"] == "false"
    assert settings["server.default_listen_address"] == "127.0.0.1"


def test_conf_keeps_data_and_logs_in_the_instance_and_memory_modest(tmp_path: Path) -> None:
    settings = _conf_settings(launcher.render_conf(tmp_path, 1, 2))

    assert settings["server.directories.data"] == str(tmp_path / "data")
    assert settings["server.directories.logs"] == str(tmp_path / "logs")
    assert settings["server.memory.pagecache.size"] == "512m"
    assert settings["server.memory.heap.max_size"] == "512m"
    assert settings["dbms.usage_report.enabled"] == "false"


def test_memory_sizes_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(launcher.HEAP_ENV, "2g")
    monkeypatch.setenv(launcher.PAGECACHE_ENV, "6g")

    settings = _conf_settings(launcher.render_conf(tmp_path, 1, 2))
    argv = launcher.java_command(Path("/jdk17"), tmp_path / "lib", tmp_path / "instance")

    assert settings["server.memory.heap.max_size"] == "2g"
    assert settings["server.memory.pagecache.size"] == "6g"
    assert "-Xmx2g" in argv
    assert "-Xms2g" in argv


@pytest.mark.parametrize("value", ["lots", "0g", "-1g", "4 g", "4t"])
def test_a_bad_memory_size_names_the_variable(value: str) -> None:
    with pytest.raises(ServiceError, match=launcher.PAGECACHE_ENV):
        launcher.memory_size(launcher.PAGECACHE_ENV, env={launcher.PAGECACHE_ENV: value})


def test_pom_depends_on_the_pinned_server_and_browser() -> None:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    pom = ET.fromstring(launcher.render_pom())

    deps = [
        tuple(d.findtext(f"m:{part}", namespaces=ns) for part in ("groupId", "artifactId", "version"))
        for d in pom.findall("m:dependencies/m:dependency", ns)
    ]
    assert deps == [("org.neo4j", "neo4j", "5.26.30"), ("org.neo4j.client", "neo4j-browser", "5.24.0")]


def test_java_command_uses_the_chosen_jdk_and_the_entry_point(tmp_path: Path) -> None:
    argv = launcher.java_command(Path("/jdk17"), tmp_path / "lib", tmp_path / "instance")

    assert argv[0] == "/jdk17/bin/java"
    assert "-Xmx512m" in argv
    assert argv[argv.index("-cp") + 1] == f"{tmp_path / 'lib'}/*"
    assert argv[-3:] == [
        "org.neo4j.server.CommunityEntryPoint",
        f"--home-dir={tmp_path / 'instance'}",
        f"--config-dir={tmp_path / 'instance' / 'conf'}",
    ]


# --- JDK choice -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("release", "major"), [("17.0.15", 17), ("21", 21), ("1.8.0_402", 8), ("25.0.3", 25), ("x", None)]
)
def test_java_major_version_reads_the_release_file(tmp_path: Path, release: str, major: int | None) -> None:
    assert java_major_version(_fake_jdk(tmp_path, "jdk", release)) == major


def test_jdk_choice_ignores_an_unsupported_java_home(tmp_path: Path) -> None:
    jvm = tmp_path / "jvm"
    temurin25 = _fake_jdk(jvm, "temurin-25-jdk-amd64", "25.0.3")
    _fake_jdk(jvm, "java-11-openjdk", "11.0.2")
    jdk17 = _fake_jdk(jvm, "java-17-openjdk-amd64", "17.0.15")

    assert find_java_home((17, 21), str(temurin25), roots=[jvm]) == jdk17.resolve()


def test_jdk_choice_prefers_java_home_then_the_newest_supported(tmp_path: Path) -> None:
    jvm = tmp_path / "jvm"
    jdk17 = _fake_jdk(jvm, "java-17-openjdk-amd64", "17.0.15")
    jdk21 = _fake_jdk(jvm, "java-21-openjdk-amd64", "21.0.5")
    _fake_jdk(jvm, "no-release-file", None)

    assert find_java_home((17, 21), str(jdk17), roots=[jvm]) == jdk17.resolve()
    assert find_java_home((17, 21), None, roots=[jvm]) == jdk21.resolve()


def test_jdk_choice_finds_macos_layout_and_follows_symlinks(tmp_path: Path) -> None:
    jvm = tmp_path / "jvm"
    home = _fake_jdk(jvm / "temurin-17.jdk" / "Contents", "Home", "17.0.9")
    (jvm / "alias-17").symlink_to(jvm / "temurin-17.jdk")

    assert find_java_home((17, 21), None, roots=[jvm, tmp_path / "missing"]) == home.resolve()


def test_jdk_choice_fails_clearly_without_a_supported_jdk(tmp_path: Path) -> None:
    jvm = tmp_path / "jvm"
    _fake_jdk(jvm, "temurin-25", "25.0.3")

    with pytest.raises(ServiceError, match="no Java 17 or 21 JDK found"):
        find_java_home((17, 21), None, roots=[jvm])


# --- ports and processes ----------------------------------------------------------------------------


def test_choose_port_keeps_a_free_preferred_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    assert choose_port(port) == port


def test_choose_port_avoids_busy_and_taken_ports() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        busy_port = busy.getsockname()[1]

        assert not port_is_free(busy_port)
        other = choose_port(busy_port)
        assert other != busy_port
        assert choose_port(other, taken={other}) != other


def _exited_child_pid() -> int:
    """The pid of a child that has exited but was not waited for (a zombie until reaped)."""
    pid = os.posix_spawn(sys.executable, [sys.executable, "-c", "pass"], dict(os.environ))
    deadline = time.monotonic() + 30
    while process_alive(pid):
        assert time.monotonic() < deadline, "child did not exit"
        time.sleep(0.05)
    return pid


def test_process_alive_reaps_an_exited_child() -> None:
    pid = _exited_child_pid()

    assert not process_alive(pid)
    assert process_alive(os.getpid())


# --- state and cache ----------------------------------------------------------------------------------


def test_state_round_trips_through_the_json_file(tmp_path: Path) -> None:
    state = Neo4jState(pid=42, bolt_port=7687, http_port=7474, version="5.26.30", java_home="/jdk")
    write_json(tmp_path / "state.json", state.to_json())

    assert Neo4jState.from_json(read_json(tmp_path / "state.json")) == state
    assert state.bolt_uri == "bolt://127.0.0.1:7687"
    assert state.http_url == "http://127.0.0.1:7474"


@pytest.mark.parametrize("content", ["", "[]", "{not json", '{"pid": 1}', '{"pid": "x", "bolt_port": 1}'])
def test_corrupt_or_partial_state_reads_as_none(tmp_path: Path, content: str) -> None:
    (tmp_path / "state.json").write_text(content)
    assert Neo4jState.from_json(read_json(tmp_path / "state.json")) is None


def test_services_root_precedence(tmp_path: Path) -> None:
    env = {"OLGRAPH_SERVICES_CACHE": str(tmp_path / "env")}

    assert services_root(tmp_path / "arg", env) == tmp_path / "arg"
    assert services_root(None, env) == tmp_path / "env"
    assert services_root(None, {}) == Path.home() / ".cache" / "olgraph" / "services"
    assert Neo4jPaths.under(tmp_path).lib == tmp_path / "neo4j" / "lib"


def test_status_and_down_without_a_server(tmp_path: Path) -> None:
    assert launcher.status(tmp_path) is None
    assert launcher.down(tmp_path) is False


def test_status_reports_a_dead_pid_as_stopped(tmp_path: Path) -> None:
    paths = Neo4jPaths.under(tmp_path)
    paths.root.mkdir(parents=True)
    write_json(paths.state_file, Neo4jState(_exited_child_pid(), 1, 2, "5.26.30", "/jdk").to_json())

    info = launcher.status(tmp_path)
    assert info is not None
    assert (info.name, info.uri, info.running) == ("neo4j", "bolt://127.0.0.1:1", False)
    assert launcher.down(tmp_path) is False
    assert not paths.state_file.exists()


def test_jars_are_fetched_once_per_pom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_maven(project_dir: Path, goals: list[str], java_home: Path, log_path: Path) -> None:
        calls.append(goals)
        (project_dir / "lib").mkdir()
        (project_dir / "lib" / "neo4j-5.26.30.jar").write_bytes(b"")

    monkeypatch.setattr(_common, "run_maven", fake_maven)
    paths = Neo4jPaths.under(tmp_path)

    launcher.ensure_jars(paths, Path("/jdk"))
    launcher.ensure_jars(paths, Path("/jdk"))
    assert len(calls) == 1
    assert "-DoutputDirectory=lib" in calls[0]
    assert "org.neo4j" in (paths.root / "pom.xml").read_text()

    (paths.root / "lib.complete").write_text("a different pom\n")
    launcher.ensure_jars(paths, Path("/jdk"))
    assert len(calls) == 2


def test_missing_maven_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common.shutil, "which", lambda _name: None)

    with pytest.raises(ServiceError, match="mvn not found on PATH"):
        _common.run_maven(tmp_path, ["validate"], Path("/jdk"), tmp_path / "mvn.log")


def test_a_restart_keeps_the_ports_of_the_last_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault tests stop and restart a server in their own cache dir and expect the same address."""
    spawned: list[list[str]] = []

    def fake_spawn(argv: list[str], env: object, log_path: Path) -> int:
        spawned.append(argv)
        return os.getpid()

    monkeypatch.setattr(launcher, "spawn_detached", fake_spawn)
    monkeypatch.setattr(launcher, "set_initial_password", lambda *_args: None)
    paths = Neo4jPaths.under(tmp_path)
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        remembered = {"bolt": a.getsockname()[1], "http": b.getsockname()[1]}
    paths.root.mkdir(parents=True)
    write_json(paths.root / "ports.json", remembered)

    first = launcher._start(paths, Path("/jdk"))
    launcher.remove_file(paths.state_file)  # what down() leaves behind
    second = launcher._start(paths, Path("/jdk"))

    assert (first.bolt_port, first.http_port) == (remembered["bolt"], remembered["http"])
    assert (second.bolt_port, second.http_port) == (first.bolt_port, first.http_port)
    assert (
        f"server.bolt.listen_address=127.0.0.1:{first.bolt_port}"
        in (paths.conf_dir / "neo4j.conf").read_text()
    )
    assert len(spawned) == 2


def test_the_password_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    paths = launcher.Neo4jPaths(tmp_path / "neo4j")
    first = paths.password()
    assert len(first) >= 20
    assert paths.password() == first
    assert stat.S_IMODE(paths.password_file.stat().st_mode) == 0o600
    paths.password_file.chmod(0o644)  # loosened by hand: tightened again on the next read
    assert launcher.Neo4jPaths(tmp_path / "neo4j").password() == first
    assert stat.S_IMODE(paths.password_file.stat().st_mode) == 0o600
    assert launcher.Neo4jPaths(tmp_path / "other").password() != first


def test_a_port_held_by_another_process_is_not_ours(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert listens_on(os.getpid(), port) is True
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert listens_on(child.pid, port) is False
        finally:
            child.kill()
            child.wait()
