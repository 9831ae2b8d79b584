"""``olgraph dead-letters list|show|replay`` against a live server (real app, real embedded store).

The server's local log already holds two dead letters when it starts — an event the store
once refused, and bytes that are not JSON — as an earlier run of the consumer would have left
them. What a person sees is asserted line by line.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner, Result

from olgraph.api.auth import hash_api_key
from olgraph.cli import main
from olgraph.config import Settings
from olgraph.log import DeadLetter, LocalEventLog
from olgraph.log.base import event_from_raw
from served_app import serve_in_thread

RUN_ID = str(uuid.UUID(int=0xDEAD))
EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2026-04-01T10:00:00Z",
    "run": {"runId": RUN_ID},
    "job": {"namespace": "etl", "name": "load_orders"},
    "outputs": [{"namespace": "db", "name": "orders"}],
}
RAW = orjson.dumps(EVENT)
REASON = (
    "store rejected the event: Neo4j rejected applying a batch: "
    "Neo.ClientError.Schema.ConstraintValidationFailed"
)


def _leave_dead_letters(settings: Settings) -> list[str]:
    """What an earlier consumer run left: two events, both dead-lettered. Returns when."""

    async def write() -> list[str]:
        log = LocalEventLog(settings.local_log_path())
        await log.open()
        try:
            await log.append([event_from_raw(RAW), event_from_raw(b"{not json")])
            await log.commit(
                "olgraph",
                2,
                [
                    DeadLetter(1, REASON, RAW, stage="store"),
                    DeadLetter(
                        2,
                        "invalid event: invalid JSON at line 1, column 2: key must be a string",
                        b"{not json",
                        stage="decode",
                    ),
                ],
            )
            return [letter.at for letter in await log.dead_letters(limit=10)]
        finally:
            await log.close()

    return asyncio.run(write())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    keys = [{"name": "ops", "role": "admin", "sha256": hash_api_key("ops-secret")}]
    settings = Settings(data_dir=tmp_path, auth={"api_keys": keys}, consumer={"poll_interval_seconds": 0.05})
    times = _leave_dead_letters(settings)
    for url in serve_in_thread(settings):
        yield url, times


def olgraph(url: str, *args: str, key: str = "ops-secret") -> Result:
    return CliRunner().invoke(main, ["dead-letters", *args, "--url", url, "--api-key", key])


def test_list_shows_why_each_failed_and_which_event_it_is(server: tuple[str, list[str]]) -> None:
    url, (first, second) = server
    result = olgraph(url, "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "at", "stage", "job", "run", "reason", "replayed", "to"]
    assert lines[2].split()[:5] == ["1", first, "store", "etl:load_orders", RUN_ID]
    assert "store rejected the event: Neo4j rejected applying a batch..." in lines[2]
    assert lines[3].split()[:3] == ["2", second, "decode"]
    assert "invalid event: invalid JSON at line 1, column 2: key must..." in lines[3]  # 60 columns
    assert lines[4:] == ["", "2 shown of 2 dead letters, 2 not replayed yet"]


def test_list_pages_and_json(server: tuple[str, list[str]]) -> None:
    url, _ = server
    page = olgraph(url, "list", "--limit", "1")
    assert (
        page.output.splitlines()[-1] == "1 shown of 2 dead letters, 2 not replayed yet; more with --after 1"
    )
    every = olgraph(url, "list", "--limit", "1", "--all-pages", "--format", "json")
    document = orjson.loads(every.output)
    assert [item["id"] for item in document["items"]] == ["1", "2"]
    assert (document["total"], document["pending"], document["next"]) == (2, 2, None)


def test_show_prints_the_facts_then_the_event(server: tuple[str, list[str]]) -> None:
    url, (first, _) = server
    result = olgraph(url, "show", "1")
    assert result.exit_code == 0, result.output
    facts, event = result.output.split("\n\n", 1)
    assert facts.splitlines() == [
        "dead letter: 1 (offset 1)",
        "stage:       store",
        f"reason:      {REASON}",
        f"at:          {first}",
        "event:       COMPLETE 2026-04-01T10:00:00Z",
        "job:         etl:load_orders",
        f"run:         {RUN_ID}",
        f"size:        {len(RAW)} bytes",
        "replayed:    no",
    ]
    assert orjson.loads(event) == EVENT
    unreadable = olgraph(url, "show", "2")
    assert "event:       (not readable)" in unreadable.output
    assert unreadable.output.rstrip().endswith("\n\n{not json")


def test_replay_applies_the_event_and_only_once(server: tuple[str, list[str]]) -> None:
    url, _ = server
    result = olgraph(url, "replay", "1")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "id  status    replayed to  detail",
        "--  --------  -----------  ------",
        "1   replayed  offset 3",
        "",
        "replayed 1, skipped 0, not found 0",
    ]
    run = _eventually_found(url, f"/api/v1/runs/{RUN_ID}")
    assert run["state"] == "COMPLETE"

    again = olgraph(url, "replay", "1", "42")
    assert again.exit_code == 1  # an id that does not exist
    lines = again.output.splitlines()
    assert lines[2].split()[:4] == ["1", "skipped", "offset", "3"]
    assert "already replayed at" in lines[2]
    assert lines[3].split() == ["42", "not_found", "no", "dead", "letter", "with", "this", "id"]
    assert lines[-1] == "replayed 0, skipped 1, not found 1"
    listed = olgraph(url, "list", "--pending")
    assert [line.split()[0] for line in listed.output.splitlines()[2:-2]] == ["2"]


def test_replay_needs_ids_or_all_and_an_admin_key(server: tuple[str, list[str]]) -> None:
    url, _ = server
    neither = olgraph(url, "replay")
    assert (neither.exit_code, neither.output) == (2, "Error: give dead-letter ids, or --all (not both)\n")
    refused = olgraph(url, "list", key="wrong")
    assert refused.exit_code == 2
    assert refused.output == "Error: the server answered 401: unknown API key\n"
    everything = olgraph(url, "replay", "--all", "--format", "json")
    assert orjson.loads(everything.output)["replayed"] == 2


def _eventually_found(url: str, path: str) -> Any:
    deadline = time.monotonic() + 30  # a hang guard
    while True:
        response = httpx.get(url + path, headers={"Authorization": "Bearer ops-secret"}, timeout=10)
        if response.status_code == 200:
            return response.json()
        assert time.monotonic() < deadline, f"{path}: {response.status_code} {response.text}"
        time.sleep(0.05)
