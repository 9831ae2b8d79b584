"""Every read route of Marquez 0.50, asked of the real Marquez and of olgraph, fed the same events.

Each test asks one family of routes for the nodes of the sample (``conftest.FULL``: all of
them), compares the answers (:mod:`differential`) and fails on any difference that
:data:`known.KNOWN` does not explain; the last test checks that each explained difference
occurred and is documented in docs/migrating-from-marquez.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest
from differential import Answer, Difference, Side, compare, unexplained
from known_differences import KNOWN
from marquez_peer_support import FULL, REPO, Fed

SCENARIO_NAMESPACE_PREFIX = "mq-"
SAMPLE_CORPUS = ("my-scheduler-namespace", "my-datasource-namespace", "file", "s3a://test_db-db")
SEARCH_TERMS = ("orders", "sales", "users", "dim", "schema.table", "spark", "zzz-none")
DOC = REPO / "docs" / "migrating-from-marquez.md"
DUMP = os.environ.get("OLGRAPH_MARQUEZ_DUMP")
found: list[Difference] = []


def _sampled(namespace: str) -> bool:
    return FULL or namespace.startswith(SCENARIO_NAMESPACE_PREFIX) or namespace in SAMPLE_CORPUS


def _ask(
    sides: tuple[Side, Side], route: str, segments: Iterable[str], **params: object
) -> tuple[Answer, Answer]:
    marquez, ours = sides
    parts = list(segments)
    left, right = marquez.get(parts, **params), ours.get(parts, **params)
    found.extend(compare(route, left, right))
    return left, right


def _check(differences_before: int) -> None:
    rest = unexplained(found[differences_before:], KNOWN)
    if DUMP:
        with Path(DUMP).open("a", encoding="utf-8") as out:
            out.writelines(f"{d}\n" for d in rest)
    assert not rest, (
        "differences from Marquez no entry of tests/marquez/known_differences.py explains:\n"
        + "\n".join(str(d) for d in rest[:60])
        + (f"\n… and {len(rest) - 60} more" if len(rest) > 60 else "")
    )


def _namespaces(sides: tuple[Side, Side]) -> list[str]:
    answer = sides[0].get(["namespaces"], limit=1000)
    return [n["name"] for n in answer.body["namespaces"] if _sampled(n["name"])]


def _datasets(sides: tuple[Side, Side], namespace: str) -> list[str]:
    answer = sides[0].get(["namespaces", namespace, "datasets"], limit=1000)
    return [d["name"] for d in answer.body["datasets"]]


def _jobs(sides: tuple[Side, Side], namespace: str) -> list[str]:
    answer = sides[0].get(["namespaces", namespace, "jobs"], limit=1000)
    return [j["name"] for j in answer.body["jobs"]]


def test_both_hold_the_same_events(fed: Fed) -> None:
    assert len(fed.posted) >= 40, fed.skipped
    assert all(
        not name.startswith(("column_lineage", "symlinks", "parent", "failed", "versions"))
        for name in fed.skipped
    )


def test_namespaces(sides: tuple[Side, Side]) -> None:
    start = len(found)
    _ask(sides, "GET /namespaces", ["namespaces"])
    _ask(sides, "GET /namespaces?limit&offset", ["namespaces"], limit=3, offset=2)
    _ask(sides, "GET /namespaces (unknown)", ["namespaces", "no-such-namespace"])
    for namespace in _namespaces(sides):
        _ask(sides, "GET /namespaces/{ns}", ["namespaces", namespace])
    _check(start)


def test_datasets_and_versions(sides: tuple[Side, Side]) -> None:
    start = len(found)
    for namespace in _namespaces(sides):
        _ask(sides, "GET /namespaces/{ns}/datasets", ["namespaces", namespace, "datasets"])
        for name in _datasets(sides, namespace):
            base = ["namespaces", namespace, "datasets", name]
            _ask(sides, "GET /namespaces/{ns}/datasets/{ds}", base)
            _ask(sides, "GET /namespaces/{ns}/datasets/{ds}/versions", [*base, "versions"])
    _ask(
        sides,
        "GET /namespaces/{ns}/datasets/{ds} (unknown)",
        ["namespaces", "mq-warehouse", "datasets", "nope"],
    )
    _check(start)


def test_a_version_by_its_id(sides: tuple[Side, Side]) -> None:
    """Each side's own version ids round-trip: the newest version of each dataset, asked by its id."""
    start = len(found)
    marquez, ours = sides
    for namespace in _namespaces(sides):
        for name in _datasets(sides, namespace):
            base = ["namespaces", namespace, "datasets", name, "versions"]
            answers = []
            for side in (marquez, ours):
                listed = side.get(base, limit=1).body
                versions = listed.get("versions", []) if isinstance(listed, dict) else []
                if not versions:
                    answers.append(None)
                    continue
                answers.append(side.get([*base, versions[0]["version"]]))
            if answers[0] is None or answers[1] is None:
                found.append(
                    Difference(
                        "GET …/versions/{version}", "<listed>", answers[0] is not None, answers[1] is not None
                    )
                )
                continue
            found.extend(
                compare("GET /namespaces/{ns}/datasets/{ds}/versions/{version}", answers[0], answers[1])
            )
    _check(start)


def test_jobs_and_runs(sides: tuple[Side, Side]) -> None:
    start = len(found)
    _ask(sides, "GET /jobs", ["jobs"], limit=1000)
    for namespace in _namespaces(sides):
        _ask(sides, "GET /namespaces/{ns}/jobs", ["namespaces", namespace, "jobs"])
        for name in _jobs(sides, namespace):
            base = ["namespaces", namespace, "jobs", name]
            _ask(sides, "GET /namespaces/{ns}/jobs/{job}", base)
            runs, our_runs = _ask(sides, "GET /namespaces/{ns}/jobs/{job}/runs", [*base, "runs"])
            _ask(sides, "GET /namespaces/{ns}/jobs/{job}/versions", [*base, "versions"])
            _ask(
                sides, "GET /column-lineage?nodeId=job", ["column-lineage"], nodeId=f"job:{namespace}:{name}"
            )
            for run in _listed_by_both(runs, our_runs):  # the others differ in the listing already
                _ask(sides, "GET /runlineage/upstream", ["runlineage", "upstream"], runId=run["id"], depth=20)
                _ask(sides, "GET /jobs/runs/{id}", ["jobs", "runs", run["id"]])
                for kind in ("run", "job"):
                    _ask(
                        sides,
                        f"GET /jobs/runs/{{id}}/facets?type={kind}",
                        ["jobs", "runs", run["id"], "facets"],
                        type=kind,
                    )
    _ask(sides, "GET /jobs/runs/{id} (unknown)", ["jobs", "runs", "0190f000-0000-7000-8fff-000000000000"])
    _check(start)


def _listed_by_both(marquez: Answer, ours: Answer) -> list[dict[str, object]]:
    """The runs of Marquez's listing that olgraph's lists too."""
    theirs = marquez.body.get("runs", []) if isinstance(marquez.body, dict) else []
    mine = {r["id"] for r in ours.body.get("runs", [])} if isinstance(ours.body, dict) else set()
    return [run for run in theirs if run["id"] in mine]


@pytest.mark.parametrize("depth", [1, 20] if FULL else [20])
def test_lineage(sides: tuple[Side, Side], depth: int) -> None:
    start = len(found)
    for namespace in _namespaces(sides):
        for name in _datasets(sides, namespace):
            _ask(
                sides,
                "GET /lineage?nodeId=dataset",
                ["lineage"],
                nodeId=f"dataset:{namespace}:{name}",
                depth=depth,
            )
        for name in _jobs(sides, namespace):
            _ask(sides, "GET /lineage?nodeId=job", ["lineage"], nodeId=f"job:{namespace}:{name}", depth=depth)
    _check(start)


def test_column_lineage(sides: tuple[Side, Side]) -> None:
    start = len(found)
    for namespace in _namespaces(sides):
        for name in _datasets(sides, namespace):
            node = f"dataset:{namespace}:{name}"
            for downstream in ("false", "true"):
                _ask(
                    sides,
                    "GET /column-lineage?nodeId=dataset",
                    ["column-lineage"],
                    nodeId=node,
                    withDownstream=downstream,
                )
    for field in ("id", "amount", "email_hash"):
        node = f"datasetField:mq-warehouse:clean.orders:{field}"
        _ask(
            sides,
            "GET /column-lineage?nodeId=datasetField",
            ["column-lineage"],
            nodeId=node,
            withDownstream="true",
        )
    _check(start)


def test_search_tags_and_events(sides: tuple[Side, Side]) -> None:
    start = len(found)
    for term in SEARCH_TERMS:
        _ask(sides, "GET /search", ["search"], q=term)
        for kind in ("DATASET", "JOB"):
            _ask(sides, "GET /search?filter", ["search"], q=term, filter=kind)
        _ask(sides, "GET /search?sort=UPDATE_AT", ["search"], q=term, sort="UPDATE_AT", limit=100)
    _ask(sides, "GET /tags", ["tags"])
    _ask(sides, "GET /sources", ["sources"])
    _ask(sides, "GET /sources/{source}", ["sources", "default"])
    for direction in ("asc", "desc"):
        _ask(sides, "GET /events/lineage", ["events", "lineage"], sortDirection=direction, limit=1000)
    _ask(sides, "GET /events/lineage?limit&offset", ["events", "lineage"], limit=5, offset=3)
    _ask(
        sides,
        "GET /events/lineage?after&before",
        ["events", "lineage"],
        after="2024-03-01T08:00:00Z",
        before="2024-03-01T09:00:00Z",
        sortDirection="asc",
    )
    _check(start)


def test_deletes(sides: tuple[Side, Side]) -> None:
    """Deleting a dataset, a job and a namespace on both (after every read test: it changes both)."""
    start = len(found)
    marquez, ours = sides
    for route, segments, listing in [
        (
            "DELETE /namespaces/{ns}/datasets/{ds}",
            ["namespaces", "mq-warehouse", "datasets", "mart.scores"],
            ["namespaces", "mq-warehouse", "datasets"],
        ),
        (
            "DELETE /namespaces/{ns}/jobs/{job}",
            ["namespaces", "mq-spark", "jobs", "score_customers"],
            ["namespaces", "mq-spark", "jobs"],
        ),
        ("DELETE /namespaces/{ns}", ["namespaces", "mq-kafka"], ["namespaces"]),
    ]:
        found.extend(compare(route, marquez.delete(segments), ours.delete(segments)))
        _ask(sides, f"GET after {route}", segments)
        _ask(sides, f"GET listing after {route}", listing, limit=1000)
    _check(start)


def test_each_known_difference_occurred_and_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    undocumented = [k.id for k in KNOWN if f"`{k.id}`" not in text]
    assert not undocumented, f"known differences missing from {DOC.name}: {undocumented}"
    if FULL:
        unseen = [k.id for k in KNOWN if not k.seen]
        assert not unseen, f"known differences that no longer occur (remove them): {unseen}"
