"""scripts/build_ui.py decides when the explorer is rebuilt and when ``npm ci`` runs again.

The real build runs in every ``make test`` (``make ui``) and in the browser tests; here a stand-in
``npm`` on PATH records what the script asks of it, so that each decision is checked on its own:
no build → build; same inputs → nothing; a changed source → build without reinstalling; a
changed lockfile → reinstall and build.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_ui.py"

FAKE_NPM = """#!/bin/sh
echo "$@" >> "$NPM_CALLS"
if [ "$1" = "run" ]; then
  mkdir -p "$STATIC/explorer" "$STATIC/vendor/redoc"
  echo built > "$STATIC/explorer/index.html"
  echo built > "$STATIC/vendor/redoc/redoc.standalone.js"
fi
"""


@pytest.fixture
def build_ui(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_ui_under_test", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ui, static = tmp_path / "ui", tmp_path / "static"
    (ui / "src").mkdir(parents=True)
    (ui / "node_modules").mkdir()
    for name in module.INPUT_FILES:
        (ui / name).write_text(f"{name} v1")
    (ui / "src" / "main.tsx").write_text("v1")
    static.mkdir()
    monkeypatch.setattr(module, "UI", ui)
    monkeypatch.setattr(module, "STATIC", static)
    monkeypatch.setattr(module, "BUILT_DIGEST", static / ".ui-digest")
    monkeypatch.setattr(module, "INSTALLED_DIGEST", ui / "node_modules" / ".olgraph-lock-digest")
    monkeypatch.setattr(
        module,
        "OUTPUTS",
        (static / "explorer" / "index.html", static / "vendor" / "redoc" / "redoc.standalone.js"),
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM)
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("NPM_CALLS", str(tmp_path / "calls"))
    monkeypatch.setenv("STATIC", str(static))
    return module


def calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls"
    found = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    return found


def test_builds_when_missing_then_only_when_inputs_change(build_ui: ModuleType, tmp_path: Path) -> None:
    assert build_ui.is_stale()
    assert build_ui.build() is True
    assert calls(tmp_path) == ["ci --no-audit --no-fund", "run build"]
    assert not build_ui.is_stale()

    assert build_ui.build() is False
    assert calls(tmp_path) == []

    (build_ui.UI / "src" / "main.tsx").write_text("v2")
    assert build_ui.is_stale()
    assert build_ui.build() is True
    assert calls(tmp_path) == ["run build"]  # same lockfile: no reinstall

    (build_ui.UI / "package-lock.json").write_text("package-lock.json v2")
    assert build_ui.build() is True
    assert calls(tmp_path) == ["ci --no-audit --no-fund", "run build"]


def test_a_deleted_output_or_a_new_source_file_makes_it_stale(build_ui: ModuleType, tmp_path: Path) -> None:
    build_ui.build()
    build_ui.OUTPUTS[1].unlink()
    assert build_ui.is_stale()
    build_ui.build()
    (build_ui.UI / "src" / "new.ts").write_text("export {}")
    assert build_ui.is_stale()


def test_force_builds_anyway(build_ui: ModuleType, tmp_path: Path) -> None:
    build_ui.build()
    calls(tmp_path)
    assert build_ui.build(force=True) is True
    assert calls(tmp_path) == ["run build"]


def test_without_npm_it_says_what_is_missing(
    build_ui: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit, match=r"needs Node\.js"):
        build_ui.build()
