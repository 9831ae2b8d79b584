"""Write the HTTP API's OpenAPI document to schemas/openapi.json.

    PYTHONPATH=src python scripts/export_openapi.py          # rewrite the file
    PYTHONPATH=src python scripts/export_openapi.py --check  # exit 1 when it is out of date

The document is what ``create_app(settings).openapi()`` serves at ``/openapi.json``. It does
not depend on the settings' values (none of them appears in it), so the fixed settings below
give the same file on every machine; keys are sorted and indented so diffs stay readable.
tests/docs/test_openapi_checked_in.py checks that the committed file is up to date.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from olgraph.api.app import create_app
from olgraph.config import AuthSettings, ServerSettings, Settings

OUTPUT = Path(__file__).resolve().parents[1] / "schemas" / "openapi.json"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app, built without starting it (no store, no log)."""
    # Explicit loopback host and no keys: whatever OLGRAPH_* says, the app can be built.
    settings = Settings(
        data_dir=Path(".olgraph"), server=ServerSettings(host="127.0.0.1"), auth=AuthSettings()
    )
    return create_app(settings).openapi()


def render(document: dict[str, Any] | None = None) -> str:
    """The file's text: sorted keys, two-space indent, non-ASCII kept, one final newline."""
    document = openapi_document() if document is None else document
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, compare) the file; 1 when a check finds it stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail instead of writing when out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current == text:
            return 0
        diff = difflib.unified_diff(
            current.splitlines(), text.splitlines(), "committed", "generated", lineterm=""
        )
        sys.stderr.write("\n".join(list(diff)[:80]) + "\n")
        sys.stderr.write(f"{OUTPUT} is out of date: run PYTHONPATH=src python scripts/export_openapi.py\n")
        return 1
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
