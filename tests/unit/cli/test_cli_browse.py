"""``olgraph search``, ``show``, ``column-lineage``, ``impact`` of a column, ``delete`` and ``retention``
against a live server holding real corpus events (Spark with column lineage, Marquez's full event)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from olgraph.api.auth import hash_api_key
from olgraph.cli import main
from olgraph.cli.browse import search_table
from olgraph.config import Settings
from served_app import serve_in_thread

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus"
EVENTS = [
    "datahub-events/sample_spark_with_transformation.json",
    "datahub-events/sample_spark_with_indirect_only_column.json",
    "marquez-events/event_full.json",
]
PEOPLE = "dataset:file:/spark-test/people.parquet"
RESULT = "dataset:file:/spark-test/result_test"
SPARK_JOB = "job:default:simple_app_parquet_demo.adaptive_spark_plan.spark-test_result_test"
MARQUEZ_RUN = "ea041791-68bc-4ae1-bd89-4c8106a157e4"
KEYS = [
    {"name": "ops", "role": "admin", "sha256": hash_api_key("admin-key")},
    {"name": "ci", "role": "read", "sha256": hash_api_key("read-key")},
]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("cli-corpus"), auth={"api_keys": KEYS})
    for url in serve_in_thread(settings):
        admin = {"Authorization": "Bearer admin-key", "Content-Type": "application/json"}
        with httpx.Client(base_url=url, headers=admin) as client:
            for name in EVENTS:
                assert client.post("/api/v1/lineage", content=(CORPUS / name).read_bytes()).status_code == 201
            deadline = time.monotonic() + 30
            while client.get("/api/v1/stats").json()["pending"] and time.monotonic() < deadline:
                time.sleep(0.05)
        yield url


def run(*args: str, key: str = "read-key") -> Result:
    env: dict[str, str | None] = {"OLGRAPH_URL": None, "OLGRAPH_API_KEY": key}
    return CliRunner().invoke(main, list(args), env=env)


def test_search_prints_ranked_matches(server_url: str) -> None:
    result = run("search", "total_c", "--url", server_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["match", "type", "id", "state"]
    assert lines[2].split() == ["prefix", "column", "field:file:/spark-test/result_test#total_count"]
    assert lines[-1] == "1 match"
    assert run("search", "zzzz-nothing", "--url", server_url).stdout.strip() == "no match"


def test_search_says_when_the_count_stopped_at_the_cap() -> None:
    hit = {"match": "prefix", "type": "dataset", "id": "dataset:s:orders", "deleted": False}
    document = {"items": [hit], "total": 1000, "totalExact": False, "limit": 1, "nextCursor": "c"}
    assert search_table(document).splitlines()[-1] == (
        "1,000+ matches (showing 1; --limit or the API's cursor for more)"
    )
    assert search_table({**document, "total": 2, "totalExact": True}).splitlines()[-1].startswith("2 matches")


def test_column_lineage_prints_transformations(server_url: str) -> None:
    node = "field:file:/spark-test/result_test#name"
    result = run("column-lineage", node, "--direction", "upstream", "--url", server_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["source", "edge", "target", "transformations"]
    assert any("people.parquet#age" in line and "INDIRECT/FILTER" in line for line in lines)
    assert lines[-1] == "3 columns and datasets, 2 edges"


def test_impact_of_a_column_is_a_ci_gate(server_url: str) -> None:
    result = run("impact", "field:file:/spark-test/people.parquet#age", "--url", server_url)
    assert result.exit_code == 1
    assert "field:file:/spark-test/result_test#age" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("4 live dependents: 1 dataset, 1 job, 2 columns")


def test_show_dataset_job_and_run(server_url: str) -> None:
    dataset = run("show", "dataset", RESULT, "--url", server_url)
    assert dataset.exit_code == 0, dataset.output
    text = dataset.stdout
    assert text.splitlines()[0].split() == ["dataset", RESULT]
    assert "\nschema\ncolumn" in text
    assert "\nproducers\n" in text
    assert SPARK_JOB in text
    job = run("show", "job", "job:my-scheduler-namespace:myjob.mytask", "--url", server_url).stdout
    assert "\nsql\n" in job
    assert "failure rate" in job
    run_text = run("show", "run", MARQUEZ_RUN, "--url", server_url).stdout
    assert "(first event; no START received)" in run_text
    assert "dataQualityAssertions" in run_text  # the facets of its input
    as_json = json.loads(run("show", "run", MARQUEZ_RUN, "--format", "json", "--url", server_url).stdout)
    assert as_json["runId"] == MARQUEZ_RUN
    missing = run("show", "job", "job:nowhere:nothing", "--url", server_url)
    assert (missing.exit_code, "404" in missing.stderr) == (2, True)


def test_delete_refuses_with_dependents_then_forces(server_url: str) -> None:
    readonly = run("delete", "dataset", PEOPLE, "--url", server_url)
    assert readonly.exit_code == 2
    assert "403" in readonly.stderr
    refused = run("delete", "dataset", PEOPLE, "--url", server_url, key="admin-key")
    assert refused.exit_code == 1
    assert refused.stdout.startswith(f"refused: nodeId: {PEOPLE} has 3 live dependents")
    assert SPARK_JOB in refused.stdout
    forced = run("delete", "dataset", PEOPLE, "--force", "--url", server_url, key="admin-key")
    assert forced.exit_code == 0, forced.output
    assert forced.stdout.splitlines()[0] == f"deleted (hidden until an event mentions it again): {PEOPLE}"
    assert forced.stdout.splitlines()[1].startswith("by ops at ")
    assert run("search", "people.parquet", "--url", server_url).stdout.strip() == "no match"


def test_retention_dry_run(server_url: str) -> None:
    result = run("retention", "--days", "1", "--dry-run", "--url", server_url, key="admin-key")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("history before ")
    assert lines[0].endswith(": would remove")
    assert lines[2].split() == ["what", "count"]
    assert lines[4].split()[0] == "runs"
