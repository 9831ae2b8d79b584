"""The exactly-once check: the graph in Neo4j against the events that were acknowledged.

``verify_exactly_once`` expects a database holding only this test's stream (the tests empty it
first) and checks, with Cypher against the real server:

* no node key occurs twice, and no relationship occurs twice between the same two nodes with
  the same type (counted by ``(type, source key, target key)``): re-delivery left no duplicate;
* the set of Run nodes is exactly the acknowledged runs (plus the parent runs they name), so no
  acknowledged run is lost and nothing unacknowledged appeared;
* each run has the state, ``startedAt`` and ``endedAt`` its acknowledged events give (so every
  acknowledged START and terminal event was applied), its job, its parent, and the dataset
  versions it wrote;
* the job-level lineage (CONSUMED_BY / PRODUCES) is exactly what the acknowledged events name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fault_events import ExpectedRun, Stream
from fault_support import neo4j_auth
from neo4j import Driver, GraphDatabase

SHOWN = 8  # mismatches quoted in a failure message

DUPLICATE_NODES = """
MATCH (n) WITH n.key AS key, count(*) AS copies WHERE key IS NULL OR copies > 1
RETURN key, copies ORDER BY copies DESC LIMIT 20
"""
DUPLICATE_RELATIONSHIPS = """
MATCH (a)-[r]->(b)
WITH type(r) AS type, a.key AS source, b.key AS target, count(*) AS copies WHERE copies > 1
RETURN type, source, target, copies ORDER BY copies DESC LIMIT 20
"""
RUNS = """
MATCH (r:Run)
OPTIONAL MATCH (r)-[:RUN_OF]->(j:Job)
OPTIONAL MATCH (r)-[:CHILD_OF]->(p:Run)
OPTIONAL MATCH (r)-[:WROTE]->(v:DatasetVersion)
RETURN r.runId AS runId, r.state AS state, r.startedAt AS startedAt, r.endedAt AS endedAt,
       collect(DISTINCT j.key) AS jobs, collect(DISTINCT p.runId) AS parents,
       collect(DISTINCT v.key) AS wrote
"""
JOB_EDGES = """
MATCH (a)-[r:CONSUMED_BY|PRODUCES]->(b) RETURN type(r) AS type, a.key AS source, b.key AS target
"""


@dataclass(frozen=True)
class GraphSummary:
    """Totals of a verified graph, for the test to report or compare."""

    runs: int
    nodes: int
    relationships: int


def empty_database(uri: str) -> None:
    """Delete every node and relationship (constraints and indexes stay)."""
    with GraphDatabase.driver(uri, auth=neo4j_auth(uri)) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def _rows(driver: Driver, query: str) -> list[dict[str, Any]]:
    records, _, _ = driver.execute_query(query)
    return [record.data() for record in records]


def _actual_run(row: dict[str, Any]) -> ExpectedRun:
    jobs, parents = row["jobs"], row["parents"]
    return ExpectedRun(
        run_id=row["runId"],
        job=jobs[0] if len(jobs) == 1 else f"<jobs {jobs}>",
        parent_run_id=None if not parents else parents[0] if len(parents) == 1 else f"<parents {parents}>",
        state=row["state"],
        started_at=row["startedAt"],
        ended_at=row["endedAt"],
        wrote=frozenset(row["wrote"]),
    )


def _compare_runs(expected: dict[str, ExpectedRun], actual: dict[str, ExpectedRun]) -> list[str]:
    problems = [f"acknowledged run missing: {expected[r]}" for r in sorted(expected.keys() - actual.keys())]
    problems += [f"unexpected run: {actual[r]}" for r in sorted(actual.keys() - expected.keys())]
    for run_id in sorted(expected.keys() & actual.keys()):
        if expected[run_id] != actual[run_id]:
            problems.append(f"run {run_id}: expected {expected[run_id]}, graph has {actual[run_id]}")
    return problems


def verify_exactly_once(uri: str, stream: Stream, acked: Iterable[int]) -> GraphSummary:
    """Assert that the graph at ``uri`` holds every acknowledged event of ``stream`` exactly once."""
    acked = sorted(set(acked))
    assert acked, "nothing was acknowledged: there is nothing to verify"
    with GraphDatabase.driver(uri, auth=neo4j_auth(uri)) as driver:
        duplicates = _rows(driver, DUPLICATE_NODES)
        assert not duplicates, f"nodes without a key or duplicated: {duplicates}"
        duplicates = _rows(driver, DUPLICATE_RELATIONSHIPS)
        assert not duplicates, f"duplicated relationships (type, source, target): {duplicates}"
        actual = {row["runId"]: _actual_run(row) for row in _rows(driver, RUNS)}
        problems = _compare_runs(stream.expected_runs(acked), actual)
        assert not problems, f"{len(problems)} run mismatches, e.g.:\n" + "\n".join(problems[:SHOWN])
        edges = {(r["type"], r["source"], r["target"]) for r in _rows(driver, JOB_EDGES)}
        wanted = stream.expected_job_edges(acked)
        assert edges == wanted, (
            f"job-level lineage differs: missing {sorted(wanted - edges)[:SHOWN]}, "
            f"unexpected {sorted(edges - wanted)[:SHOWN]}"
        )
        totals = _rows(
            driver, "MATCH (n) OPTIONAL MATCH (n)-[r]->() RETURN count(DISTINCT n) AS n, count(r) AS r"
        )
    return GraphSummary(runs=len(actual), nodes=totals[0]["n"], relationships=totals[0]["r"])
