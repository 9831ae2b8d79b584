"""The CLI's HTTP talk: error messages of any answer shape, and the retrying client's waits."""

from __future__ import annotations

import httpx
import pytest

from olgraph.cli._client import MAX_RETRY_WAIT, _backoff, error_message


def _answer(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "http://127.0.0.1/x"), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (
            {"error": "must be between 1 and 50, got 51", "field": "maxNodes"},
            "must be between 1 and 50, got 51",
        ),
        ({"detail": "Not authenticated"}, "Not authenticated"),
        (
            {"detail": [{"loc": ["query", "depth"], "msg": "Input should be a valid integer"}]},
            "depth: Input should be a valid integer",
        ),
        (["a", "b"], "a; b"),
    ],
)
def test_error_message_of_a_json_answer(body: object, shown: str) -> None:
    assert error_message(_answer(400, json=body)) == shown


def test_error_message_of_a_text_or_empty_answer() -> None:
    assert error_message(_answer(502, text="bad gateway\n")) == "bad gateway"
    assert error_message(_answer(503, content=b"")) == "Service Unavailable"


@pytest.mark.parametrize(
    ("attempt", "retry_after", "wait"),
    [
        (0, None, 0.5),
        (1, None, 1.0),
        (3, None, 4.0),
        (0, "2", 2.0),
        (5, "1", 1.0),
        (0, "soon", 0.5),
        (0, "3600", MAX_RETRY_WAIT),
        (20, None, MAX_RETRY_WAIT),
        (0, "-5", 0.0),
    ],
)
def test_waits_follow_retry_after_or_double_and_stay_bounded(
    attempt: int, retry_after: str | None, wait: float
) -> None:
    assert _backoff(attempt, retry_after) == wait
