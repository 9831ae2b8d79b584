"""``olgraph lineage`` / ``olgraph impact`` against a live server (real app, real embedded store).

The server runs uvicorn in a thread on a free loopback port; the graph is the one in
tests/unit/query/data/impact_graph.json (see tests/unit/api/test_query_routes.py).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from olgraph.api.auth import hash_api_key
from olgraph.cli import main
from olgraph.config import Settings
from olgraph.ingest.parse import parse_event
from olgraph.normalize.normalizer import normalize
from olgraph.store.embedded import EmbeddedStore
from served_app import serve_in_thread

EVENTS_FILE = Path(__file__).resolve().parents[1] / "query" / "data" / "impact_graph.json"
ORDERS = "dataset:postgres://db:5432:public.orders"
X = "dataset:gs://bucket:path/to:x"
MODEL = "dataset:mlflow:churn"
REPORT = "dataset:postgres://db:5432:public.report"
DEPENDENTS = ["job:airflow:etl.load_orders", "job:airflow:report", X, "job:ml:train:churn", MODEL]


def _build_graph(settings: Settings) -> None:
    async def apply_all() -> None:
        store = EmbeddedStore(settings.embedded_store_path())
        await store.open()
        try:
            for event in json.loads(EVENTS_FILE.read_text(encoding="utf-8")):
                await store.apply(normalize(parse_event(event)))
        finally:
            await store.close()

    asyncio.run(apply_all())


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("cli-graph"))
    _build_graph(settings)
    yield from serve_in_thread(settings)


@pytest.fixture(scope="module")
def secured_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    keys = [{"name": "ci", "role": "read", "sha256": hash_api_key("ci-secret")}]
    settings = Settings(data_dir=tmp_path_factory.mktemp("cli-secured"), auth={"api_keys": keys})
    _build_graph(settings)
    yield from serve_in_thread(settings)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    clean: dict[str, str | None] = {"OLGRAPH_URL": None, "OLGRAPH_API_KEY": None}
    return CliRunner().invoke(main, list(args), env=clean | (env or {}))


# ---------------------------------------------------------------- impact


def test_impact_table_lists_dependents_and_exits_1(server_url: str) -> None:
    result = run("impact", ORDERS, "--depth", "10", "--url", server_url)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "distance",
        "type",
        "id",
        "owners",
        "last",
        "run",
        "at",
        "last",
        "run",
        "state",
    ]
    body = lines[2:7]
    assert [line.split()[2] for line in body] == DEPENDENTS
    assert body[0].split() == [
        "1",
        "job",
        "job:airflow:etl.load_orders",
        "team:data",
        "2024-05-01T10:05:00.000000000Z",
        "COMPLETE",
    ]
    # columns are aligned: every id starts at the same offset
    assert len({line.index(dep) for line, dep in zip(body, DEPENDENTS, strict=True)}) == 1
    assert lines[-1] == "5 live dependents: 1 dataset, 1 model, 3 jobs"
    assert REPORT not in result.stdout  # dropped: not live


def test_impact_of_a_leaf_exits_0(server_url: str) -> None:
    result = run("impact", MODEL, "--url", server_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"no live dependents: nothing live depends on {MODEL}"


def test_impact_depth_is_passed_on(server_url: str) -> None:
    result = run("impact", ORDERS, "--depth", "1", "--format", "ndjson", "--url", server_url)
    assert result.exit_code == 1
    assert [orjson.loads(line)["id"] for line in result.stdout.splitlines()] == DEPENDENTS[:2]


def test_impact_json_is_the_servers_answer(server_url: str) -> None:
    result = run("impact", X, "--format", "json", "--url", server_url)
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["root"]["id"] == X
    assert [a["id"] for a in body["affected"]] == ["job:ml:train:churn", MODEL]
    assert body["summary"]["byOwner"] == {"team:ml": 2}


def test_impact_csv(server_url: str) -> None:
    result = run("impact", ORDERS, "--depth", "10", "--format", "csv", "--url", server_url)
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows] == DEPENDENTS
    assert rows[2]["owners"] == "alice;team:data"
    assert rows[3]["lastRunState"] == "FAIL"


def test_impact_csv_of_a_leaf_is_only_the_header_and_exits_0(server_url: str) -> None:
    result = run("impact", MODEL, "--format", "csv", "--url", server_url)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "distance,type,id,namespace,name,dataset,owners,lastRunAt,lastRunState"
    ]


def test_url_comes_from_the_environment(server_url: str) -> None:
    result = run("impact", MODEL, env={"OLGRAPH_URL": server_url})
    assert result.exit_code == 0, result.output
    # the answer came from that server (the default URL has no olgraph behind it here)
    assert result.stdout.strip() == f"no live dependents: nothing live depends on {MODEL}"


@pytest.mark.parametrize(
    ("node_id", "expected"),
    [
        ("dataset:gs://bucket:missing", ["404", "dataset:gs://bucket:missing", "not found"]),
        ("orders", ["400", "nodeId"]),
    ],
)
def test_error_answers_exit_2_with_the_servers_message(
    server_url: str, node_id: str, expected: list[str]
) -> None:
    result = run("impact", node_id, "--url", server_url)
    assert result.exit_code == 2
    assert result.stdout == ""
    for text in expected:
        assert text in result.stderr


def test_depth_over_the_servers_cap_exits_2_naming_depth(server_url: str) -> None:
    result = run("impact", ORDERS, "--depth", "1000", "--url", server_url)
    assert result.exit_code == 2
    assert "depth: must be <=" in result.stderr


def test_unreachable_server_exits_2(closed_port_url: str) -> None:
    result = run("impact", ORDERS, "--url", closed_port_url, "--timeout", "5")
    assert result.exit_code == 2
    assert f"cannot reach the olgraph server at {closed_port_url}" in result.stderr


def test_bad_url_exits_2() -> None:
    result = run("impact", ORDERS, "--url", "not a url")
    assert result.exit_code == 2
    assert "Error:" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Missing argument 'NODE_ID'"),
        ((ORDERS, "--format", "xml"), "Invalid value for '--format': 'xml' is not one of"),
        ((ORDERS, "--depth", "-1"), "Invalid value for '--depth': -1 is not in the range x>=0"),
    ],
)
def test_usage_errors_exit_2_saying_what_is_wrong(args: tuple[str, ...], message: str) -> None:
    result = run("impact", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr


def test_api_key_from_option_or_environment(secured_url: str) -> None:
    without = run("impact", X, "--url", secured_url)
    assert without.exit_code == 2
    assert "401" in without.stderr
    assert "API key" in without.stderr
    for accepted in (
        run("impact", X, "--url", secured_url, "--api-key", "ci-secret"),
        run("impact", X, "--url", secured_url, env={"OLGRAPH_API_KEY": "ci-secret"}),
    ):
        assert accepted.exit_code == 1
        assert [line.split()[2] for line in accepted.stdout.splitlines()[2:4]] == [
            "job:ml:train:churn",
            MODEL,
        ]


def test_impact_help_documents_the_exit_codes() -> None:
    result = run("impact", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "0 nothing live depends on NODE_ID" in text
    assert "1 something live depends on NODE_ID" in text
    assert "2 usage error, server unreachable" in text


# ---------------------------------------------------------------- lineage


def test_lineage_table_shows_nodes_and_edges(server_url: str) -> None:
    result = run("lineage", X, "--direction", "downstream", "--url", server_url)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0].split() == ["type", "id", "state"]
    for node_id in (X, "job:ml:train:churn", MODEL):
        assert node_id in out
    assert "job:airflow:etl.load_orders" not in out  # upstream, not asked for
    edge_rows = [line.split() for line in out.splitlines() if "_BY" in line or "PRODUCES" in line]
    assert edge_rows == [[X, "CONSUMED_BY", "job:ml:train:churn"], ["job:ml:train:churn", "PRODUCES", MODEL]]
    assert out.splitlines()[-1] == "3 nodes, 2 edges"


def test_lineage_json_and_csv(server_url: str) -> None:
    as_json = run(
        "lineage", MODEL, "--direction", "upstream", "--depth", "2", "--format", "json", "--url", server_url
    )
    assert as_json.exit_code == 0
    body: dict[str, Any] = json.loads(as_json.stdout)
    assert [n["id"] for n in body["nodes"]] == [MODEL, "job:ml:train:churn", X]
    as_csv = run(
        "lineage", MODEL, "--direction", "upstream", "--depth", "2", "--format", "csv", "--url", server_url
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["id"], r["type"], r["deleted"]) for r in rows] == [
        (MODEL, "model", "false"),
        ("job:ml:train:churn", "job", "false"),
        (X, "dataset", "false"),
    ]


def test_lineage_include_deleted_marks_deleted_nodes(server_url: str) -> None:
    live = run("lineage", ORDERS, "--direction", "downstream", "--depth", "2", "--url", server_url)
    assert REPORT not in live.stdout
    everything = run(
        "lineage",
        ORDERS,
        "--direction",
        "downstream",
        "--depth",
        "2",
        "--include-deleted",
        "--url",
        server_url,
    )
    assert everything.exit_code == 0
    report_line = next(line for line in everything.stdout.splitlines() if line.split()[1:2] == [REPORT])
    assert report_line.split()[-1] == "deleted"


def test_lineage_unknown_node_exits_2(server_url: str) -> None:
    result = run("lineage", "job:nowhere:nothing", "--url", server_url)
    assert result.exit_code == 2
    assert "job:nowhere:nothing" in result.stderr


# ---------------------------------------------------------------- limits (regressions)


@pytest.fixture(scope="module")
def chain_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 60-hop chain ``chain:t0 -job0-> chain:t1 … -> chain:t60``."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("cli-chain"))

    async def apply_all() -> None:
        store = EmbeddedStore(settings.embedded_store_path())
        await store.open()
        try:
            for i in range(60):
                event = {
                    "eventType": "COMPLETE",
                    "eventTime": f"2024-05-01T10:{i:02d}:00Z",
                    "run": {"runId": f"chain-run-{i}"},
                    "job": {"namespace": "chain", "name": f"job{i}"},
                    "inputs": [{"namespace": "chain", "name": f"t{i}"}],
                    "outputs": [{"namespace": "chain", "name": f"t{i + 1}"}],
                }
                await store.apply(normalize(parse_event(event)))
        finally:
            await store.close()

    asyncio.run(apply_all())
    yield from serve_in_thread(settings)


def test_impact_lists_every_dependent_of_a_long_chain_by_default(chain_url: str) -> None:
    """It stopped at depth 5 and said nothing: a CI gate must never under-report."""
    result = run("impact", "dataset:chain:t0", "--format", "ndjson", "--url", chain_url)
    assert result.exit_code == 1
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 120
    assert (rows[-1]["id"], rows[-1]["distance"]) == ("dataset:chain:t60", 120)
    table = run("impact", "dataset:chain:t0", "--url", chain_url)
    assert table.stdout.splitlines()[-1] == "120 live dependents: 60 datasets, 60 jobs"


def test_a_depth_that_cuts_the_answer_says_so(chain_url: str) -> None:
    table = run("impact", "dataset:chain:t0", "--depth", "5", "--url", chain_url)
    assert table.exit_code == 1
    assert table.stdout.splitlines()[-1] == (
        "5 live dependents: 2 datasets, 3 jobs (truncated at the depth asked for: there may be more)"
    )
    body = json.loads(
        run("impact", "dataset:chain:t0", "--depth", "5", "--format", "json", "--url", chain_url).stdout
    )
    assert (body["truncated"], body["truncatedBy"]) == (True, ["depth"])
    lineage = run("lineage", "dataset:chain:t0", "--direction", "downstream", "--url", chain_url)
    assert lineage.stdout.splitlines()[-1] == (
        "6 nodes, 5 edges (truncated at the depth asked for: there may be more)"
    )


def test_max_nodes_caps_the_answer_and_says_how_far_it_may_go(chain_url: str) -> None:
    lineage = run(
        "lineage", "dataset:chain:t0", "--direction", "downstream", "--max-nodes", "4", "--url", chain_url
    )
    assert lineage.exit_code == 0, lineage.output
    assert lineage.stdout.splitlines()[-1] == (
        "4 nodes, 3 edges (truncated at the node cap: there may be more; --max-nodes up to 10000 shows more)"
    )
    # the chain's events are from 2024: nothing has been seen of any node for 30 days
    rows = [line.split() for line in lineage.stdout.splitlines()[2:6]]
    assert [row[-1] for row in rows] == ["stale"] * 4
    impact = run("impact", "dataset:chain:t0", "--max-nodes", "3", "--format", "json", "--url", chain_url)
    assert impact.exit_code == 1
    body = json.loads(impact.stdout)
    assert (body["truncatedBy"], body["maxNodes"], body["serverMaxNodes"]) == (["nodes"], 3, 10_000)
    table = run("impact", "dataset:chain:t0", "--max-nodes", "3", "--url", chain_url)
    assert table.stdout.splitlines()[-1].endswith("(truncated at the node cap: there may be more)")


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "Invalid value for '--max-nodes'"), ("10001", "maxNodes: must be between 1 and 10000")],
)
def test_max_nodes_out_of_range_exits_2_saying_why(chain_url: str, value: str, message: str) -> None:
    result = run("lineage", "dataset:chain:t0", "--max-nodes", value, "--url", chain_url)
    assert result.exit_code == 2
    assert message in result.stderr
