"""Bounds on what one request body may hold, checked in time linear in its size.

A body within the byte limits can still be costly to turn into Python objects: 9 MB of
``[],[],…`` are three million lists (over a second of parsing and 250 MB of memory), a schema
facet of 100,000 fields takes seconds to validate and normalize. So before a body is parsed,
its *structure* is estimated from byte counts (C speed, milliseconds for megabytes), and a
body that certainly holds too many JSON values is refused without being parsed at all. What
passes is parsed and walked once, container by container, to check the exact limits:

* ``max_depth``: nesting of arrays and objects (the root is depth 1);
* ``max_body_values`` / ``max_event_values``: JSON values (objects, arrays, strings, numbers,
  booleans, nulls; object keys are not counted) in the body and in each event;
* ``max_container_items``: elements of one array or members of one object inside an event
  (a schema's fields, a facet's properties);
* ``max_string_chars``: length of one string, object keys included.

Every refusal is a :class:`~olgraph.errors.PayloadTooLarge` (413), or an
:class:`~olgraph.errors.InvalidEvent` (400) for the depth, whose message names the setting
(``limits.max_event_values``) and, when one value is at fault, its path.

>>> check_event({"a": [1, 2, 3]}, JsonLimits(max_container_items=2))
Traceback (most recent call last):
olgraph.errors.PayloadTooLarge: a: 3 items in one array, more than limits.max_container_items (2)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from olgraph.errors import InvalidEvent, PayloadTooLarge
from olgraph.ingest._spec import child, item


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """The structural limits of one body (see the module docstring); settings ``limits.*``."""

    max_depth: int = 64
    max_body_values: int = 1_000_000
    max_event_values: int = 200_000
    max_container_items: int = 10_000
    max_string_chars: int = 1_048_576


def estimated_values(body: bytes) -> int:
    """An upper bound of the JSON values in ``body``, from byte counts alone.

    Every value but the first in its container follows a comma, and each container adds
    at most one more, so ``values <= commas + containers + 1 <= 2 * values``. Counting all
    commas and brackets, those inside strings too, only raises the bound.
    """
    return body.count(b",") + body.count(b"[") + body.count(b"{") + 1


def _structural_values(body: bytes) -> int:
    """:func:`estimated_values` counting only the commas and brackets outside strings."""
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[0::2])
    return estimated_values(outside)


def precheck(body: bytes, cap: int, setting: str) -> None:
    """Refuse ``body`` (413) when it certainly holds more than ``cap`` JSON values, unparsed."""
    if estimated_values(body) <= 2 * cap:
        return
    if _structural_values(body) > 2 * cap:
        raise PayloadTooLarge(f"the body holds more than {cap} JSON values ({setting})")


def decode(body: bytes, limits: JsonLimits, *, batch: bool = False) -> Any:
    """Parse a request or message body within ``limits``.

    One event (``batch=False``) must keep to the event limits; a batch (a JSON array) to the
    body's value count, one level deeper, while the caller checks its elements one by one
    with :func:`check_event` (so one element over a limit fails alone).
    Raises :class:`InvalidEvent` (not JSON, too deep) or :class:`PayloadTooLarge`.
    """
    if batch:
        cap, setting = limits.max_body_values, "limits.max_body_values"
    else:
        cap, setting = min(limits.max_body_values, limits.max_event_values), "limits.max_event_values"
    precheck(body, cap, setting)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in exc.msg:  # orjson's own limit (1024) is far above ours
            raise InvalidEvent(f"JSON nested deeper than {limits.max_depth} levels") from exc
        raise InvalidEvent(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    _Walk(limits, cap, setting, len(body), batch=batch).check(data)
    return data


def check_event(event: Any, limits: JsonLimits, body_size: int | None = None) -> None:
    """Check one already-parsed event (a batch element) against the event limits.

    ``body_size``: the size of the body it came from, when known (no string is longer, which
    spares looking at the strings of bodies shorter than ``max_string_chars``).
    """
    _Walk(limits, limits.max_event_values, "limits.max_event_values", body_size).check(event)


class _Walk:
    """One walk over the containers of a JSON value checking depth, values, sizes and strings.

    Only containers are visited (their values are counted with ``len``), and strings only
    when the body is longer than ``max_string_chars``: a few microseconds per array or object.
    A batch is one level deeper and only its depth and value count are checked here: its
    elements are checked one by one with :func:`check_event`, so that one fails alone.
    """

    def __init__(
        self, limits: JsonLimits, cap: int, setting: str, body_size: int | None, *, batch: bool = False
    ) -> None:
        self.limits, self.cap, self.setting, self.batch = limits, cap, setting, batch
        self.strings = body_size is None or body_size > limits.max_string_chars

    def check(self, data: Any) -> None:
        """Raise :class:`InvalidEvent` or :class:`PayloadTooLarge` when ``data`` breaks a limit."""
        if isinstance(data, str) and self.strings:
            self._check_string(data, data, None)
        if not isinstance(data, (dict, list)):
            return
        max_depth = self.limits.max_depth + (1 if self.batch else 0)
        max_items = self.limits.max_container_items
        whole = not self.batch  # a batch's elements are checked one by one (check_event)
        strings = whole and self.strings
        values = 1
        level: list[Any] = [data]  # the containers one level down, level by level
        for depth in itertools.count(1):
            if not level:
                return
            if depth > max_depth:
                raise InvalidEvent(f"JSON nested deeper than {self.limits.max_depth} levels")
            below: list[Any] = []
            for value in level:
                size = len(value)
                values += size
                if values > self.cap:
                    raise PayloadTooLarge(f"more than {self.cap} JSON values ({self.setting})")
                if whole and size > max_items:
                    self._check_size(data, value)
                if strings:
                    self._check_strings(data, value)
                children = value.values() if isinstance(value, dict) else value
                below.extend([c for c in children if isinstance(c, (dict, list))])
            level = below

    def _check_size(self, root: Any, container: dict[str, Any] | list[Any]) -> None:
        limit = self.limits.max_container_items
        if len(container) <= limit:
            return
        kind = "members in one object" if isinstance(container, dict) else "items in one array"
        raise PayloadTooLarge(
            f"{_at(root, container)}{len(container)} {kind}, more than limits.max_container_items ({limit})"
        )

    def _check_strings(self, root: Any, container: dict[str, Any] | list[Any]) -> None:
        limit = self.limits.max_string_chars
        if isinstance(container, dict):
            for key, value in container.items():
                if len(key) > limit:
                    self._check_string(root, key, container)
                if isinstance(value, str) and len(value) > limit:
                    self._check_string(root, value, None)
        else:
            for value in container:
                if isinstance(value, str) and len(value) > limit:
                    self._check_string(root, value, None)

    def _check_string(self, root: Any, text: str, holder: dict[str, Any] | None) -> None:
        """Refuse ``text``, a string value or (``holder`` given) a key of ``holder``."""
        limit = self.limits.max_string_chars
        if len(text) <= limit:
            return
        where = _at(root, holder) if holder is not None else _at(root, text)
        what = "an object key" if holder is not None else "a string"
        raise PayloadTooLarge(
            f"{where}{what} of {len(text)} characters, more than limits.max_string_chars ({limit})"
        )


def _at(root: Any, target: Any) -> str:
    """``"path: "`` of the object ``target`` inside ``root`` (empty for the root or when not found)."""
    for path, value in _walk(root, ""):
        if value is target:
            return f"{path}: " if path else ""
    return ""


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(path, value) of every value, depth first, without recursion."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, current = stack.pop()
        yield where, current
        if isinstance(current, dict):
            stack.extend((child(where, str(k)), v) for k, v in current.items())
        elif isinstance(current, list):
            stack.extend((item(where, i), v) for i, v in enumerate(current))
