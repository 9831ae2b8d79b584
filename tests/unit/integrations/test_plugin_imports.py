"""Importing a plugin costs a training job almost nothing and pulls in nothing of the server.

MLflow imports our entry-point module while MLflow itself is being imported, and Ray imports
our callback module by name; both happen in every workload, with or without OpenLineage
configured. So those imports must not import MLflow, Ray, openlineage-python (loaded on the
emitter thread with the first event) or any server dependency.
"""

from __future__ import annotations

import json
import subprocess
import sys

PLUGIN_MODULES = [
    "olgraph.integrations.ray",
    "olgraph.integrations.mlflow.entrypoints",
    "olgraph.integrations.mlflow.events",
    "olgraph.integrations.mlflow.naming",
]
FORBIDDEN = [
    "fastapi",
    "uvicorn",
    "neo4j",
    "aiokafka",
    "pydantic_settings",
    "click",
    "httpx",
    "olgraph.api",
    "olgraph.store",
    "olgraph.config",
    "olgraph.cli",
    "openlineage",
    "mlflow",
    "ray",
]


def test_plugin_modules_import_nothing_heavy() -> None:
    code = f"""
import importlib, json, sys
for name in {PLUGIN_MODULES!r}:
    importlib.import_module(name)
roots = {{n.split(".")[0] for n in {FORBIDDEN!r}}}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in roots)))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    offending = sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    assert offending == [], f"importing the plugins loaded {offending}"


def test_the_check_sees_a_heavy_import() -> None:
    """The test above can fail: importing the server's config module is reported."""
    code = "import olgraph.config, sys; print('pydantic_settings' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "True"
