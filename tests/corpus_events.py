"""The real events of the shared corpus (beside the checkout), for unit tests that read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def corpus_events() -> list[tuple[str, Any]]:
    """Every event of the corpus with the name of its file (relative to the corpus), in file
    order; a file holding an array gives each element. Files that are no JSON are skipped."""
    events = []
    for path in sorted(CORPUS.rglob("*.json")):
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue
        for event in data if isinstance(data, list) else [data]:
            events.append((str(path.relative_to(CORPUS)), event))
    return events
