"""Hatch build hook: a wheel built from the repository carries the web explorer.

Before the wheel is assembled it builds ``ui/`` into ``src/olgraph/api/static`` when that
build is missing or stale (``scripts/build_ui.py``: ``npm ci`` and ``npm run build``), and
adds the folder, which git ignores, to the wheel. Editable installs (``make install``) skip it:
there ``make ui`` keeps the build current. With ``EXPLORER_PREBUILT=1`` (the image's build
stage, which has no Node.js: the explorer was built in a stage of its own) it takes the build
that is there, and fails if there is none.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

HERE = Path(__file__).resolve().parent


class ExplorerBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Builds the explorer and includes it in wheels."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Build the UI if needed and add its output to the wheel's files."""
        if self.target_name != "wheel" or version == "editable":
            return
        build_data["artifacts"].append("src/olgraph/api/static/**")
        if os.environ.get("EXPLORER_PREBUILT") == "1":
            index = Path(self.root) / "src" / "olgraph" / "api" / "static" / "explorer" / "index.html"
            if not index.is_file():
                raise RuntimeError(f"EXPLORER_PREBUILT=1, but there is no {index}: build ui/ first")
            return
        spec = importlib.util.spec_from_file_location("olgraph_build_ui", HERE / "build_ui.py")
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {HERE / 'build_ui.py'}")
        build_ui = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(build_ui)
        build_ui.build()
