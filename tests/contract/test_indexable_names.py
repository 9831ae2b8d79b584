"""Names at the indexing limit are stored and answered by both stores alike.

Issue 14: a name over ~8 KB got 201 and the event was then lost in Neo4j ("Property value is
too large to index"). Names are now bounded at ingest (:mod:`olgraph.ingest.identity`,
docs/decisions/0011-indexable-names.md); here every name is exactly at that bound, in 2- to
4-byte characters, and the longest keys (dataset versions, fields: three names each) must
be written and read back by a real Neo4j as by the embedded store.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from contract_events import RUN_EVENT_SCHEMA, at

from olgraph import keys
from olgraph.errors import InvalidEvent
from olgraph.ingest.identity import MAX_NAME_BYTES
from olgraph.ingest.parse import parse_event
from olgraph.normalize.normalizer import normalize
from olgraph.store.base import GraphStore

RUN_ID = str(uuid.UUID(int=0x1DE7))


def at_limit(char: str, tag: str) -> str:
    """A name of exactly MAX_NAME_BYTES bytes of UTF-8 (``tag`` first, then ``char``s, then ``a``s)."""
    body = char * ((MAX_NAME_BYTES - len(tag)) // len(char.encode()))
    text = tag + body
    text += "a" * (MAX_NAME_BYTES - len(text.encode()))
    assert len(text.encode()) == MAX_NAME_BYTES
    return text


NS, JOB, SOURCE, TARGET = (
    at_limit(c, t) for c, t in (("é", "ns"), ("中", "job"), ("😀", "src"), ("é", "dst"))
)
VERSION, FIELD, OWNER, TAG = (at_limit(c, t) for c, t in (("中", "v"), ("😀", "f"), ("é", "o"), ("中", "t")))


def event(names: dict[str, str] | None = None) -> dict[str, Any]:
    n = {"ns": NS, "job": JOB, "source": SOURCE, "target": TARGET, "version": VERSION, "field": FIELD}
    n |= names or {}
    producer = {"_producer": "https://example.org/tests", "_schemaURL": "https://example.org/f.json"}
    target = {
        "namespace": n["ns"],
        "name": n["target"],
        "facets": {
            "version": {**producer, "datasetVersion": n["version"]},
            "schema": {**producer, "fields": [{"name": n["field"], "type": "string"}]},
            "ownership": {**producer, "owners": [{"name": OWNER}]},
            "tags": {**producer, "tags": [{"key": TAG, "value": TAG}]},
        },
    }
    return {
        "eventType": "COMPLETE",
        "eventTime": at(1),
        "producer": "https://example.org/tests",
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": RUN_ID},
        "job": {"namespace": n["ns"], "name": n["job"]},
        "inputs": [{"namespace": n["ns"], "name": n["source"]}],
        "outputs": [target],
    }


async def test_names_at_the_limit_are_stored_and_answered(store: GraphStore) -> None:
    await store.apply(normalize(parse_event(event())))
    job, source, target = keys.job_key(NS, JOB), keys.dataset_key(NS, SOURCE), keys.dataset_key(NS, TARGET)

    listed = await store.list_jobs(NS, limit=10, offset=0)
    assert [(v.id, v.name) for v in listed.items] == [(job, JOB)]
    lineage = await store.lineage(source, "downstream", depth=3, max_nodes=10)
    assert [v.id for v in lineage.nodes] == [source, job, target]
    run = await store.get_run(RUN_ID)
    assert run is not None
    assert [(ref.dataset, ref.version) for ref in run.outputs] == [(target, VERSION)]
    dataset = await store.get_dataset(target)
    assert dataset is not None
    assert dataset.fields == [FIELD]
    assert dataset.owners == [OWNER]
    assert [(tag.key, tag.value) for tag in dataset.tags] == [(TAG, TAG)]
    assert [v.version for v in dataset.versions] == [VERSION]


@pytest.mark.parametrize("role", ["ns", "job", "source", "target", "version", "field"])
def test_one_byte_more_is_refused_before_anything_is_stored(role: str) -> None:
    """The same refusal whichever store is configured: it happens in the parser, at ingest."""
    with pytest.raises(InvalidEvent, match="a name may hold at most 2048 bytes"):
        parse_event(event({role: "x" * (MAX_NAME_BYTES + 1)}))
