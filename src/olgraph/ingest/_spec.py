"""A tiny JSON validator: the path helpers and spec combinators the facet rules are built from.

A spec checks one JSON value and raises :class:`~olgraph.errors.InvalidEvent` whose ``field``
is the full path of the offending value (``outputs[0].facets.ownership.owners[0].name``).
Unknown object properties are always accepted and ``null`` optional properties count as absent.

Paths are :data:`Path` values: a string, or a ``(parent, key or index)`` pair that costs one
tuple to make. The text (:func:`render`) is made only for an error, so a valid event, whose
every value is checked, pays no string work for the paths of its values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias

import orjson

from olgraph.errors import InvalidEvent

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_$-]+")


def child(path: str, key: str) -> str:
    """The path of property ``key`` under ``path`` (``a.b``, or ``a["odd key"]``)."""
    part = f".{key}" if _PLAIN_KEY.fullmatch(key) else f"[{orjson.dumps(key).decode()}]"
    return f"{path}{part}" if path else part.lstrip(".")


def item(path: str, index: int) -> str:
    """The path of array element ``index`` under ``path``."""
    return f"{path}[{index}]"


Path: TypeAlias = "str | tuple[Path, str | int]"
"""Where a value is: a rendered path, or (parent, property name or array index)."""


def render(path: Path) -> str:
    """The text of ``path``.

    >>> render(((("outputs", 0), "facets"), "odd key"))
    'outputs[0].facets["odd key"]'
    """
    parts: list[str | int] = []
    while isinstance(path, tuple):
        path, part = path
        parts.append(part)
    text = path
    for part in reversed(parts):
        text = item(text, part) if isinstance(part, int) else child(text, part)
    return text


def describe(value: Any) -> str:
    """A short rendering of a JSON value for error messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Spec(Protocol):
    """A validation rule for one JSON value."""

    def check(self, value: Any, path: Path) -> None:
        """Raise :class:`InvalidEvent` naming ``path`` when ``value`` breaks the rule."""


_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean"}


def _has_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":  # JSON Schema counts 5.0 as an integer too
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, int | float)


@dataclass(frozen=True, slots=True)
class Scalar:
    """A JSON string/integer/number/boolean, optionally one of ``enum``.

    ``enum`` values are compared case-insensitively (producers vary in case).
    """

    kind: Literal["string", "integer", "number", "boolean"]
    enum: tuple[str, ...] = ()

    def check(self, value: Any, path: Path) -> None:
        """Check the type and the allowed values."""
        plain_string = type(value) is str and self.kind == "string"  # most values: no more to ask
        if not plain_string and not _has_type(value, self.kind):
            raise InvalidEvent(
                f"expected {_TYPE_NAMES[self.kind]}, got {describe(value)}", field=render(path)
            )
        if self.enum and str(value).upper() not in self.enum:
            raise InvalidEvent(
                f"expected one of {', '.join(self.enum)}, got {describe(value)}", field=render(path)
            )


@dataclass(frozen=True, slots=True)
class AnyValue:
    """Any JSON value (the property is only known, not checked)."""

    def check(self, value: Any, path: Path) -> None:
        """Accept everything."""


@dataclass(frozen=True, slots=True)
class Obj:
    """A JSON object with ``required`` and ``optional`` known properties.

    ``together`` lists property pairs that must be present together (JSON Schema's
    ``dependentRequired``).
    """

    required: Mapping[str, Spec] = field(default_factory=dict)
    optional: Mapping[str, Spec] = field(default_factory=dict)
    together: tuple[tuple[str, str], ...] = ()

    def check(self, value: Any, path: Path) -> None:
        """Check the object, its required properties and its known optional ones."""
        if not isinstance(value, dict):
            raise InvalidEvent(f"expected an object, got {describe(value)}", field=render(path))
        for key, spec in self.required.items():
            found = value.get(key)
            if found is None:
                raise InvalidEvent("required property is missing", field=render((path, key)))
            spec.check(found, (path, key))
        for key, spec in self.optional.items():
            found = value.get(key)
            if found is not None:
                spec.check(found, (path, key))
        for first, second in self.together:
            if (value.get(first) is None) != (value.get(second) is None):
                missing = second if value.get(second) is None else first
                other = first if missing == second else second
                raise InvalidEvent(f"required when {other} is given", field=render((path, missing)))


@dataclass(frozen=True, slots=True)
class Arr:
    """A JSON array whose every element matches ``items``."""

    items: Spec

    def check(self, value: Any, path: Path) -> None:
        """Check the array and each element."""
        if not isinstance(value, list):
            raise InvalidEvent(f"expected an array, got {describe(value)}", field=render(path))
        check = self.items.check
        for index, element in enumerate(value):
            check(element, (path, index))


@dataclass(frozen=True, slots=True)
class MapOf:
    """A JSON object used as a map: any keys, every value matches ``values``."""

    values: Spec

    def check(self, value: Any, path: Path) -> None:
        """Check the object and each value."""
        if not isinstance(value, dict):
            raise InvalidEvent(f"expected an object, got {describe(value)}", field=render(path))
        if isinstance(self.values, AnyValue):
            return
        check = self.values.check
        for key, element in value.items():
            check(element, (path, key))


@dataclass(frozen=True, slots=True)
class Tagged:
    """An object whose ``tag`` property (e.g. ``type``) selects the rule in ``variants``.

    With ``open_tags`` an unknown tag value is accepted unchecked.
    """

    tag: str
    variants: Mapping[str, Spec]
    open_tags: bool = False

    def check(self, value: Any, path: Path) -> None:
        """Check the tag, then the variant it selects."""
        if not isinstance(value, dict):
            raise InvalidEvent(f"expected an object, got {describe(value)}", field=render(path))
        tag = value.get(self.tag)
        spec = self.variants.get(tag) if isinstance(tag, str) else None
        if spec is None:
            if self.open_tags:
                return
            expected = ", ".join(self.variants)
            raise InvalidEvent(
                f"expected one of {expected}, got {describe(tag)}", field=render((path, self.tag))
            )
        spec.check(value, path)


@dataclass(frozen=True, slots=True)
class Deferred:
    """A rule defined later (for recursive structures such as nested schema fields)."""

    resolve: Callable[[], Spec]

    def check(self, value: Any, path: Path) -> None:
        """Check with the resolved rule."""
        self.resolve().check(value, path)


@dataclass(frozen=True, slots=True)
class OneRequired:
    """An object that must have at least one of ``keys`` (each checked by ``base``)."""

    keys: tuple[str, ...]
    base: Obj

    def check(self, value: Any, path: Path) -> None:
        """Check ``base``, then that one of ``keys`` is present."""
        self.base.check(value, path)
        if all(value.get(key) is None for key in self.keys):
            raise InvalidEvent(f"expected one of the properties {', '.join(self.keys)}", field=render(path))


STR = Scalar("string")
INT = Scalar("integer")
NUM = Scalar("number")
BOOL = Scalar("boolean")
OBJECT = MapOf(AnyValue())
