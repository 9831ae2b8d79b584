"""Every event of the shared corpus is accepted and normalized, or rejected naming the problem.

The corpus (../shared/corpus, see its README) holds real events from Marquez, the
OpenLineage proxy and client, DataHub and OpenMetadata. Accepted events must parse and
normalize without exception, and the jobs, runs and datasets they name must be upserted.
The ones the README calls invalid on purpose must raise ``InvalidEvent`` naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from olgraph.errors import InvalidEvent
from olgraph.ingest import decode_json, parse_event
from olgraph.keys import dataset_key, job_key, run_key
from olgraph.normalize.mutations import Label, UpsertNode
from olgraph.normalize.normalizer import normalize

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"

INVALID_ON_PURPOSE = {
    "proxy-events/event_invalid_dataset_facet.json": "outputs[0].facets.ownership.owners[0].name",
    "proxy-events/event_invalid_input_dataset_facet.json": "inputs[0].inputFacets.dataQualityMetrics",
    "proxy-events/event_invalid_job_facet.json": "job.facets.ownership.owners[0].name",
    "proxy-events/event_invalid_output_dataset_facet.json": (
        "outputs[0].outputFacets.outputStatistics.rowCount"
    ),
    "proxy-events/event_invalid_run_facet.json": "run.facets.parent.run.runId",
    "proxy-events/event_no_run_id.json": "run.runId",
}
NOT_JSON = {"datahub-events/flink_job_test.json"}

ALL = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.json"))
VALID = [name for name in ALL if name not in INVALID_ON_PURPOSE and name not in NOT_JSON]


def _read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_corpus_is_there_and_every_listed_file_exists() -> None:
    assert len(ALL) >= 40
    assert set(INVALID_ON_PURPOSE) | NOT_JSON <= set(ALL)


def _named_nodes(raw: dict[str, Any], kind: str) -> dict[str, Label]:
    """Keys of the jobs, runs and datasets the event names, with their labels."""
    named: dict[str, Label] = {}
    if kind == "dataset":
        named[dataset_key(raw["dataset"]["namespace"], raw["dataset"]["name"])] = Label.DATASET
        return named
    named[job_key(raw["job"]["namespace"], raw["job"]["name"])] = Label.JOB
    if kind == "run":
        named[run_key(raw["run"]["runId"].lower())] = Label.RUN
        parent = (raw["run"].get("facets") or {}).get("parent")
        if parent:
            named[run_key(parent["run"]["runId"].lower())] = Label.RUN
            named[job_key(parent["job"]["namespace"], parent["job"]["name"])] = Label.JOB
    for dataset in [*(raw.get("inputs") or []), *(raw.get("outputs") or [])]:
        named[dataset_key(dataset["namespace"], dataset["name"])] = Label.DATASET
    return named


@pytest.mark.parametrize("name", VALID)
def test_valid_events_are_accepted_and_normalized(name: str) -> None:
    event = parse_event(decode_json(_read(name)))
    mutations = normalize(event)
    upserted = {m.key: m.label for m in mutations if isinstance(m, UpsertNode)}
    for key, label in _named_nodes(event.raw, event.kind).items():
        assert upserted.get(key) == label, f"{name}: {key} not upserted as {label}"


@pytest.mark.parametrize(("name", "field"), sorted(INVALID_ON_PURPOSE.items()))
def test_invalid_events_are_rejected_naming_the_field(name: str, field: str) -> None:
    data = decode_json(_read(name))
    with pytest.raises(InvalidEvent) as info:
        parse_event(data)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize("name", sorted(NOT_JSON))
def test_unparseable_json_fails_in_decode(name: str) -> None:
    with pytest.raises(InvalidEvent, match=r"invalid JSON at line \d+, column \d+"):
        decode_json(_read(name))


def test_corpus_covers_the_tolerances() -> None:
    """The corpus exercises the deviations we promise to tolerate (else this suite proves less)."""
    events = {name: parse_event(decode_json(_read(name))) for name in VALID}
    assert any("schemaURL" not in e.raw for e in events.values())
    assert any(e.kind == "run" and e.event_type is None for e in events.values())
    assert (
        events["marquez-events/event_required_no_timezone.json"].event_time
        == "2020-12-28T19:51:01.641499000Z"
    )
    assert {e.kind for e in events.values()} == {"run", "job", "dataset"}
    assert events["datahub-events/debezium_event.json"].event_time.endswith(".391222794Z")  # nanoseconds
