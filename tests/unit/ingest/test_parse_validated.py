"""parse_validated and EventReader.read_validated: the consumer's fast path for events its own
ingest validated gives exactly what full validation gives, and declines events whose identity is malformed."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus_events import corpus_events
from olgraph.errors import InvalidEvent
from olgraph.ingest import canonical_json, parse_event
from olgraph.ingest.parse import parse_validated
from olgraph.ingest.reader import EventReader
from olgraph.ingest.redact import Redactor

CORPUS_EVENTS = corpus_events()


def test_the_corpus_is_there() -> None:
    assert len(CORPUS_EVENTS) >= 45


def test_every_accepted_corpus_event_reads_back_the_same() -> None:
    """What ingest accepted, read back by the consumer's fast path, equals full validation."""
    reader = EventReader()
    accepted = 0
    for name, data in CORPUS_EVENTS:
        try:
            expected = parse_event(data)
        except InvalidEvent:
            continue
        accepted += 1
        assert parse_validated(data, expected.content_id) == expected, name
        assert reader.read_validated(canonical_json(data), expected.content_id) == expected, name
    assert accepted >= 40  # the invalid ones are invalid on purpose (the corpus README)


ids = st.sampled_from(["0176A8C2-FE01-7439-87E6-56A1A1B4029F", "manual__2024-01-01", " x "])
texts = st.text(min_size=1, max_size=8)
times = st.sampled_from(
    ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123456789+02:00", "2024-05-01T12:00:00", "2024-05-01"]
)
optional_strings = st.none() | st.just("") | texts
events = st.fixed_dictionaries(
    {"eventTime": times},
    optional={
        "eventType": st.sampled_from(["START", "complete", "Running", "OTHER"]),
        "run": st.fixed_dictionaries({"runId": ids}),
        "job": st.fixed_dictionaries({"namespace": texts, "name": texts}),
        "dataset": st.fixed_dictionaries({"namespace": texts, "name": texts}),
        "producer": optional_strings,
        "schemaURL": optional_strings
        | st.sampled_from(
            [
                "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent/",
                "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
            ]
        ),
        "inputs": st.lists(st.fixed_dictionaries({"namespace": texts, "name": texts}), max_size=2),
    },
)


@settings(max_examples=300)
@given(events)
def test_generated_events_read_back_the_same(data: dict[str, Any]) -> None:
    try:
        expected = parse_event(data)
    except InvalidEvent:
        return  # never logged, so never read back this way
    assert parse_validated(data, expected.content_id) == expected


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[]", b'"text"', b"{}", b'{"run": {"runId": "x"}, "job": 1, "eventTime": "t"}'],
)
def test_what_ingest_never_logs_is_declined(raw: bytes) -> None:
    """The caller then validates in full, which names the problem."""
    assert EventReader().read_validated(raw, "cid") is None


def test_redaction_still_applies_on_the_fast_path() -> None:
    """Events logged before redaction was turned on are redacted when they are read back."""
    secret = "hunter2-very-secret"
    data = {
        "eventTime": "2024-05-01T12:00:00Z",
        "job": {
            "namespace": "n",
            "name": "j",
            "facets": {"sql": {"query": f"postgresql://admin:{secret}@db.example.com:5432/sales"}},
        },
    }
    event = EventReader(redactor=Redactor.default()).read_validated(orjson.dumps(data), "cid")
    assert event is not None
    assert secret not in orjson.dumps(event.raw).decode()
    assert event.job_name == "j"
