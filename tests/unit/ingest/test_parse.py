"""decode_json and parse_event: liberal acceptance, precise rejection."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import orjson
import pytest

from olgraph.errors import InvalidEvent
from olgraph.ingest import canonical_json, decode_json, parse_event

RUN_ID = "0176A8C2-FE01-7439-87E6-56A1A1B4029F"


def run_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventType": "START",
        "eventTime": "2024-05-01T12:00:00.123Z",
        "run": {"runId": RUN_ID},
        "job": {"namespace": "airflow", "name": "etl.load"},
        "inputs": [{"namespace": "pg", "name": "public.a"}],
        "outputs": [{"namespace": "pg", "name": "public.b"}],
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    event.update(overrides)
    return event


def rejection(data: Any) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        parse_event(data)
    return info.value


# --- decode_json ---------------------------------------------------------------------


def test_decode_json_parses_objects() -> None:
    assert decode_json(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"a": 1}}', "line 1, column 9"),
        (b'{\n  "a": \n}', "line 3, column 1"),
        (b"", "line 1, column 1"),
        (b'{"a": NaN}', "line 1, column 7"),
        (b"\xff\xfe", "line 1"),
    ],
)
def test_decode_json_names_line_and_column(body: bytes, where: str) -> None:
    with pytest.raises(InvalidEvent, match="invalid JSON at " + where):
        decode_json(body)


def test_decode_json_limits_depth() -> None:
    assert decode_json(b"[" * 64 + b"]" * 64, max_depth=64) is not None
    with pytest.raises(InvalidEvent, match="deeper than 64"):
        decode_json(b"[" * 65 + b"]" * 65, max_depth=64)
    with pytest.raises(InvalidEvent, match="deeper than 3"):
        decode_json(b'{"a": {"b": {"c": {}}}}', max_depth=3)


def test_decode_json_depth_check_survives_very_deep_input() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000  # orjson's own limit: must still be an InvalidEvent
    with pytest.raises(InvalidEvent):
        decode_json(deep)


# --- identity extraction -------------------------------------------------------------


def test_run_event_identity_is_extracted_and_normalized() -> None:
    event = parse_event(run_event(eventType="complete"))
    assert event.kind == "run"
    assert event.event_type == "COMPLETE"
    assert event.run_id == RUN_ID.lower()
    assert (event.job_namespace, event.job_name) == ("airflow", "etl.load")
    assert event.event_time == "2024-05-01T12:00:00.123000000Z"
    assert event.producer == "https://example.com/producer"
    assert event.schema_url is not None
    assert event.schema_url.endswith("/RunEvent")


def test_raw_is_kept_verbatim_and_content_id_is_canonical() -> None:
    data = run_event(extra={"custom": [1, 2]}, zzz=None)
    data["run"]["facets"] = {"myCustom": {"anything": {"goes": True}}}
    original = copy.deepcopy(data)
    event = parse_event(data)
    assert event.raw == original
    assert event.content_id == hashlib.sha256(canonical_json(original)).hexdigest()
    reordered = dict(reversed(list(orjson.loads(orjson.dumps(original)).items())))
    assert parse_event(reordered).content_id == event.content_id
    assert parse_event(run_event(eventType="COMPLETE")).content_id != event.content_id


def test_content_id_handles_integers_beyond_64_bits() -> None:
    event = parse_event(run_event(big=2**80))
    assert len(event.content_id) == 64


@pytest.mark.parametrize(
    ("schema_url", "kind"),
    [
        ("https://openlineage.io/spec/1-0-5/OpenLineage.json#/definitions/RunEvent", "run"),
        ("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent", "job"),
        ("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent", "dataset"),
    ],
)
def test_kind_follows_schema_url(schema_url: str, kind: str) -> None:
    data = {
        "eventTime": "2024-05-01T12:00:00Z",
        "job": {"namespace": "n", "name": "j"},
        "run": {"runId": RUN_ID},
        "dataset": {"namespace": "d", "name": "t"},
        "schemaURL": schema_url,
    }
    assert parse_event(data).kind == kind


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"run": {"runId": RUN_ID}, "job": {"namespace": "n", "name": "j"}}, "run"),
        ({"dataset": {"namespace": "d", "name": "t"}}, "dataset"),
        ({"job": {"namespace": "n", "name": "j"}}, "job"),
    ],
)
def test_kind_falls_back_to_shape(data: dict[str, Any], kind: str) -> None:
    data["eventTime"] = "2024-05-01T12:00:00Z"
    data["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json"  # no fragment
    assert parse_event(data).kind == kind


def test_job_event_has_no_run_identity_even_with_an_event_type() -> None:
    event = parse_event(
        {
            "eventType": "COMPLETE",
            "eventTime": "2024-05-01T12:00:00Z",
            "job": {"namespace": "n", "name": "j"},
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        }
    )
    assert (event.kind, event.event_type, event.run_id) == ("job", None, None)


# --- liberal acceptance --------------------------------------------------------------


DEFAULT_TIME = "2024-05-01T12:00:00.123000000Z"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # (what a producer sends differently, what the parsed event must then say)
        ({"schemaURL": None}, {"schema_url": None}),
        ({"eventType": None}, {"event_type": None}),
        ({"producer": None}, {"producer": None}),
        ({"producer": ""}, {"producer": None}),
        ({"eventTime": "2024-05-01T12:00:00.123456789"}, {"event_time": "2024-05-01T12:00:00.123456789Z"}),
        ({"eventTime": "2024-05-01T14:00:00+02:00"}, {"event_time": "2024-05-01T12:00:00.000000000Z"}),
        ({"inputs": None}, {}),
        ({"outputs": []}, {}),
        ({"unknownTopLevel": {"x": 1}}, {}),
        ({"eventType": "running"}, {"event_type": "RUNNING"}),
    ],
)
def test_tolerates_what_real_producers_send(change: dict[str, Any], expected: dict[str, Any]) -> None:
    data = {k: v for k, v in run_event(**change).items() if v is not None}
    event = parse_event(data)
    defaults = {
        "kind": "run",
        "event_type": "START",
        "event_time": DEFAULT_TIME,
        "run_id": RUN_ID.lower(),
        "job_namespace": "airflow",
        "job_name": "etl.load",
        "producer": "https://example.com/producer",
        "schema_url": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    assert {name: getattr(event, name) for name in defaults} == defaults | expected
    assert event.raw == data  # kept verbatim, the unknown parts included


def test_missing_event_type_is_none() -> None:
    data = run_event()
    del data["eventType"]
    assert parse_event(data).event_type is None


def test_unknown_and_null_facets_are_accepted() -> None:
    data = run_event()
    data["run"]["facets"] = {"spark.logicalPlan": {"plan": [1, 2]}, "nothing": None}
    data["job"]["facets"] = {"custom": {"_producer": "x"}}
    data["outputs"][0]["facets"] = {"schema": {"_deleted": True}, "weird": {"fields": "not validated"}}
    assert parse_event(data).kind == "run"


# --- precise rejection ---------------------------------------------------------------


@pytest.mark.parametrize("data", [[], "event", 1, None, True])
def test_rejects_non_objects(data: Any) -> None:
    assert "must be a JSON object" in str(rejection(data))


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda e: e.pop("eventTime"), "eventTime", "missing"),
        (lambda e: e.update(eventTime="not a time"), "eventTime", "ISO-8601"),
        (lambda e: e.update(eventTime=1700000000), "eventTime", "string"),
        (lambda e: e.update(eventType="DONE"), "eventType", "expected one of START"),
        (lambda e: e["run"].pop("runId"), "run.runId", "missing"),
        (lambda e: e["run"].update(runId=""), "run.runId", "empty"),
        (lambda e: e["run"].update(runId="  "), "run.runId", "empty"),
        (lambda e: e["run"].update(runId=42), "run.runId", "string"),
        (lambda e: e.update(run="x"), "run", "object"),
        (lambda e: e.pop("job"), "job", "missing"),
        (lambda e: e["job"].pop("name"), "job.name", "missing"),
        (lambda e: e["job"].update(namespace=""), "job.namespace", "empty"),
        (lambda e: e["job"].update(name=["x"]), "job.name", "string"),
        (lambda e: e.update(inputs={"a": 1}), "inputs", "array"),
        (lambda e: e.update(outputs=["x"]), "outputs[0]", "object"),
        (lambda e: e["outputs"][0].pop("namespace"), "outputs[0].namespace", "missing"),
        (lambda e: e["inputs"][0].update(name=""), "inputs[0].name", "empty"),
        (lambda e: e["inputs"][0].update(facets=[]), "inputs[0].facets", "object"),
        (lambda e: e["run"].update(facets={"x": "y"}), "run.facets.x", "must be an object"),
        (lambda e: e.update(producer=5), "producer", "string"),
    ],
)
def test_rejections_name_the_field(mutate: Any, field: str, message: str) -> None:
    data = run_event()
    mutate(data)
    error = rejection(data)
    assert error.field == field
    assert message in str(error)
    assert str(error).startswith(f"{field}: ")


@pytest.mark.parametrize("run_id", ["run_id", "manual__2024-01-01T00:00:00+00:00", "Spark-App-0001", "ÄÖ 1"])
def test_a_run_id_that_is_not_a_uuid_is_accepted_as_it_is(run_id: str) -> None:
    """The spec's ``format: uuid`` is an annotation the official schema does not enforce."""
    data = run_event()
    data["run"]["runId"] = run_id
    assert parse_event(data).run_id == run_id


def test_a_uuid_run_id_is_lower_cased() -> None:
    data = run_event()
    data["run"]["runId"] = RUN_ID.upper()
    assert parse_event(data).run_id == RUN_ID.lower()


def test_dataset_event_requires_dataset_identity() -> None:
    base = {
        "eventTime": "2024-05-01T12:00:00Z",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
    }
    assert rejection(base).field == "dataset"
    assert rejection({**base, "dataset": {"namespace": "n"}}).field == "dataset.name"
    assert rejection({**base, "dataset": {"name": "n"}}).field == "dataset.namespace"


def test_job_event_requires_job_and_time() -> None:
    assert rejection({"eventTime": "2024-05-01T12:00:00Z"}).field == "job"
    assert rejection({"job": {"namespace": "n", "name": "j"}}).field == "eventTime"


def test_standard_facet_errors_name_the_full_path() -> None:
    data = run_event()
    data["outputs"][0]["outputFacets"] = {"outputStatistics": {"rowCount": "wrong"}}
    error = rejection(data)
    assert str(error) == 'outputs[0].outputFacets.outputStatistics.rowCount: expected an integer, got "wrong"'


def test_input_facets_and_output_facets_use_their_own_rules() -> None:
    data = run_event()
    # an input's outputFacets are not an input's business: kept verbatim, not validated
    data["inputs"][0]["outputFacets"] = {"outputStatistics": {"rowCount": "wrong"}}
    parse_event(data)
    data["inputs"][0]["inputFacets"] = {"inputStatistics": {"size": "big"}}
    assert rejection(data).field == "inputs[0].inputFacets.inputStatistics.size"
