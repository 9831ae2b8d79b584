"""Asking Marquez and olgraph the same questions and comparing the answers.

:class:`Side` sends a GET to one server's ``/api/v1`` (names percent-encoded per path segment, as
Marquez's clients do). :func:`compare` walks two answers side by side and reports every
difference as a :class:`Difference` at a JSON path such as ``datasets[name=orders].fields[id].type``:
list items are matched by identity (``id``, ``name``, edges by ends), not by position, where
Marquez's order is unspecified. Before comparing, ids that are Marquez's internal UUIDs (versions
of datasets and jobs, a parent job's row id) are masked on both sides when both have one.

:data:`KNOWN` lists the differences that remain by design, each with the reason docs/
migrating-from-marquez.md gives (its ``id`` appears there); every other difference fails the
suite.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

MASKED_KEYS = frozenset(
    {"currentVersion", "version", "datasetVersion", "currentSchemaVersion", "parentJobUuid"}
)
"""Keys whose values are Marquez row ids (UUIDs): compared as present or null, not by value."""


@dataclass(frozen=True)
class Answer:
    """One answer: status and JSON body (or the text when the body is not JSON)."""

    status: int
    body: Any


class Side:
    """One server's Marquez API."""

    def __init__(self, name: str, base_url: str, timeout: float = 120.0) -> None:
        self.name = name
        self.client = httpx.Client(base_url=base_url, timeout=timeout)

    def get(self, segments: Iterable[str], **params: Any) -> Answer:
        """GET ``/api/v1/<segments…>`` (each segment encoded whole) with ``params``."""
        return self.send("GET", segments, **params)

    def delete(self, segments: Iterable[str]) -> Answer:
        """DELETE ``/api/v1/<segments…>``."""
        return self.send("DELETE", segments)

    def send(self, method: str, segments: Iterable[str], **params: Any) -> Answer:
        """``method`` on ``/api/v1/<segments…>`` with ``params``; the answer."""
        path = "/api/v1/" + "/".join(quote(s, safe="") for s in segments)
        query = {k: v for k, v in params.items() if v is not None}
        response = self.client.request(method, path, params=query)
        try:
            body = response.json() if response.content else None
        except json.JSONDecodeError:
            body = response.text
        return Answer(response.status_code, body)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


@dataclass(frozen=True)
class Difference:
    """Where two answers differ: the route asked, the JSON path, and both values."""

    route: str
    path: str
    marquez: Any
    olgraph: Any

    def __str__(self) -> str:
        m, o = _short(self.marquez), _short(self.olgraph)
        return f"{self.route} :: {self.path}: Marquez {m} | olgraph {o}"


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


MISSING = "<missing>"


def _identity(item: Any) -> str | None:
    """How a list item is matched with its counterpart (None: by position)."""
    if not isinstance(item, dict):
        return None
    if "eventTime" in item and isinstance(item.get("run"), dict):  # a RunEvent
        job = item.get("job") if isinstance(item.get("job"), dict) else {}
        ends = [
            f"{end.get('namespace')}:{end.get('name')}"
            for side in ("inputs", "outputs")
            for end in (item.get(side) or [])
            if isinstance(end, dict)
        ]
        run = item["run"].get("runId")
        return f"{item['eventTime']} {item.get('eventType')} {run} {job.get('name')} {','.join(ends)}"
    if "origin" in item and "destination" in item:
        return f"{item['origin']}->{item['destination']}"
    if "datasetVersionId" in item and isinstance(item["datasetVersionId"], dict):
        ref = item["datasetVersionId"]
        return f"{ref.get('namespace')}:{ref.get('name')}"
    if "namespace" in item and "dataset" in item and "field" in item:
        return f"{item['namespace']}:{item['dataset']}:{item['field']}"
    if set(item) == {"namespace", "name"}:
        return f"{item['namespace']}:{item['name']}"
    for key in ("id", "nodeId", "runId", "name"):
        if key in item:
            value = item[key]
            return json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
    return None


def _by_identity(items: list[Any]) -> dict[str, Any] | None:
    """Items by identity (a repeated identity numbered ``#2``, ``#3``… in order); None when an
    item has none."""
    keyed: dict[str, Any] = {}
    for item in items:
        key = _identity(item)
        if key is None:
            return None
        n = 1
        while (key if n == 1 else f"{key}#{n}") in keyed:
            n += 1
        keyed[key if n == 1 else f"{key}#{n}"] = item
    return keyed


def _walk(path: str, marquez: Any, olgraph: Any) -> Iterator[tuple[str, Any, Any]]:
    if isinstance(marquez, dict) and isinstance(olgraph, dict):
        for key in sorted(set(marquez) | set(olgraph)):
            sub = f"{path}.{key}" if path else key
            left, right = marquez.get(key, MISSING), olgraph.get(key, MISSING)
            if key in MASKED_KEYS and left not in (None, MISSING) and right not in (None, MISSING):
                continue
            yield from _walk(sub, left, right)
        return
    if isinstance(marquez, list) and isinstance(olgraph, list):
        left_keys, right_keys = _by_identity(marquez), _by_identity(olgraph)
        if left_keys is not None and right_keys is not None and (marquez or olgraph):
            for key in sorted(set(left_keys) | set(right_keys)):
                yield from _walk(f"{path}[{key}]", left_keys.get(key, MISSING), right_keys.get(key, MISSING))
            return
        if len(marquez) == len(olgraph):
            for index, (left, right) in enumerate(zip(marquez, olgraph, strict=True)):
                yield from _walk(f"{path}[{index}]", left, right)
            return
    if marquez != olgraph:
        yield path, marquez, olgraph


def compare(route: str, marquez: Answer, olgraph: Answer) -> list[Difference]:
    """Every difference between two answers to ``route`` (status first, then the bodies)."""
    found = []
    if marquez.status != olgraph.status:
        found.append(Difference(route, "<status>", marquez.status, olgraph.status))
    found += [Difference(route, p, m, o) for p, m, o in _walk("", marquez.body, olgraph.body)]
    return found


# ---------------------------------------------------------------- differences by design


@dataclass(frozen=True)
class Known:
    """A difference by design: routes (regex) and JSON paths (glob with ``[*]`` for any item)
    it covers, and the id of its entry in docs/migrating-from-marquez.md."""

    id: str
    routes: str
    paths: tuple[str, ...]
    reason: str
    seen: list[Difference] = field(default_factory=list, compare=False)

    def covers(self, difference: Difference) -> bool:
        """Whether ``difference`` is this one."""
        if not re.search(self.routes, difference.route):
            return False
        generic = _generic(difference.path)
        return any(re.fullmatch(_glob(pattern), generic) for pattern in self.paths)


def _generic(path: str) -> str:
    """``path`` with each list item's identity replaced by ``*`` (identities may hold brackets)."""
    out, depth = [], 0
    for char in path:
        if char == "[":
            if depth == 0:
                out.append("[*]")
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def _glob(pattern: str) -> str:
    """A path glob as a regex: ``*`` any text, ``[*]`` a list item (literally)."""
    return r"\[\*\]".join(re.escape(part).replace(r"\*", ".*") for part in pattern.split("[*]"))


def unexplained(differences: Iterable[Difference], known: Iterable[Known]) -> list[Difference]:
    """The differences no :class:`Known` entry covers (each covered one is recorded in its ``seen``)."""
    rest = []
    catalogue = list(known)
    for difference in differences:
        match = next((k for k in catalogue if k.covers(difference)), None)
        if match is None:
            rest.append(difference)
        else:
            match.seen.append(difference)
    return rest
