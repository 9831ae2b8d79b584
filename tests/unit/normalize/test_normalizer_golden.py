"""Golden files: tests/golden/<case>.event.json → <case>.mutations.json, compared exactly.

The expected files are a stable JSON rendering of the mutation list (order included: the
normalizer is deterministic). After an intended change, regenerate them and review the diff:

    PYTHONPATH=src .venv/bin/python tests/unit/normalize/test_normalizer_golden.py

(running this file as a script rewrites every ``*.mutations.json``; pytest never writes them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from olgraph.ingest import decode_json, parse_event
from olgraph.normalize.mutations import Mutation, Prop, ReadVersion, ReplaceLinks, UpsertEdge, UpsertNode
from olgraph.normalize.normalizer import normalize

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
CASES = sorted(p.name.removesuffix(".event.json") for p in GOLDEN.glob("*.event.json"))


def _props(props: tuple[Prop, ...]) -> list[list[Any]]:
    return [[p.name, p.merge.value, p.version, p.value] for p in props]


def render(mutation: Mutation) -> dict[str, Any]:
    """One mutation as plain JSON (field order fixed)."""
    if isinstance(mutation, UpsertNode):
        return {
            "node": mutation.key,
            "label": mutation.label.value,
            "extraLabels": sorted(mutation.extra_labels),
            "props": _props(mutation.props),
        }
    if isinstance(mutation, UpsertEdge):
        return {
            "edge": mutation.type.value,
            "source": mutation.source,
            "target": mutation.target,
            "props": _props(mutation.props),
        }
    if isinstance(mutation, ReplaceLinks):
        return {
            "replaceLinks": mutation.type.value,
            "node": mutation.node,
            "slot": mutation.slot,
            "incoming": mutation.incoming,
            "version": mutation.version,
            "others": [[link.key, dict(link.props)] for link in mutation.others],
        }
    assert isinstance(mutation, ReadVersion)
    read: dict[str, Any] = {"readVersion": mutation.run, "dataset": mutation.dataset, "at": mutation.at}
    if mutation.props:
        read["props"] = _props(mutation.props)
    return read


def render_case(case: str) -> str:
    """The expected-file text for golden ``case``."""
    event = parse_event(decode_json((GOLDEN / f"{case}.event.json").read_bytes()))
    rendered = [render(m) for m in normalize(event)]
    return json.dumps(rendered, indent=1, ensure_ascii=False) + "\n"


def test_every_required_case_exists() -> None:
    required = {
        "required_only",
        "full_event",
        "parent_root_hierarchy",
        "column_lineage",
        "symlinks",
        "lifecycle_drop",
        "job_event_static",
        "dataset_event",
        "streaming_job",
        "model_dataset",
        "version_facet",
    }
    assert required <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    expected = GOLDEN / f"{case}.mutations.json"
    assert expected.exists(), f"missing {expected.name}: run this module as a script to create it"
    assert render_case(case) == expected.read_text(encoding="utf-8")


if __name__ == "__main__":
    for name in CASES:
        (GOLDEN / f"{name}.mutations.json").write_text(render_case(name), encoding="utf-8")
        print(f"wrote {name}.mutations.json")
