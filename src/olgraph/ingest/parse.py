"""Decoding and validating OpenLineage events: bytes → JSON → :class:`ParsedEvent`.

Liberal in what we accept (docs/architecture.md, "What ingest accepts"): every event the
official schema of its version accepts is accepted, and so are the common deviations of real
producers — ``eventTime`` without a timezone or with nanoseconds, no ``schemaURL``, no
``eventType``, no producer, unknown facets and extra fields. Rejected, with an
:class:`InvalidEvent` naming the field, is only what cannot be stored meaningfully: a body that
is not a JSON object, a job or dataset without namespace/name, a RunEvent without a
``run.runId`` (any non-empty string is one; UUIDs are lower-cased), an unparseable
``eventTime``, a malformed standard facet, containers of the wrong JSON type, or a name too long
for a store to index (:mod:`olgraph.ingest.identity`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

from olgraph.errors import InvalidEvent
from olgraph.ingest._spec import child, describe, item
from olgraph.ingest.event import EventKind, ParsedEvent
from olgraph.ingest.facets import FacetKind, validate_facets
from olgraph.ingest.identity import check_identities
from olgraph.ingest.limits import JsonLimits, decode
from olgraph.ingest.times import normalize_time
from olgraph.keys import normalize_run_id

_EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
_KIND_BY_SUFFIX: dict[str, EventKind] = {"/RunEvent": "run", "/DatasetEvent": "dataset", "/JobEvent": "job"}


def decode_json(body: bytes, max_depth: int = 64, *, limits: JsonLimits | None = None) -> Any:
    """Parse a request or message body holding one event as JSON, within ``limits``.

    ``limits`` defaults to :class:`JsonLimits` with ``max_depth``; see
    :mod:`olgraph.ingest.limits` for what is checked and how fast.

    >>> decode_json(b'{"a": [1]}')
    {'a': [1]}
    >>> decode_json(b'{"a": }')
    Traceback (most recent call last):
    olgraph.errors.InvalidEvent: invalid JSON at line 1, column 7: unexpected character, expected a JSON value
    """
    return decode(body, limits or JsonLimits(max_depth=max_depth))


def canonical_json(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace (integers beyond 64 bits included)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson refuses integers over 64 bits; the stdlib does not
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_event(data: Any) -> ParsedEvent:
    """Validate decoded JSON as an OpenLineage event and extract its identity.

    >>> event = parse_event({
    ...     "eventType": "start", "eventTime": "2024-05-01T12:00:00+02:00",
    ...     "run": {"runId": "0176A8C2-FE01-7439-87E6-56A1A1B4029F"},
    ...     "job": {"namespace": "airflow", "name": "etl"},
    ... })
    >>> (event.kind, event.event_type, event.event_time, event.run_id)
    ('run', 'START', '2024-05-01T10:00:00.000000000Z', '0176a8c2-fe01-7439-87e6-56a1a1b4029f')
    """
    if not isinstance(data, dict):
        raise InvalidEvent(f"an OpenLineage event must be a JSON object, got {describe(data)}")
    kind = detect_kind(data)
    event_time = _event_time(data)
    producer = _optional_str(data, "producer")
    schema_url = _optional_str(data, "schemaURL")
    run_id = event_type = job_ns = job_name = None
    if kind == "dataset":
        _check_dataset(_required_obj(data, "dataset", ""), "dataset", "dataset")
    else:
        job = _required_obj(data, "job", "")
        job_ns, job_name = _required_name(job, "namespace", "job"), _required_name(job, "name", "job")
        validate_facets("job", job.get("facets"), "job.facets")
        if kind == "run":
            run = _required_obj(data, "run", "")
            run_id = _run_id(run)
            validate_facets("run", run.get("facets"), "run.facets")
            event_type = _event_type(data)
        _check_datasets(data, "inputs", "input")
        _check_datasets(data, "outputs", "output")
    check_identities(data, kind)
    return ParsedEvent(
        kind=kind,
        event_time=event_time,
        event_type=event_type,
        run_id=run_id,
        job_namespace=job_ns,
        job_name=job_name,
        producer=producer,
        schema_url=schema_url,
        raw=data,
        content_id=hashlib.sha256(canonical_json(data)).hexdigest(),
    )


def parse_validated(data: dict[str, Any], content_id: str) -> ParsedEvent:
    """The :class:`ParsedEvent` of an event that :func:`parse_event` already accepted.

    For events read back from a log only this deployment's ingest writes (the consumer of
    ``olgraph serve``): they were validated on the way in, and ``content_id`` is the one
    computed then, so only the identity is extracted here, which costs a small fraction of
    validating. Given the same accepted event it returns exactly what :func:`parse_event`
    returns (property tests compare them on the corpus and on generated events). It raises
    (any exception) when the identity is missing or not strings, and the caller then validates
    in full; facets and datasets are not checked again.

    >>> data = {"eventType": "start", "eventTime": "2024-05-01T12:00:00+02:00",
    ...         "run": {"runId": "0176A8C2-FE01-7439-87E6-56A1A1B4029F"},
    ...         "job": {"namespace": "airflow", "name": "etl"}}
    >>> event = parse_validated(data, "3f2a…")
    >>> (event.kind, event.event_type, event.event_time, event.run_id, event.content_id)
    ('run', 'START', '2024-05-01T10:00:00.000000000Z', '0176a8c2-fe01-7439-87e6-56a1a1b4029f', '3f2a…')
    """
    kind = detect_kind(data)
    run_id = event_type = job_ns = job_name = None
    if kind != "dataset":
        job = data["job"]
        job_ns, job_name = _text(job["namespace"]), _text(job["name"])
        if kind == "run":
            run_id = normalize_run_id(_text(data["run"]["runId"]))
            event_type = _event_type(data)
    return ParsedEvent(
        kind=kind,
        event_time=normalize_time(_text(data["eventTime"])),
        event_type=event_type,
        run_id=run_id,
        job_namespace=job_ns,
        job_name=job_name,
        producer=_optional_str(data, "producer"),
        schema_url=_optional_str(data, "schemaURL"),
        raw=data,
        content_id=content_id,
    )


def _text(value: Any) -> str:
    """``value`` when it is a non-empty string (the identity :func:`parse_event` requires)."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"expected a non-empty string, got {describe(value)}")
    return value


def detect_kind(data: dict[str, Any]) -> EventKind:
    """The event's type: by its ``schemaURL`` suffix, else by its shape (docs/architecture.md)."""
    schema_url = data.get("schemaURL")
    if isinstance(schema_url, str):
        for suffix, kind in _KIND_BY_SUFFIX.items():
            if schema_url.rstrip("/").endswith(suffix):
                return kind
    if "run" in data:
        return "run"
    if "dataset" in data:
        return "dataset"
    if "job" in data:
        return "job"
    raise InvalidEvent(
        "required property is missing (an event names a run and job, a job or a dataset)", "job"
    )


def _event_time(data: dict[str, Any]) -> str:
    value = data.get("eventTime")
    if value is None:
        raise InvalidEvent("required property is missing", field="eventTime")
    if not isinstance(value, str):
        raise InvalidEvent(f"expected an ISO-8601 date-time string, got {describe(value)}", field="eventTime")
    try:
        return normalize_time(value)
    except ValueError as exc:
        raise InvalidEvent(f"not a valid ISO-8601 date-time: {describe(value)}", field="eventTime") from exc


def _event_type(data: dict[str, Any]) -> str | None:
    value = data.get("eventType")
    if value is None:
        return None
    if not isinstance(value, str) or value.upper() not in _EVENT_TYPES:
        allowed = ", ".join(_EVENT_TYPES)
        raise InvalidEvent(f"expected one of {allowed}, got {describe(value)}", field="eventType")
    return value.upper()


def _run_id(run: dict[str, Any]) -> str:
    """The run's id: any non-empty string (a UUID is lower-cased, see ``normalize_run_id``)."""
    value = run.get("runId")
    if value is None:
        raise InvalidEvent("required property is missing", field="run.runId")
    if not isinstance(value, str):
        raise InvalidEvent(f"expected a string, got {describe(value)}", field="run.runId")
    if not value.strip():
        raise InvalidEvent("must not be empty", field="run.runId")
    return normalize_run_id(value)


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidEvent(f"expected a string, got {describe(value)}", field=key)
    return value or None


def _required_obj(data: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = data.get(key)
    where = child(path, key)
    if value is None:
        raise InvalidEvent("required property is missing", field=where)
    if not isinstance(value, dict):
        raise InvalidEvent(f"expected an object, got {describe(value)}", field=where)
    return value


def _required_name(data: dict[str, Any], key: str, path: str) -> str:
    value = data.get(key)
    where = child(path, key)
    if value is None:
        raise InvalidEvent("required property is missing", field=where)
    if not isinstance(value, str):
        raise InvalidEvent(f"expected a string, got {describe(value)}", field=where)
    if not value:
        raise InvalidEvent("must not be empty", field=where)
    return value


def _check_dataset(dataset: dict[str, Any], path: str, role: FacetKind) -> None:
    _required_name(dataset, "namespace", path)
    _required_name(dataset, "name", path)
    validate_facets("dataset", dataset.get("facets"), child(path, "facets"))
    if role == "input":
        validate_facets("input", dataset.get("inputFacets"), child(path, "inputFacets"))
    elif role == "output":
        validate_facets("output", dataset.get("outputFacets"), child(path, "outputFacets"))


def _check_datasets(data: dict[str, Any], key: str, role: FacetKind) -> None:
    datasets = data.get(key)
    if datasets is None:
        return
    if not isinstance(datasets, list):
        raise InvalidEvent(f"expected an array, got {describe(datasets)}", field=key)
    for index, dataset in enumerate(datasets):
        path = item(key, index)
        if not isinstance(dataset, dict):
            raise InvalidEvent(f"expected an object, got {describe(dataset)}", field=path)
        _check_dataset(dataset, path, role)
