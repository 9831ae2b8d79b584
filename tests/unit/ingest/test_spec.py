"""The validator's paths: made as tuples while checking, rendered only for an error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from olgraph.errors import InvalidEvent
from olgraph.ingest._spec import STR, Arr, MapOf, Obj, Path, child, item, render

steps = st.lists(st.one_of(st.text(max_size=12), st.integers(min_value=0, max_value=10_000)), max_size=8)


@given(root=st.sampled_from(["", "job.facets", "outputs[3]"]), parts=steps)
def test_a_rendered_path_is_the_path_built_step_by_step(root: str, parts: list[str | int]) -> None:
    lazy: Path = root
    eager = root
    for part in parts:
        lazy = (lazy, part)
        eager = item(eager, part) if isinstance(part, int) else child(eager, part)
    assert render(lazy) == eager


@pytest.mark.parametrize(
    ("value", "field", "message"),
    [
        ({"a": [{"b c": {"d": 5}}]}, 'x.a[0]["b c"].d', "expected a string, got 5"),
        ({"a": [{"b c": {}}]}, 'x.a[0]["b c"].d', "required property is missing"),
        ({"a": [{"b c": {"d": "ok"}}, 7]}, "x.a[1]", "expected an object, got 7"),
        ({"a": {}}, "x.a", "expected an array, got an object"),
    ],
)
def test_an_error_names_the_full_path_of_the_value(value: object, field: str, message: str) -> None:
    spec = Obj({"a": Arr(MapOf(Obj({"d": STR})))})
    with pytest.raises(InvalidEvent) as raised:
        spec.check(value, "x")
    assert raised.value.field == field
    assert str(raised.value) == f"{field}: {message}"
