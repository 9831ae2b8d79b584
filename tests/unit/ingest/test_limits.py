"""Structural limits of bodies: exact where they must be, refused unparsed where they can be."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olgraph.errors import InvalidEvent, PayloadTooLarge
from olgraph.ingest import limits as limits_module
from olgraph.ingest.limits import JsonLimits, check_event, decode, estimated_values
from olgraph.ingest.reader import EventReader

_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(alphabet=',[]{}"\\ab:'),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=4), children, max_size=5)
    ),
    max_leaves=40,
)


def values_of(data: Any) -> int:
    """JSON values counted the plain way (keys are not values)."""
    if isinstance(data, list):
        return 1 + sum(values_of(v) for v in data)
    if isinstance(data, dict):
        return 1 + sum(values_of(v) for v in data.values())
    return 1


@given(_json)
@settings(max_examples=300)
def test_the_byte_estimate_bounds_the_value_count(data: Any) -> None:
    """values <= estimate, and the estimate outside strings <= 2 * values: refusing above
    2 * cap without parsing never refuses a body within the cap."""
    body = orjson.dumps(data)
    assert values_of(data) <= estimated_values(body)
    assert limits_module._structural_values(body) <= 2 * values_of(data)


@given(_json, st.integers(1, 60))
@settings(max_examples=300)
def test_the_value_limit_is_exact(data: Any, cap: int) -> None:
    body = orjson.dumps(data)
    limits = JsonLimits(max_event_values=cap, max_container_items=10_000)
    if values_of(data) <= cap:
        assert decode(body, limits) == data
    else:
        with pytest.raises(PayloadTooLarge, match=r"limits\.max_event_values"):
            decode(body, limits)


def test_three_million_empty_arrays_are_refused_without_being_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 9 MB body that took seconds in a depth check: byte counts alone refuse it."""

    def no_parsing(_: bytes) -> Any:
        raise AssertionError("the body was parsed")

    monkeypatch.setattr(limits_module.orjson, "loads", no_parsing)
    body = b"[" + b"[]," * 3_000_000 + b"[]]"
    with pytest.raises(PayloadTooLarge, match=r"more than 200000 JSON values \(limits\.max_event_values\)"):
        decode(body, JsonLimits())
    with pytest.raises(PayloadTooLarge, match=r"limits\.max_body_values"):
        decode(body, JsonLimits(), batch=True)


def test_commas_inside_strings_do_not_count() -> None:
    """A long SQL text full of commas is one value, not thousands."""
    event = {"job": {"facets": {"sql": {"query": "SELECT " + ", ".join(["a"] * 5000)}}}}
    assert decode(orjson.dumps(event), JsonLimits(max_event_values=10)) == event


def test_escaped_quotes_do_not_confuse_the_string_scan() -> None:
    text = 'say \\"hi\\", [then] {go}, ' * 100
    body = orjson.dumps({"a": text, "b": [1, 2]})
    assert limits_module._structural_values(body) <= 2 * 5


def test_a_wide_schema_names_its_path_and_the_setting() -> None:
    fields = [{"name": f"c{i}", "type": "int"} for i in range(11)]
    event = {"outputs": [{"facets": {"schema": {"fields": fields}}}]}
    with pytest.raises(PayloadTooLarge) as info:
        decode(orjson.dumps(event), JsonLimits(max_container_items=10))
    assert str(info.value) == (
        "outputs[0].facets.schema.fields: 11 items in one array, more than limits.max_container_items (10)"
    )


def test_an_object_with_too_many_members() -> None:
    event = {"run": {"facets": {"custom": {f"k{i}": i for i in range(6)}}}}
    with pytest.raises(PayloadTooLarge, match=r"run\.facets\.custom: 6 members in one object"):
        decode(orjson.dumps(event), JsonLimits(max_container_items=5))


def test_long_strings_and_keys_are_refused_with_their_path() -> None:
    limits = JsonLimits(max_string_chars=100)
    with pytest.raises(PayloadTooLarge) as info:
        decode(orjson.dumps({"job": {"name": "x" * 101}}), limits)
    assert str(info.value) == (
        "job.name: a string of 101 characters, more than limits.max_string_chars (100)"
    )
    with pytest.raises(PayloadTooLarge, match=r"^job: an object key of 101 characters"):
        decode(orjson.dumps({"job": {"k" * 101: 1}}), limits)
    assert decode(orjson.dumps({"job": {"name": "x" * 100}}), limits) == {"job": {"name": "x" * 100}}


@pytest.mark.parametrize("depth", [64, 65, 1000, 100_000])
def test_depth_is_limited_whatever_how_deep(depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    if depth <= 64:
        assert decode(body, JsonLimits()) is not None
    else:
        with pytest.raises(InvalidEvent, match="JSON nested deeper than 64 levels"):
            decode(body, JsonLimits())


def test_a_batch_is_one_level_deeper_and_leaves_sizes_to_the_elements() -> None:
    batch = [{"a": [[1]]} for _ in range(20)] + [{"b": list(range(20))}]
    limits = JsonLimits(max_depth=4, max_container_items=10)
    assert decode(orjson.dumps(batch), limits, batch=True) == batch
    with pytest.raises(InvalidEvent, match="deeper than 2 levels"):  # {"a": [[1]]} is 3 deep
        decode(orjson.dumps(batch), JsonLimits(max_depth=2), batch=True)


def test_check_event_applies_the_event_limits_to_one_element() -> None:
    check_event({"a": [1, 2]}, JsonLimits(max_event_values=4))
    with pytest.raises(PayloadTooLarge, match=r"more than 3 JSON values \(limits\.max_event_values\)"):
        check_event({"a": [1, 2]}, JsonLimits(max_event_values=3))


def _event(index: int, **extra: Any) -> dict[str, Any]:
    return {
        "eventTime": "2024-05-01T00:00:00Z",
        "job": {"namespace": "n", "name": f"j{index}"},
        **extra,
    }


def test_in_a_batch_only_the_element_over_a_limit_fails() -> None:
    big = _event(1, job={"namespace": "n", "name": "big", "facets": {"x": {"v": list(range(40))}}})
    reader = EventReader(JsonLimits(max_event_values=30, max_container_items=100))
    outcomes = reader.read_batch(orjson.dumps([_event(0), big, _event(2)]))
    assert [type(o).__name__ for o in outcomes] == ["tuple", "PayloadTooLarge", "tuple"]
    assert "limits.max_event_values" in str(outcomes[1])


def test_a_batch_over_the_batch_length_names_the_setting() -> None:
    reader = EventReader(max_batch_events=2)
    with pytest.raises(PayloadTooLarge, match=r"at most 2 events, got 3 \(limits\.max_batch_events\)"):
        reader.read_batch(orjson.dumps([_event(0), _event(1), _event(2)]))
