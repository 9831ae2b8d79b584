"""What a newcomer installs really works, in fresh virtualenvs built from this checkout.

- ``pip install <checkout>`` (a wheel, as from an index) then ``olgraph serve``: it answers and
  accepts an event; the plugins' package is not in it (it is the other distribution's).
- ``make run``: installs only what serving needs (no dev tools, no MLflow, no Ray) and serves.
- ``pip install '<checkout>/integrations[mlflow]'``: the MLflow plugin with MLflow's entry
  points, and none of the server-only dependencies.

Each builds a virtualenv (pip's cache makes the downloads a one-off), so they take a minute each.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import venv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 900.0
SERVER_ONLY = {"neo4j", "neo4j-rust-ext", "aiokafka", "prometheus-client", "olgraph"}
"""Distributions a training job must not get from the plugins (MLflow 3 itself brings FastAPI)."""

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(INSTALL_TIMEOUT * 2)]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OLGRAPH_", "OPENLINEAGE", "PYTHON", "VIRTUAL_ENV", "MAKE", "MFLAGS"))
    }
    return env | extra


def _run(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        list(argv),
        cwd=cwd,
        env=env or _clean_env(),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _fresh_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin"


def _installed(bin_dir: Path) -> set[str]:
    listed = json.loads(_run([str(bin_dir / "pip"), "list", "--format", "json"], bin_dir))
    return {item["name"].lower().replace("_", "-") for item in listed}


@contextmanager
def _serving(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """Run ``argv`` (something that ends in ``olgraph serve``) until its start-up line; yield the URL."""
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        line = ""
        for line in process.stdout:  # make prints its recipe lines first
            if " listening on " in line:
                break
        assert " listening on " in line, process.stderr.read() if process.stderr else ""
        yield line.split(" listening on ")[1].split()[0]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=60)


def _answers(url: str) -> None:
    """The server is up and accepts an OpenLineage event (a 201 means it is on disk)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        event = {
            "eventType": "COMPLETE",
            "eventTime": "2026-11-20T10:00:00Z",
            "run": {"runId": "0190b7c5-0000-7000-8000-00000000c0de"},
            "job": {"namespace": "install", "name": "first"},
            "producer": "https://example.com/install-test",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        }
        assert client.post("/api/v1/lineage", json=event).status_code == 201


def test_pip_install_of_the_checkout_then_olgraph_serve_answers(tmp_path: Path) -> None:
    bin_dir = _fresh_venv(tmp_path / "venv")
    _run([str(bin_dir / "pip"), "install", "--quiet", str(REPO)], tmp_path)
    installed = _installed(bin_dir)
    assert {"olgraph", "fastapi", "uvicorn", "click", "neo4j", "aiokafka"} <= installed
    assert not {"olgraph-integrations", "mlflow-skinny", "ray", "pytest"} & installed
    site = _run([str(bin_dir / "python"), "-c", "import olgraph, sys; print(olgraph.__path__[0])"], tmp_path)
    assert not (Path(site.strip()) / "integrations").exists()  # the other distribution's files
    env = _clean_env(OLGRAPH_SERVER__PORT="0", OLGRAPH_DATA_DIR=str(tmp_path / "data"))
    with _serving([str(bin_dir / "olgraph"), "serve"], tmp_path, env) as url:
        _answers(url)


def test_make_run_installs_only_what_serving_needs(tmp_path: Path) -> None:
    venv_dir = tmp_path / "venv"
    env = _clean_env(OLGRAPH_SERVER__PORT="0", OLGRAPH_DATA_DIR=str(tmp_path / "data"))
    argv = [
        "make",
        "--no-print-directory",
        "-C",
        str(REPO),
        "run",
        f"VENV={venv_dir}",
        f"PYTHON={sys.executable}",
    ]
    with _serving(argv, tmp_path, env) as url:
        _answers(url)
    installed = _installed(venv_dir / "bin")
    assert {"olgraph", "fastapi", "neo4j"} <= installed
    assert not {"mlflow", "mlflow-skinny", "ray", "scikit-learn", "pytest", "mypy", "ruff"} & installed


def test_the_plugin_distribution_pulls_in_no_server_dependency(tmp_path: Path) -> None:
    bin_dir = _fresh_venv(tmp_path / "venv")
    _run([str(bin_dir / "pip"), "install", "--quiet", f"{REPO / 'integrations'}[mlflow]"], tmp_path)
    installed = _installed(bin_dir)
    assert {"olgraph-integrations", "openlineage-python", "mlflow-skinny"} <= installed
    assert not SERVER_ONLY & installed, sorted(SERVER_ONLY & installed)
    probe = (
        "import importlib.metadata as m, importlib.util as u\n"
        "import olgraph.integrations.mlflow.entrypoints\n"
        "eps = [e.value for e in m.entry_points(group='mlflow.tracking_store') if e.name == 'sqlite']\n"
        "print(eps, u.find_spec('olgraph.cli') is None)\n"
    )
    shown = _run([str(bin_dir / "python"), "-c", probe], tmp_path)
    assert shown.strip() == "['olgraph.integrations.mlflow.entrypoints:tracking_store'] True"
