"""Names a store can index: the ingest check and the normalizer agree (property-based).

Every string the normalizer makes an identity of is placed in generated events, at random
sizes around :data:`MAX_NAME_BYTES` (multi-byte characters included). Either the parser
refuses the event, naming a name that is too long, or no key or indexed property the
normalizer builds from it exceeds :data:`MAX_INDEXED_BYTES` — and nothing under the limit is
ever refused. A position the check forgot (a new facet the normalizer keys on) fails this test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olgraph.errors import InvalidEvent
from olgraph.ingest.identity import MAX_INDEXED_BYTES, MAX_NAME_BYTES, check_identities
from olgraph.ingest.parse import parse_event
from olgraph.normalize.mutations import Mutation, ReadVersion, ReplaceLinks, UpsertEdge, UpsertNode
from olgraph.normalize.normalizer import normalize

INDEXED_PROPS = ("key", "namespace", "name", "job", "dataset", "runId", "value")
"""Properties the stores index (or that repeat an indexed key), whatever the label."""

_CHARS = ("a", "é", "中", "😀")  # 1 to 4 bytes of UTF-8


def _text(size: int, char: str, tag: str) -> str:
    """About ``size`` bytes of UTF-8 starting with ``tag`` (so distinct positions differ)."""
    body = char * max(0, (size - len(tag)) // len(char.encode()))
    return tag + body


@st.composite
def sized(draw: st.DrawFn, tag: str, over: bool) -> str:
    """A name: short, at the limit, or (when ``over``) past it."""
    char = draw(st.sampled_from(_CHARS))
    if over:
        size = draw(st.integers(MAX_NAME_BYTES + 1, MAX_NAME_BYTES + 300))
    else:
        size = draw(st.sampled_from([1, 10, MAX_NAME_BYTES // 3, MAX_NAME_BYTES - 5, MAX_NAME_BYTES]))
    text = _text(size, char, tag)
    while len(text.encode()) > MAX_NAME_BYTES and not over:
        text = text[:-1]
    return text


POSITIONS = (
    "job.namespace",
    "job.name",
    "parent.job",
    "parent.runId",
    "root.job",
    "root.runId",
    "run.tag",
    "job.owner",
    "job.tag",
    "lineage.dataset",
    "lineage.input",
    "lineage.field",
    "in.namespace",
    "in.name",
    "in.version",
    "out.name",
    "out.version",
    "schema.field",
    "schema.nested",
    "column.output",
    "column.input",
    "column.dataset",
    "symlink",
    "dataset.owner",
    "dataset.tag",
)


@st.composite
def events(draw: st.DrawFn) -> tuple[dict[str, Any], int]:
    """A RunEvent naming something at every position, and the byte size of its longest name."""
    over = draw(st.sets(st.sampled_from(POSITIONS), max_size=2))
    names = {p: draw(sized(p[:2], p in over)) for p in POSITIONS}
    # A nested schema path grows with its parents: the deepest name may push it over on its own.
    parents = [names["schema.field"], names["schema.nested"]]
    longest = max([len(v.encode()) for v in names.values()] + [len(".".join(parents).encode())])
    return _event(names), longest


def _event(n: dict[str, str]) -> dict[str, Any]:
    producer = {"_producer": "https://example.org/tests", "_schemaURL": "https://example.org/facet.json"}
    ns = n["job.namespace"]

    def ref(name: str, **extra: Any) -> dict[str, Any]:
        return {"namespace": ns, "name": name, **extra}

    field = {"namespace": ns, "name": n["in.name"], "field": n["column.input"]}
    dataset_facets = {
        "ownership": {**producer, "owners": [{"name": n["dataset.owner"]}]},
        "tags": {**producer, "tags": [{"key": n["dataset.tag"], "value": n["dataset.tag"]}]},
        "symlinks": {**producer, "identifiers": [ref(n["symlink"], type="TABLE")]},
    }
    return {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T12:00:00Z",
        "run": {
            "runId": str(uuid.UUID(int=1)),
            "facets": {
                "parent": {
                    **producer,
                    "run": {"runId": n["parent.runId"]},
                    "job": ref(n["parent.job"]),
                    "root": {"run": {"runId": n["root.runId"]}, "job": ref(n["root.job"])},
                },
                "tags": {**producer, "tags": [{"key": n["run.tag"], "value": "v"}]},
            },
        },
        "job": {
            "namespace": ns,
            "name": n["job.name"],
            "facets": {
                "ownership": {**producer, "owners": [{"name": n["job.owner"]}]},
                "tags": {**producer, "tags": [{"key": "k", "value": n["job.tag"]}]},
                "lineage": {
                    **producer,
                    "entries": [
                        {
                            "type": "DATASET",
                            **ref(n["lineage.dataset"]),
                            "inputs": [{"type": "DATASET", **ref(n["lineage.input"]), "field": "c"}],
                            "fields": {
                                n["lineage.field"]: {
                                    "inputs": [{"type": "DATASET", **ref("src"), "field": "c"}]
                                }
                            },
                        }
                    ],
                },
            },
        },
        "inputs": [
            {
                "namespace": n["in.namespace"],
                "name": n["in.name"],
                "facets": {"version": {**producer, "datasetVersion": n["in.version"]}},
            }
        ],
        "outputs": [
            {
                "namespace": ns,
                "name": n["out.name"],
                "facets": {
                    **dataset_facets,
                    "version": {**producer, "datasetVersion": n["out.version"]},
                    "schema": {
                        **producer,
                        "fields": [{"name": n["schema.field"], "fields": [{"name": n["schema.nested"]}]}],
                    },
                    "columnLineage": {
                        **producer,
                        "fields": {n["column.output"]: {"inputFields": [field]}},
                        "dataset": [{**ref(n["in.name"]), "field": n["column.dataset"]}],
                    },
                },
            }
        ],
        "producer": "https://example.org/tests",
    }


def indexed_values(mutations: list[Mutation]) -> Iterator[str]:
    """Every key, and every property value a store indexes, of ``mutations``."""
    for m in mutations:
        if isinstance(m, UpsertNode):
            yield m.key
            yield from (p.value for p in m.props if p.name in INDEXED_PROPS and isinstance(p.value, str))
        elif isinstance(m, UpsertEdge):
            yield from (m.source, m.target)
        elif isinstance(m, ReplaceLinks):
            yield m.node
            yield from (link.key for link in m.others)
        elif isinstance(m, ReadVersion):
            yield from (m.run, m.dataset)


@settings(max_examples=300, deadline=None)
@given(events())
def test_what_passes_the_check_is_indexable_and_only_too_long_names_are_refused(
    case: tuple[dict[str, Any], int],
) -> None:
    event, longest = case
    if longest > MAX_NAME_BYTES:
        with pytest.raises(InvalidEvent, match=f"a name may hold at most {MAX_NAME_BYTES} bytes"):
            parse_event(event)
        return
    parsed = parse_event(event)  # nothing under the limit is refused
    sizes = [len(value.encode()) for value in indexed_values(normalize(parsed))]
    assert max(sizes) <= MAX_INDEXED_BYTES


def test_the_indexed_bound_fits_neo4j() -> None:
    """Neo4j 5.26's range indexes take a value of up to 8163 bytes (measured)."""
    assert MAX_INDEXED_BYTES < 8000


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("job", "name"), "job.name"),
        (("inputs", 0, "name"), "inputs[0].name"),
        (("outputs", 0, "facets", "version", "datasetVersion"), "outputs[0].facets.version.datasetVersion"),
        (("outputs", 0, "facets", "schema", "fields", 0, "fields", 0, "name"), None),
        (("run", "facets", "parent", "job", "namespace"), "run.facets.parent.job.namespace"),
        (("outputs", 0, "facets", "symlinks", "identifiers", 0, "name"), None),
    ],
)
def test_the_refusal_names_the_field(path: tuple[Any, ...], field: str | None) -> None:
    names = {p: p[:2] for p in POSITIONS}
    event = _event(names)
    target: Any = event
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = "x" * (MAX_NAME_BYTES + 1)
    with pytest.raises(InvalidEvent) as caught:
        parse_event(event)
    expected = field or ".".join(str(p) for p in path).replace(".0.", "[0].").replace(".0", "[0]")
    assert caught.value.field == expected
    message = str(caught.value)
    assert message.startswith(f"{expected}: ")  # a nested field's path counts its parents' names too
    assert message.endswith("bytes long; a name may hold at most 2048 bytes (UTF-8)")


def test_a_nested_field_path_counts_as_a_whole() -> None:
    half = "y" * (MAX_NAME_BYTES // 2 + 10)
    dataset = {
        "namespace": "n",
        "name": "d",
        "facets": {"schema": {"fields": [{"name": half, "fields": [{"name": half}]}]}},
    }
    with pytest.raises(InvalidEvent) as caught:
        check_identities({"dataset": dataset}, "dataset")
    assert caught.value.field == "dataset.facets.schema.fields[0].fields[0].name"
    assert "a name may hold at most" in str(caught.value)


def test_a_long_column_name_is_shortened_in_the_path_but_counted_whole() -> None:
    name = "c" * (MAX_NAME_BYTES + 100)
    dataset = {
        "namespace": "n",
        "name": "d",
        "facets": {"columnLineage": {"fields": {name: {"inputFields": []}}}},
    }
    with pytest.raises(InvalidEvent) as caught:
        check_identities({"dataset": dataset}, "dataset")
    assert caught.value.field == f'dataset.facets.columnLineage.fields["{"c" * 48}…"]'
    assert f"{MAX_NAME_BYTES + 100} bytes long" in str(caught.value)
