"""Reading an executed Ray Data plan: what it reads, what it writes, and their schemas.

Ray Data hands each execution callback its ``StreamingExecutor``. The executor's topology
maps the physical operators to their state, and each physical operator remembers the
logical operators it was planned from (``_logical_operators``; a fused operator such as
``ReadFiles->MapBatches->Write`` remembers all of them). The logical operators read here
are Ray 2.60's:

- ``ListFiles`` and the ``ReadFiles`` that consumes it (``read_parquet`` and the other
  datasource-v2 readers): ``source_paths`` are the user's paths, ``ReadFiles.schema`` the
  files' schema;
- ``Read`` (the other ``read_*`` functions): a file-based datasource keeps the user's paths
  (``_source_paths``) and its filesystem; other datasources (``range``, databases) have no
  location we can name;
- ``Write`` (every ``write_*``): a file datasink keeps the user's path (``unresolved_path``)
  and its filesystem;
- ``InputData``: the blocks of a materialized dataset, read by an earlier execution.

Everything is read with ``getattr`` and fallbacks, so another Ray version yields what it
can, and the operators it could not read are listed in :attr:`PlanLineage.unreadable`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from olgraph.integrations._common import dataset_identity

MAX_OPERATORS = 10_000  # a plan is a few dozen operators; this only bounds a cyclic surprise
# pyarrow filesystem type names (and fsspec protocols) → URI schemes, for paths given without one
_FS_SCHEMES = {"s3": "s3", "s3a": "s3", "gcs": "gs", "gs": "gs", "abfs": "abfs", "hdfs": "hdfs"}
_LOCAL_FS = {"local", "file", "mock"}

Fields = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class DataRef:
    """One dataset an execution reads or writes, named by the OpenLineage conventions."""

    namespace: str
    name: str
    format: str | None = None  # "parquet", "csv", … (from Ray's datasource or datasink name)
    fields: Fields | None = None  # (name, type) pairs when Ray knows the schema


@dataclass(frozen=True)
class Output:
    """A dataset a ``Write`` operator produces, with the datasink (to read its schema later)."""

    ref: DataRef
    datasink: Any = field(compare=False)


@dataclass(frozen=True)
class PlanLineage:
    """What one execution reads and writes."""

    dataset_id: str
    inputs: tuple[DataRef, ...] = ()
    outputs: tuple[Output, ...] = ()
    materialized_input: bool = False  # the plan consumes blocks of a materialized dataset
    written_dataset_uuid: str | None = None  # Ray's uuid of the dataset a Write writes
    unreadable: tuple[str, ...] = ()  # operators whose data we could not name

    @property
    def dataset_uuid(self) -> str | None:
        """The executed dataset's uuid (``dataset_<uuid>_<n>``, or ``<name>_<uuid>_<n>``)."""
        parts = self.dataset_id.rsplit("_", 2)
        return parts[1] if len(parts) == 3 else None


def read_plan(executor: Any) -> PlanLineage:
    """The lineage of the execution ``executor`` is about to run (or has run).

    An operator that cannot be read (an unknown datasource, an attribute another Ray
    version renamed, a path that is not a path) is listed in ``unreadable``; the others
    are still reported.
    """
    ops = list(logical_operators(executor))
    read_files = _read_files_by_listing(ops)
    inputs: list[DataRef] = []
    outputs: list[Output] = []
    unreadable: list[str] = []
    for op in ops:
        kind = _kind(op)
        try:
            if kind == "ListFiles":
                inputs.extend(_listed_files(op, read_files.get(id(op))))
            elif kind == "Read":
                refs = _datasource_inputs(op)
                inputs.extend(refs if refs is not None else ())
                unreadable.extend([_name(op)] if refs is None else [])
            elif kind == "Write":
                output = _write_output(op)
                outputs.extend([output] if output is not None else [])
                unreadable.extend([_name(op)] if output is None else [])
        except Exception as exc:
            unreadable.append(f"{_name(op)} ({type(exc).__name__}: {exc})")
    uuids = [_text(getattr(o.datasink, "dataset_uuid", None)) for o in outputs]
    return PlanLineage(
        dataset_id=str(getattr(executor, "_dataset_id", "") or ""),
        inputs=tuple(merge_refs(inputs)),
        outputs=tuple(_merge_outputs(outputs)),
        materialized_input=any(_kind(op) == "InputData" for op in ops),
        written_dataset_uuid=next((u for u in uuids if u), None),
        unreadable=tuple(unreadable),
    )


def logical_operators(executor: Any) -> Iterator[Any]:
    """Every logical operator of the executed plan, each once, sources first where known."""
    seeds: list[Any] = []
    for physical in _physical_operators(executor):
        seeds.extend(getattr(physical, "_logical_operators", None) or ())
    seen: set[int] = set()
    stack = list(reversed(seeds))
    while stack and len(seen) < MAX_OPERATORS:
        op = stack.pop()
        if id(op) in seen:
            continue
        seen.add(id(op))
        yield op
        stack.extend(_input_dependencies(op))


def _physical_operators(executor: Any) -> list[Any]:
    topology = getattr(executor, "_topology", None)
    if topology:
        return list(topology)
    output = getattr(executor, "_output_node", None)  # fall back to walking from the sink
    found: list[Any] = []
    stack = [output[0]] if output else []
    while stack and len(found) < MAX_OPERATORS:
        op = stack.pop()
        if any(op is seen for seen in found):
            continue
        found.append(op)
        stack.extend(_input_dependencies(op))
    return found


def _input_dependencies(op: Any) -> list[Any]:
    deps = getattr(op, "input_dependencies", None)
    if deps is None:
        deps = getattr(op, "_input_dependencies", None)
    return list(deps or ())


def _kind(op: Any) -> str | None:
    """Which of the operators we understand ``op`` is (by class name, subclasses included)."""
    for cls in type(op).__mro__:
        if cls.__name__ in {"ListFiles", "ReadFiles", "Read", "Write", "InputData"}:
            return cls.__name__
    return None


def _name(op: Any) -> str:
    return str(getattr(op, "name", None) or type(op).__name__)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# --------------------------------------------------------------------------- reads


def _read_files_by_listing(ops: Iterable[Any]) -> dict[int, Any]:
    """``ReadFiles`` operators keyed by the ``ListFiles`` they consume (format and schema live there)."""
    found: dict[int, Any] = {}
    for op in ops:
        if _kind(op) == "ReadFiles":
            for dep in _input_dependencies(op):
                found.setdefault(id(dep), op)
    return found


def _listed_files(op: Any, reader: Any | None) -> list[DataRef]:
    paths = getattr(op, "source_paths", None) or getattr(op, "paths", None) or []
    if isinstance(paths, str):
        paths = [paths]
    fmt = fields = None
    if reader is not None:
        fmt = format_name(getattr(reader, "datasource_name", None))
        schema = getattr(reader, "schema", None)
        fields = schema_fields(schema if schema is not None else _inferred_schema(reader))
    filesystem = getattr(op, "filesystem", None)
    return [_ref(str(p), filesystem, fmt, fields) for p in paths]


def _datasource_inputs(op: Any) -> list[DataRef] | None:
    """The paths of a file-based ``Read``; ``[]`` for data with no location, ``None`` if unknown."""
    source = getattr(op, "datasource", None) or getattr(op, "_datasource", None)
    if source is None:
        return None
    if not hasattr(source, "_source_paths_ref") and not hasattr(source, "_paths_ref"):
        return [] if _makes_data(source) else None
    paths = _source_paths(source)
    fmt = format_name(_call(source, "get_name"))
    given = getattr(source, "_schema", None)
    fields = schema_fields(given) or schema_fields(_cached_read_schema(op))
    filesystem = getattr(source, "_filesystem", None)
    return [_ref(p, filesystem, fmt, fields) for p in paths]


def _makes_data(source: Any) -> bool:
    """Datasources that make data rather than read it (``range``, ``range_tensor``)."""
    return type(source).__name__ in {"RangeDatasource"}


def _source_paths(source: Any) -> list[str]:
    # Ray keeps the user's paths in its object store (``_source_paths``), and the resolved
    # file list in ``_paths()``; the former names what the user read (a directory).
    try:
        paths = source._source_paths
    except Exception:
        paths = _call(source, "_paths") or []
    if isinstance(paths, str):
        return [paths]
    return [str(p) for p in paths]


def _cached_read_schema(op: Any) -> Any:
    # ``Read.infer_schema`` may plan read tasks; the planner has done that already for an
    # executed plan, so use it only when cached (never cause I/O from the callback).
    cached = vars(op).get("_cached_output_metadata") if hasattr(op, "__dict__") else None
    return getattr(cached, "schema", None)


def _inferred_schema(op: Any) -> Any:
    try:
        return op.infer_schema()
    except Exception:
        return None


def _call(obj: Any, method: str) -> Any:
    try:
        return getattr(obj, method)()
    except Exception:
        return None


def observed_schemas(executor: Any) -> dict[tuple[str, str], Fields]:
    """Schemas Ray saw while executing, for data whose schema the plan did not tell.

    A CSV or JSON file's schema is known only once read. When the read is an operator of
    its own (not fused with a transform), the schema of its output blocks is the file's; when
    a write is an operator of its own, the schema of its input blocks is what it wrote.
    """
    topology = getattr(executor, "_topology", None) or {}
    found: dict[tuple[str, str], Fields] = {}
    for physical, state in topology.items():
        logical = list(getattr(physical, "_logical_operators", None) or ())
        with contextlib.suppress(Exception):  # what cannot be read here stays without schema
            if len(logical) == 1 and _kind(logical[0]) == "Read":
                fields = schema_fields(getattr(state, "_schema", None))
                refs = (_datasource_inputs(logical[0]) or []) if fields else []
                found.update({(r.namespace, r.name): fields for r in refs if fields})
            if logical and _kind(logical[0]) == "Write":
                fields = _upstream_schema(physical, topology)
                output = _write_output(logical[0])
                if fields and output is not None:
                    found[(output.ref.namespace, output.ref.name)] = fields
    return found


def _upstream_schema(physical: Any, topology: Any) -> Fields | None:
    """The schema of the blocks flowing into ``physical`` (from its one input operator)."""
    upstream = _input_dependencies(physical)
    return schema_fields(getattr(topology.get(upstream[0]), "_schema", None)) if len(upstream) == 1 else None


def with_schemas(refs: Iterable[DataRef], schemas: dict[tuple[str, str], Fields]) -> tuple[DataRef, ...]:
    """``refs`` with the fields of ``schemas`` where they had none."""
    return tuple(
        replace(ref, fields=schemas.get((ref.namespace, ref.name))) if ref.fields is None else ref
        for ref in refs
    )


# --------------------------------------------------------------------------- writes


def _write_output(op: Any) -> Output | None:
    sink = getattr(op, "datasink_or_legacy_datasource", None) or getattr(
        op, "_datasink_or_legacy_datasource", None
    )
    path = _text(getattr(sink, "unresolved_path", None)) or _text(getattr(sink, "path", None))
    if sink is None or path is None:
        return None
    fmt = format_name(_call(sink, "get_name"))
    fields = schema_fields(_inferred_schema(op))
    return Output(ref=_ref(path, getattr(sink, "filesystem", None), fmt, fields), datasink=sink)


def written_schema(output: Output) -> Output:
    """``output`` with the schema of a Parquet file it wrote, when the plan did not know it.

    A ``map_batches`` before a write hides the written schema from the plan; a Parquet
    file's footer has it. Costs one listing of the output directory and one footer read.
    """
    sink = output.datasink
    if output.ref.fields is not None or output.ref.format != "parquet":
        return output
    if getattr(sink, "partition_cols", None):
        return output  # files are in partition subdirectories; not worth a recursive listing
    fields = schema_fields(_footer_schema(sink))
    return replace(output, ref=replace(output.ref, fields=fields)) if fields else output


def _footer_schema(sink: Any) -> Any:
    import pyarrow.fs as pafs  # noqa: PLC0415 - pyarrow comes with Ray Data, only needed here
    import pyarrow.parquet as pq  # noqa: PLC0415

    filesystem, path = sink.filesystem, sink.path
    infos = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    files = [i for i in infos if i.type == pafs.FileType.File and i.path.endswith(".parquet")]
    prefix = _text(getattr(sink, "dataset_uuid", None))
    ours = [i for i in files if prefix and i.base_name.startswith(prefix)] or files
    if not ours:
        return None
    newest = max(ours, key=lambda i: (i.mtime_ns or 0, i.path))
    with filesystem.open_input_file(newest.path) as handle:
        return pq.read_schema(handle)


# --------------------------------------------------------------------------- naming


def _ref(path: str, filesystem: Any, fmt: str | None, fields: Fields | None) -> DataRef:
    namespace, name = dataset_identity(location(path, filesystem))
    return DataRef(namespace=namespace, name=name, format=fmt, fields=fields)


def location(path: str, filesystem: Any = None) -> str:
    """The URI of ``path`` as Ray was given it, without credentials.

    A path without a scheme read through a non-local filesystem (``read_parquet("bucket/key",
    filesystem=S3FileSystem())``) gets the filesystem's scheme. User info is dropped
    (``s3://anonymous@bucket/key`` is Ray's spelling of anonymous access, not part of the name).

    >>> location("s3://anonymous@ray-example-data/iris.csv")
    's3://ray-example-data/iris.csv'
    """
    text = path.strip()
    parts = urlsplit(text)
    if len(parts.scheme) > 1:
        if "@" in parts.netloc:
            host = parts.netloc.rsplit("@", 1)[1]
            text = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
        return text
    scheme = filesystem_scheme(filesystem)
    if scheme is None:
        return text
    return f"{scheme}://{text.lstrip('/')}" if scheme in {"s3", "gs"} else f"{scheme}://{text}"


def filesystem_scheme(filesystem: Any) -> str | None:
    """The URI scheme a pyarrow (or fsspec-backed) filesystem stands for; ``None`` for local."""
    if filesystem is None:
        return None
    unwrap = getattr(filesystem, "unwrap", None)  # Ray's retrying wrapper
    if callable(unwrap):
        try:
            filesystem = unwrap()
        except Exception:
            return None
    kind = str(getattr(filesystem, "type_name", "") or "")
    if kind.startswith("py"):
        protocol = getattr(getattr(getattr(filesystem, "handler", None), "fs", None), "protocol", None)
        kind = protocol[0] if isinstance(protocol, (tuple, list)) and protocol else str(protocol or "")
    kind = kind.lower()
    if not kind or kind in _LOCAL_FS:
        return None
    return _FS_SCHEMES.get(kind, kind)


def format_name(name: Any) -> str | None:
    """The format in a Ray datasource or datasink name.

    >>> [format_name(n) for n in ("ParquetV2", "Parquet", "CSV")]
    ['parquet', 'parquet', 'csv']
    """
    if not isinstance(name, str) or not name:
        return None
    text = re.sub(r"v\d+$", "", name.strip().lower())
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or None


def schema_fields(schema: Any) -> Fields | None:
    """``((name, type), …)`` of an Arrow schema or Ray's pandas block schema; ``None`` if unknown."""
    if schema is None:
        return None
    names, types = getattr(schema, "names", None), getattr(schema, "types", None)
    if names is None or types is None:
        return None
    try:
        pairs = tuple((str(n), str(t)) for n, t in zip(list(names), list(types), strict=True))
    except Exception:
        return None
    return pairs or None


def merge_refs(refs: Iterable[DataRef]) -> list[DataRef]:
    """One entry per dataset, keeping the first known format and schema."""
    merged: dict[tuple[str, str], DataRef] = {}
    for ref in refs:
        key = (ref.namespace, ref.name)
        known = merged.get(key)
        if known is None:
            merged[key] = ref
        else:
            merged[key] = replace(known, format=known.format or ref.format, fields=known.fields or ref.fields)
    return list(merged.values())


def _merge_outputs(outputs: list[Output]) -> list[Output]:
    seen: dict[tuple[str, str], Output] = {}
    for output in outputs:
        seen.setdefault((output.ref.namespace, output.ref.name), output)
    return list(seen.values())
