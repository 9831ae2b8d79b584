"""Names a store can index: every string that becomes part of a node's identity is bounded.

Graph stores index node keys (``dataset:{namespace}:{name}``, ``field:…#{path}``…) and a few
properties made of the same strings (``namespace``, ``name``, a run's job). Neo4j cannot index
a value over about 8 KB: a longer name made the whole event fail in the consumer after ingest
had answered 201, so the event was lost. olgraph refuses such events at ingest instead, with a
400 naming the field, identically for both stores (docs/decisions/0011-indexable-names.md):

* every *name* — namespace, job, dataset, dataset version, owner, tag key and tag value, run
  id, the namespace and name a facet refers to (parent, symlinks, column lineage, lineage) —
  holds at most :data:`MAX_NAME_BYTES` bytes of UTF-8;
* so does every *field path* (nested schema fields joined with ``.``, a column-lineage field).

A key is made of at most three of those (a dataset version: namespace, name, version; a field:
namespace, name, path) and a short prefix, so every key and indexed property stays under
:data:`MAX_INDEXED_BYTES`, well inside Neo4j's limit.

The positions walked here are the ones :mod:`olgraph.normalize` reads identities from;
``tests/unit/ingest/test_identity.py`` checks, property-based, that no event passing this check
normalizes to a key over :data:`MAX_INDEXED_BYTES`.

>>> check_identities({"job": {"namespace": "n", "name": "x" * 3000}}, "job")
Traceback (most recent call last):
olgraph.errors.InvalidEvent: job.name: 3000 bytes long; a name may hold at most 2048 bytes (UTF-8)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from olgraph.errors import InvalidEvent
from olgraph.ingest._spec import Path, render
from olgraph.ingest.event import EventKind

MAX_NAME_BYTES = 2048
"""Most UTF-8 bytes of one name or field path."""

MAX_INDEXED_BYTES = 3 * MAX_NAME_BYTES + 32
"""Most UTF-8 bytes of any key or indexed property the normalizer builds from checked names
(three names and a prefix); Neo4j's range indexes take values up to about 8160 bytes."""


def check_identities(data: dict[str, Any], kind: EventKind) -> None:
    """Raise :class:`InvalidEvent` naming the first identity string that is too long.

    ``data`` is an event that passed the structural checks of :func:`olgraph.ingest.parse_event`
    (containers have the right JSON types where it matters); values of other types are skipped,
    as the normalizer skips them.
    """
    for path, value in _identities(data, kind):
        if len(value) <= _SURELY_SHORT:
            continue
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_NAME_BYTES:
            raise InvalidEvent(
                f"{size} bytes long; a name may hold at most {MAX_NAME_BYTES} bytes (UTF-8)",
                field=render(path),
            )


_SURELY_SHORT = MAX_NAME_BYTES // 4
"""Characters a name may have without being measured: one takes at most 4 bytes of UTF-8."""


def _identities(data: dict[str, Any], kind: EventKind) -> Iterator[tuple[Path, str]]:
    """(JSON path, string) of every name and field path the normalizer makes identities of."""
    if kind == "dataset":
        yield from _dataset(_obj(data.get("dataset")), "dataset")
        return
    job = _obj(data.get("job"))
    yield from _named(job, "job")
    yield from _job_facets(_obj(job.get("facets")), "job.facets")
    if kind == "run":
        run = _obj(data.get("run"))
        yield from _strings((("run.runId", run.get("runId")),))
        yield from _run_facets(_obj(run.get("facets")), "run.facets")
    for key in ("inputs", "outputs"):
        for index, dataset in enumerate(_list(data.get(key))):
            yield from _dataset(_obj(dataset), (key, index))


def _keyed(path: Path, name: str) -> Path:
    """The path of the property named ``name``; a long name is shortened (the message says how long)."""
    return (path, name if len(name) <= 64 else f"{name[:48]}…")


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(pairs: Any) -> Iterator[tuple[Path, str]]:
    for path, value in pairs:
        if isinstance(value, str):
            yield path, value


def _named(obj: dict[str, Any], path: Path, field: str | None = None) -> Iterator[tuple[Path, str]]:
    """``namespace`` and ``name`` of ``obj`` (and its ``field`` path when asked)."""
    for name in ("namespace", "name", field) if field else ("namespace", "name"):
        value = obj.get(name)
        if isinstance(value, str):
            yield (path, name), value


def _dataset(dataset: dict[str, Any], path: Path) -> Iterator[tuple[Path, str]]:
    yield from _named(dataset, path)
    facets_path = (path, "facets")
    facets = _obj(dataset.get("facets"))
    version = _obj(facets.get("version"))
    yield from _strings(((((facets_path, "version"), "datasetVersion"), version.get("datasetVersion")),))
    yield from _schema_paths(_obj(facets.get("schema")), (facets_path, "schema"))
    yield from _column_lineage(_obj(facets.get("columnLineage")), (facets_path, "columnLineage"))
    symlinks = ((facets_path, "symlinks"), "identifiers")
    for index, ident in enumerate(_list(_obj(facets.get("symlinks")).get("identifiers"))):
        yield from _named(_obj(ident), (symlinks, index))
    yield from _owners_and_tags(facets, facets_path)


def _schema_paths(schema: dict[str, Any], path: Path) -> Iterator[tuple[Path, str]]:
    """Every field's dotted path, named by the ``name`` that ends it."""
    stack = [
        ("", f, ((path, "fields"), i)) for i, f in reversed(list(enumerate(_list(schema.get("fields")))))
    ]
    while stack:  # iterative, as the normalizer: nesting depth is the producer's choice
        prefix, spec, where = stack.pop()
        name = _obj(spec).get("name")
        if not isinstance(name, str):
            continue
        full = f"{prefix}{name}"
        yield (where, "name"), full
        nested = _list(spec.get("fields"))
        if nested:
            stack.extend(
                (f"{full}.", f, ((where, "fields"), i)) for i, f in reversed(list(enumerate(nested)))
            )


def _column_lineage(facet: dict[str, Any], path: Path) -> Iterator[tuple[Path, str]]:
    fields_path = (path, "fields")
    for name, spec in _obj(facet.get("fields")).items():
        where = _keyed(fields_path, name)
        yield where, name
        for index, ref in enumerate(_list(_obj(spec).get("inputFields"))):
            yield from _named(_obj(ref), ((where, "inputFields"), index), "field")
    for index, ref in enumerate(_list(facet.get("dataset"))):
        yield from _named(_obj(ref), ((path, "dataset"), index), "field")


def _owners_and_tags(facets: dict[str, Any], path: Path) -> Iterator[tuple[Path, str]]:
    owners = ((path, "ownership"), "owners")
    for index, owner in enumerate(_list(_obj(facets.get("ownership")).get("owners"))):
        yield from _strings(((((owners, index), "name"), _obj(owner).get("name")),))
    tags = ((path, "tags"), "tags")
    for index, tag in enumerate(_list(_obj(facets.get("tags")).get("tags"))):
        yield from _strings((((tags, index), k), _obj(tag).get(k)) for k in ("key", "value"))


def _job_facets(facets: dict[str, Any], path: Path) -> Iterator[tuple[Path, str]]:
    yield from _owners_and_tags(facets, path)
    entries_path = ((path, "lineage"), "entries")
    for index, raw_entry in enumerate(_list(_obj(facets.get("lineage")).get("entries"))):
        where = (entries_path, index)
        entry = _obj(raw_entry)
        yield from _named(entry, where)
        for position, ref in enumerate(_list(entry.get("inputs"))):
            yield from _named(_obj(ref), ((where, "inputs"), position), "field")
        for name, spec in _obj(entry.get("fields")).items():
            field = _keyed((where, "fields"), name)
            yield field, name
            for position, ref in enumerate(_list(_obj(spec).get("inputs"))):
                yield from _named(_obj(ref), ((field, "inputs"), position), "field")


def _run_facets(facets: dict[str, Any], path: Path) -> Iterator[tuple[Path, str]]:
    yield from _owners_and_tags({"tags": facets.get("tags")}, path)
    parent = _obj(facets.get("parent"))
    parent_path = (path, "parent")
    for ref, where in ((parent, parent_path), (_obj(parent.get("root")), (parent_path, "root"))):
        yield from _named(_obj(ref.get("job")), (where, "job"))
        yield from _strings(((((where, "run"), "runId"), _obj(ref.get("run")).get("runId")),))
