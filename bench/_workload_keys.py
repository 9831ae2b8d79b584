"""The graph nodes a generated event creates: the keys olgraph's normalizer gives them.

Used to count a workload's nodes while it is generated and to check what a store holds
(docs/graph-model.md has the key formats).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from _workload_model import JsonDict


def _job_keys(ref: JsonDict) -> Iterator[tuple[str, str | None]]:
    yield f"namespace:{ref['namespace']}", None
    yield f"job:{ref['namespace']}:{ref['name']}", None


def _dataset_keys(entry: JsonDict) -> Iterator[tuple[str, str | None]]:
    key, facets = f"dataset:{entry['namespace']}:{entry['name']}", entry.get("facets", {})
    yield f"namespace:{entry['namespace']}", None
    yield key, key
    field_of = key.removeprefix("dataset:")
    for spec in facets.get("schema", {}).get("fields", []):
        yield f"field:{field_of}#{spec['name']}", key
    for ident in facets.get("symlinks", {}).get("identifiers", []):
        yield from _dataset_ref(ident)
    lineage = facets.get("columnLineage", {})
    refs = [ref for spec in lineage.get("fields", {}).values() for ref in spec["inputFields"]]
    for out in lineage.get("fields", {}):
        yield f"field:{field_of}#{out}", key
    for ref in [*refs, *lineage.get("dataset", [])]:
        source = yield from _dataset_ref(ref)
        yield f"field:{source.removeprefix('dataset:')}#{ref['field']}", source


def _dataset_ref(ref: JsonDict) -> Generator[tuple[str, str | None], None, str]:
    """The keys of a dataset named by reference (symlink, column lineage input); returns its key."""
    key = f"dataset:{ref['namespace']}:{ref['name']}"
    yield f"namespace:{ref['namespace']}", None
    yield key, key
    return key


def _event_keys(event: JsonDict) -> Iterator[tuple[str, str | None]]:
    """The keys of the nodes normalizing ``event`` upserts, each with its dataset's key if any.

    Covers the facets this module emits (docs/graph-model.md has the key formats).
    """
    job, run = event["job"], event["run"]
    run_id = run["runId"].lower()
    yield from _job_keys(job)
    for owner in job["facets"].get("ownership", {}).get("owners", []):
        yield f"owner:{owner['name']}", None
    yield f"run:{run_id}", None
    parent = run["facets"].get("parent")
    for ref in (parent, parent.get("root")) if parent else ():
        yield f"run:{ref['run']['runId'].lower()}", None
        yield from _job_keys(ref["job"])
    for role in ("inputs", "outputs"):
        for entry in event.get(role, []):
            yield from _dataset_keys(entry)
            version = entry["facets"].get("version", {}).get("datasetVersion")
            if version is None and role == "outputs":
                version = f"run:{run_id}"
            if version is not None:
                key = f"dataset:{entry['namespace']}:{entry['name']}"
                yield f"datasetVersion:{key.removeprefix('dataset:')}@{version}", key


def event_node_keys(event: JsonDict) -> set[str]:
    """The keys of the graph nodes olgraph's normalizer creates for one generated event."""
    return {key for key, _ in _event_keys(event)}
