"""Differential test against the official OpenLineage JSON schemas: what they accept, we accept.

"Officially accepted" means: the core schema of the version the event's ``schemaURL`` names
(any published version when it names none we have) validates the event, and every standard
facet in it validates against some published version of that facet's schema (the core
schemas do not reference the facet schemas; 1-0-0/1-0-1 inline theirs). Formats are
asserted (``date-time`` as RFC 3339, ``uuid``) because the spec declares them. Schemas are
read from ../shared/openlineage and resolved offline through ``referencing``.

Our one deliberate difference: the brief rejects an empty job/dataset namespace or name,
which the schemas allow; generated events use non-empty identities.

Sources of officially valid events: the corpus, spec-tests' example_full_event, every
spec-tests facet example placed into events, facets generated from each facet schema, and
generated core events of every version. (hypothesis-jsonschema cannot be used: 0.23.1 fails
on objects with the installed Hypothesis, so a small schema-driven generator lives here.)
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from olgraph.ingest import decode_json, parse_event
from olgraph.ingest.facets import FACET_RULES, validate_facet
from olgraph.normalize.normalizer import normalize

OL = Path(__file__).resolve().parents[2] / ".." / "shared" / "openlineage"
CORPUS = OL / ".." / "corpus"
KINDS = {"RunFacet": "run", "JobFacet": "job", "DatasetFacet": "dataset", "InputDatasetFacet": "input"}
KINDS["OutputDatasetFacet"] = "output"
RUN_ID = "3f5e83fa-3480-44ff-99c5-ff943904e5e8"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


CORES = {p.stem: _load(p) for p in sorted((OL / "spec-versions").glob("*.json"))}
FACET_FILES = [_load(p) for p in sorted((OL / "facet-versions").glob("*/*.json"))]
FACET_FILES += [_load(p) for p in sorted((OL / "spec" / "facets").glob("*.json"))]


def _retrieve(uri: str) -> Resource[Any]:
    # 1-0-2 … 1-0-5 refer to facets relative to the core ("…/spec/1-0-5/facets/X.json").
    match = re.fullmatch(r"https://openlineage\.io/spec/[\d-]+/facets/(\w+)\.json", uri)
    if match is None:
        raise NoSuchResource(ref=uri)
    return Resource.from_contents(_load(OL / "spec" / "facets" / f"{match[1]}.json"))


REGISTRY: Registry[Any] = Registry(retrieve=_retrieve).with_resources(  # type: ignore[call-arg]
    (schema["$id"], Resource.from_contents(schema)) for schema in [*CORES.values(), *FACET_FILES]
)

FORMATS = FormatChecker(formats=())
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value[:17] + value[17:19].replace("60", "59") + value[19:].replace("z", "Z"))
    except ValueError:
        return False
    return True


@FORMATS.checks("uuid")
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(
        re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value)
    )


CORE_VALIDATORS = {
    version: validator_for(schema)(schema, registry=REGISTRY, format_checker=FORMATS)
    for version, schema in CORES.items()
}


def _facet_defs() -> dict[tuple[str, str], list[Any]]:
    """(kind, facet key) → validators of every published definition of that facet."""
    table: dict[tuple[str, str], list[Any]] = {}
    for schema in FACET_FILES:
        (key,) = schema["properties"]
        for name, definition in schema["$defs"].items():
            for kind_name in re.findall(r'/\$defs/(\w+Facet)"', json.dumps(definition.get("allOf", []))):
                if kind_name in KINDS:
                    ref = {"$ref": f"{schema['$id']}#/$defs/{name}"}
                    validator = Draft202012Validator(ref, registry=REGISTRY, format_checker=FORMATS)
                    table.setdefault((KINDS[kind_name], key), []).append(validator)
    return table


FACET_DEFS = _facet_defs()


def _facets_of(event: dict[str, Any]) -> list[tuple[str, str, Any]]:
    found: list[tuple[str, str, Any]] = []

    def add(kind: str, facets: Any) -> None:
        if isinstance(facets, dict):
            found.extend((kind, key, facet) for key, facet in facets.items())

    add("run", (event.get("run") or {}).get("facets"))
    add("job", (event.get("job") or {}).get("facets"))
    add("dataset", (event.get("dataset") or {}).get("facets"))
    for dataset in event.get("inputs") or []:
        add("dataset", dataset.get("facets"))
        add("input", dataset.get("inputFacets"))
    for dataset in event.get("outputs") or []:
        add("dataset", dataset.get("facets"))
        add("output", dataset.get("outputFacets"))
    return found


@cache
def _definition_validator(version: str, pointer: str) -> Any:
    """A validator for the definition ``pointer`` (``#/$defs/RunEvent``) of core ``version``."""
    ref = {"$ref": f"{CORES[version]['$id']}{pointer}"}
    return Draft202012Validator(ref, registry=REGISTRY, format_checker=FORMATS)


def _core_valid(event: Any) -> bool:
    """Valid under the core the ``schemaURL`` names, by the definition its fragment points to.

    2-0-0's top-level ``oneOf`` matches a RunEvent twice (its JobEvent lacks ``not run``),
    so the definition the pointer names is the honest reading of "valid for its version".
    """
    url = event.get("schemaURL", "") if isinstance(event, dict) else ""
    url = url if isinstance(url, str) else ""
    match = re.search(r"/spec/([\d-]+)/OpenLineage\.json(#/(?:definitions|\$defs)/\w+)?$", url)
    if match and match[1] in CORES:
        core = CORES[match[1]]
        container = "$defs" if "$defs" in core else "definitions"  # producers mix the two forms
        name = match[2].rsplit("/", 1)[1] if match[2] else None
        if name in core[container]:
            return bool(_definition_validator(match[1], f"#/{container}/{name}").is_valid(event))
        return bool(CORE_VALIDATORS[match[1]].is_valid(event))
    return any(v.is_valid(event) for v in CORE_VALIDATORS.values())


def officially_valid(event: Any) -> bool:
    """Whether the official schemas (core of the named version + facet schemas) accept ``event``."""
    if not _core_valid(event):
        return False
    return all(
        any(v.is_valid(facet) for v in FACET_DEFS.get((kind, key), [])) or (kind, key) not in FACET_DEFS
        for kind, key, facet in _facets_of(event)
    )


def assert_accepted(event: dict[str, Any]) -> None:
    parsed = parse_event(copy.deepcopy(event))
    normalize(parsed)


# --- the table itself ----------------------------------------------------------------


def test_facet_table_matches_our_rules() -> None:
    """Our rules are keyed like the official schemas (else the differential test proves nothing)."""
    extras = {("run", "environment-variables"), ("dataset", "subset")}  # client key; oneOf without a kind
    for kind, rules in FACET_RULES.items():
        for key in rules:
            assert (kind, key) in FACET_DEFS or (kind, key) in extras, (kind, key)
    assert len(FACET_DEFS) >= 35


def test_official_schemas_reject_the_corpus_invalid_events() -> None:
    for name in ("event_invalid_dataset_facet", "event_invalid_job_facet", "event_invalid_run_facet"):
        assert not officially_valid(decode_json((CORPUS / "proxy-events" / f"{name}.json").read_bytes()))
    assert not officially_valid(decode_json((CORPUS / "proxy-events" / "event_no_run_id.json").read_bytes()))


# --- real events ---------------------------------------------------------------------

CORPUS_FILES = sorted(p for p in CORPUS.rglob("*.json") if p.name != "flink_job_test.json")


def test_some_corpus_events_are_officially_valid() -> None:
    valid = [p for p in CORPUS_FILES if officially_valid(decode_json(p.read_bytes()))]
    assert len(valid) >= 10


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_officially_valid_corpus_events_are_accepted(path: Path) -> None:
    event = decode_json(path.read_bytes())
    if officially_valid(event):
        assert_accepted(event)


def test_spec_example_full_event_is_accepted() -> None:
    event = _load(OL / "spec-tests" / "example_full_event.json")
    assert officially_valid(event)
    assert_accepted(event)


# --- spec-tests facet examples -------------------------------------------------------


def _example_kind(directory: str, key: str, facet: dict[str, Any]) -> str:
    name = directory.removesuffix("-client")
    if name == "LineageFacet":
        return "job" if str(facet.get("_schemaURL", "")).endswith("LineageJobFacet") else "dataset"
    if name == "BaseSubsetDatasetFacet":
        return "input" if "inputCondition" in facet else "output"
    if name == "DataQualityAssertionsDatasetFacet":
        return "input"  # a dataset-named facet that the spec defines as an input facet
    return next(
        kind for suffix, kind in sorted(KINDS.items(), key=lambda i: -len(i[0])) if name.endswith(suffix)
    )


def _spec_examples() -> list[tuple[str, str, str, Any]]:
    examples = []
    for path in sorted((OL / "spec-tests").glob("*/*.json")):
        data = _load(path)
        if "_producer" in data:  # a bare facet (the -client fragment)
            data = {"nominalTime": data}
        for key, facet in data.items():
            examples.append(
                (f"{path.parent.name}/{path.name}", _example_kind(path.parent.name, key, facet), key, facet)
            )
    return examples


SPEC_EXAMPLES = _spec_examples()


def _base_event(version: str = "2-0-2") -> dict[str, Any]:
    fragment = "definitions" if version.startswith("1-0-") else "$defs"
    return {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T12:00:00.000Z",
        "run": {"runId": RUN_ID, "facets": {}},
        "job": {"namespace": "ns", "name": "job", "facets": {}},
        "inputs": [{"namespace": "ns", "name": "in", "facets": {}, "inputFacets": {}}],
        "outputs": [{"namespace": "ns", "name": "out", "facets": {}, "outputFacets": {}}],
        "producer": "https://example.com/producer",
        "schemaURL": f"https://openlineage.io/spec/{version}/OpenLineage.json#/{fragment}/RunEvent",
    }


def _place(event: dict[str, Any], kind: str, key: str, facet: Any) -> dict[str, Any]:
    target = {
        "run": event["run"]["facets"],
        "job": event["job"]["facets"],
        "dataset": event["outputs"][0]["facets"],
        "input": event["inputs"][0]["inputFacets"],
        "output": event["outputs"][0]["outputFacets"],
    }[kind]
    target[key] = facet
    return event


@pytest.mark.parametrize(("source", "kind", "key", "facet"), SPEC_EXAMPLES, ids=[e[0] for e in SPEC_EXAMPLES])
def test_spec_facet_examples_pass_our_rules(source: str, kind: str, key: str, facet: Any) -> None:
    validate_facet(kind, key, facet, f"{kind}.facets.{key}")  # type: ignore[arg-type]


@pytest.mark.parametrize("version", ["1-0-5", "2-0-0", "2-0-2"])
def test_spec_facet_examples_in_events(version: str) -> None:
    official = 0
    for _source, kind, key, facet in SPEC_EXAMPLES:
        event = _place(_base_event(version), kind, key, facet)
        if officially_valid(event):
            official += 1
            assert_accepted(event)
    assert official >= len(SPEC_EXAMPLES) // 2


# --- generated facets and events -----------------------------------------------------


class _TooDeep(Exception):
    pass


_UUIDS = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
_TIMES = st.builds(
    lambda d, frac, tz: d.strftime("%Y-%m-%dT%H:%M:%S") + frac + tz,
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(["", ".1", ".123", ".123456", ".123456789"]),
    st.sampled_from(["Z", "+00:00", "+10:00", "-05:30", "z"]),
)
_TEXT = st.text(max_size=6)


def _string(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    fmt = schema.get("format")
    if fmt == "date-time":
        return _TIMES
    if fmt == "uuid":
        return _UUIDS
    if fmt == "uri":
        return st.sampled_from(["https://example.com/p", "urn:x", "s3://bucket/key"])
    return _TEXT


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in parts:
        merged["properties"].update(part.get("properties", {}))
        merged["required"] += part.get("required", [])
    return merged


def _resolve(schema: dict[str, Any], resolver: Any) -> tuple[dict[str, Any], Any]:
    while "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        schema, resolver = resolved.contents, resolved.resolver
    return schema, resolver


def _object(schema: dict[str, Any], resolver: Any, depth: int) -> st.SearchStrategy[Any]:
    # carry the resolver along with each property: properties from allOf parts come from other files
    props = {
        name: _from_schema(sub, resolver, depth + 1) for name, sub in schema.get("properties", {}).items()
    }
    required = {name: props[name] for name in schema.get("required", []) if name in props}
    optional = {name: s for name, s in props.items() if name not in required}
    additional = schema.get("additionalProperties", True)
    if additional is False:
        extra: st.SearchStrategy[dict[str, Any]] = st.just({})
    elif additional is True:
        extra = st.dictionaries(st.sampled_from(["custom", "x_extra"]), _TEXT, max_size=1)
    else:
        extra = st.dictionaries(_TEXT, _from_schema(additional, resolver, depth + 1), max_size=2)
    fixed = st.fixed_dictionaries(required, optional=optional)
    return st.builds(lambda a, b: {**b, **a}, fixed, extra)


def _from_schema(schema: Any, resolver: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """A strategy for values ``schema`` (a facet schema subset) accepts, most of the time."""
    if depth > 14:
        raise _TooDeep
    schema, resolver = _resolve(schema, resolver)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            branches = []
            for branch in schema[combinator]:
                try:
                    rest = {k: v for k, v in schema.items() if k != combinator}
                    branches.append(_from_schema({**rest, **branch}, resolver, depth + 1))
                except _TooDeep:
                    continue
            if not branches:
                raise _TooDeep
            return st.one_of(branches)
    if schema.get("allOf"):
        parts = _flatten(schema, resolver)
        return _object_from_parts(_merge([p for p, _ in parts]), parts, depth)
    kind = schema.get("type", "object")
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum", -(2**40)), max_value=2**40)
    if kind == "number":
        return st.integers(-1000, 1000) | st.floats(allow_nan=False, allow_infinity=False, width=32)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        if depth > 8:
            return st.just([])
        return st.lists(_from_schema(schema.get("items", {}), resolver, depth + 1), max_size=2)
    return _object(schema, resolver, depth)


def _flatten(schema: dict[str, Any], resolver: Any) -> list[tuple[dict[str, Any], Any]]:
    """The schema and every (nested) ``allOf`` part, each with the resolver for its refs."""
    parts = [(schema, resolver)]
    for part in schema.get("allOf", []):
        resolved, part_resolver = _resolve(part, resolver)
        parts.extend(_flatten(resolved, part_resolver))
    return parts


def _object_from_parts(merged: dict[str, Any], parts: list[tuple[dict[str, Any], Any]], depth: int) -> Any:
    props: dict[str, st.SearchStrategy[Any]] = {}
    for part, resolver in parts:
        for name, sub in part.get("properties", {}).items():
            props[name] = _from_schema(sub, resolver, depth + 1)
    required = {name: props[name] for name in merged["required"] if name in props}
    optional = {name: s for name, s in props.items() if name not in required}
    return st.fixed_dictionaries(required, optional=optional)


@cache
def _facet_strategies() -> list[tuple[str, str, st.SearchStrategy[Any]]]:
    strategies = []
    for schema in FACET_FILES:
        (key,) = schema["properties"]
        resolver = REGISTRY.resolver(base_uri=schema["$id"])
        for name, definition in schema["$defs"].items():
            for kind_name in re.findall(r'/\$defs/(\w+Facet)"', json.dumps(definition.get("allOf", []))):
                if kind_name in KINDS:
                    strategy = _from_schema({"$ref": f"#/$defs/{name}"}, resolver)
                    strategies.append((KINDS[kind_name], key, strategy))
    return strategies


@st.composite
def _event_with_generated_facet(draw: st.DrawFn) -> dict[str, Any]:
    kind, key, strategy = draw(st.sampled_from(_facet_strategies()))
    return _place(_base_event(draw(st.sampled_from(["2-0-0", "2-0-2"]))), kind, key, draw(strategy))


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(_event_with_generated_facet())
def test_generated_facets_the_schemas_accept_are_accepted(event: dict[str, Any]) -> None:
    assume(officially_valid(event))
    assert_accepted(event)


_names = st.text(min_size=1, max_size=6)
_dataset = st.fixed_dictionaries(
    {"namespace": _names, "name": _names},
    optional={
        "facets": st.dictionaries(_TEXT, st.just({"_producer": "p", "_schemaURL": "s", "v": 1}), max_size=1)
    },
)


@st.composite
def _core_event(draw: st.DrawFn) -> dict[str, Any]:
    version = draw(st.sampled_from(sorted(CORES)))
    kinds = ["RunEvent"] if version.startswith("1-") else ["RunEvent", "JobEvent", "DatasetEvent"]
    kind = draw(st.sampled_from(kinds))
    fragment = "definitions" if version in ("1-0-0", "1-0-1") else "$defs"
    event: dict[str, Any] = {
        "eventTime": draw(_TIMES),
        "producer": draw(st.sampled_from(["https://example.com/p", ""])),
        "schemaURL": f"https://openlineage.io/spec/{version}/OpenLineage.json#/{fragment}/{kind}",
    }
    if kind == "DatasetEvent":
        event["dataset"] = draw(_dataset)
        return event
    event["job"] = draw(st.fixed_dictionaries({"namespace": _names, "name": _names}))
    event.update(draw(st.fixed_dictionaries({}, optional={"inputs": st.lists(_dataset, max_size=2)})))
    event.update(draw(st.fixed_dictionaries({}, optional={"outputs": st.lists(_dataset, max_size=2)})))
    if kind == "RunEvent":
        event["run"] = {"runId": draw(_UUIDS)}
        states = ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]
        event.update(draw(st.fixed_dictionaries({}, optional={"eventType": st.sampled_from(states)})))
    return event


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(_core_event())
def test_generated_core_events_the_schemas_accept_are_accepted(event: dict[str, Any]) -> None:
    assume(officially_valid(event))
    parsed = parse_event(copy.deepcopy(event))
    assert parsed.kind == event["schemaURL"].rsplit("/", 1)[1].removesuffix("Event").lower()
    normalize(parsed)
