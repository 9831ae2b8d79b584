"""``olgraph dead-letters list|show|replay``: the dead letters of a running server (role ``admin``).

They ask the server's admin routes (``/api/v1/dead-letters``), so they work alike against
``olgraph serve`` (the local log's dead-letter table; ids are log offsets) and ``olgraph api``
(the Kafka dead-letter topic; ids are ``partition-offset``). Exit status: 0 on an answer, 1
when ``replay`` was given an id that does not exist, 2 on a usage error, an unreachable server
or an error answer (whose message is printed).

Example::

    $ olgraph dead-letters list --pending
    $ olgraph dead-letters show 3
    $ olgraph dead-letters replay 3 7     # or --all; --force replays one replayed before
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import click
import httpx

from olgraph.cli._client import error_message
from olgraph.cli._output import echo, fail, render_json, render_table
from olgraph.cli.query import url_option

F = TypeVar("F", bound=Callable[..., Any])

EXIT_NOT_FOUND = 1
REASON_WIDTH = 60


def _admin_options(func: F) -> F:
    """``--url``, ``--api-key`` (role admin) and ``--timeout``."""
    func = click.option(
        "--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True, help="Seconds."
    )(func)
    func = click.option(
        "--api-key",
        envvar="OLGRAPH_API_KEY",
        show_envvar=True,
        default=None,
        help="API key with the 'admin' role, sent as a Bearer token.",
    )(func)
    return url_option(func)


def _format_option(choices: tuple[str, ...]) -> Callable[[F], F]:
    option: Callable[[F], F] = click.option(
        "--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True
    )
    return option


def call_server(method: str, url: str, path: str, api_key: str | None, timeout: float, **request: Any) -> Any:
    """One request to the server; its JSON answer, or print why not and exit 2."""
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        with httpx.Client(base_url=url, timeout=timeout, headers=headers) as client:
            response = client.request(method, path, **request)
    except httpx.InvalidURL as exc:
        raise fail(f"--url {url!r} is not a valid URL: {exc}") from exc
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach the olgraph server at {url}: {exc or type(exc).__name__}") from exc
    if response.is_error:
        raise fail(f"the server answered {response.status_code}: {error_message(response)}")
    try:
        return response.json()
    except ValueError as exc:
        raise fail(f"the server at {url} did not answer with JSON (is it an olgraph server?)") from exc


@click.group("dead-letters", short_help="List, inspect and replay dead letters (role admin).")
def dead_letters_group() -> None:
    """Events the consumer could not apply, kept with the reason, and sent round again on demand."""


@dead_letters_group.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Per page (default: the server's).")
@click.option("--after", default=None, help="Start after this id (the 'next' of a previous page).")
@click.option("--pending", is_flag=True, help="Only dead letters not replayed yet.")
@click.option("--all-pages", is_flag=True, help="Follow the pages to the end.")
@_format_option(("table", "json"))
@_admin_options
def list_command(
    *,
    limit: int | None,
    after: str | None,
    pending: bool,
    all_pages: bool,
    fmt: str,
    url: str,
    api_key: str | None,
    timeout: float,
) -> None:
    """List dead letters, oldest first: why each failed and which event it is."""
    params: dict[str, Any] = {"limit": limit, "after": after, "pending": "true" if pending else None}
    page = call_server("GET", url, "/api/v1/dead-letters", api_key, timeout, params=_present(params))
    items = list(page["items"])
    while all_pages and page["next"] is not None:
        params["after"] = page["next"]
        page = call_server("GET", url, "/api/v1/dead-letters", api_key, timeout, params=_present(params))
        items.extend(page["items"])
    if fmt == "json":
        echo(
            render_json(
                {"items": items, "total": page["total"], "pending": page["pending"], "next": page["next"]}
            )
        )
        return
    echo(dead_letters_table(items, page["total"], page["pending"], page["next"]))


def _present(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _short(text: str | None, width: int = REASON_WIDTH) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def dead_letters_table(items: list[Mapping[str, Any]], total: int, pending: int, after: str | None) -> str:
    """Dead letters as an aligned table and a count line (with how to get the next page)."""
    count = f"{total} dead letter{'s' if total != 1 else ''}, {pending} not replayed yet"
    if not items:
        return f"no dead letters to show ({count})"
    rows = [
        [
            item["id"],
            item["at"],
            item["stage"],
            item["job"],
            item["runId"],
            _short(item["reason"]),
            item["replayedTo"] or "",
        ]
        for item in items
    ]
    table = render_table(["id", "at", "stage", "job", "run", "reason", "replayed to"], rows)
    more = f"; more with --after {after}" if after is not None else ""
    return f"{table}\n\n{len(items)} shown of {count}{more}"


@dead_letters_group.command("show")
@click.argument("dead_letter_id")
@_format_option(("text", "json"))
@_admin_options
def show_command(*, dead_letter_id: str, fmt: str, url: str, api_key: str | None, timeout: float) -> None:
    """Show one dead letter: where it came from, why it failed, and its event."""
    path = f"/api/v1/dead-letters/{quote(dead_letter_id, safe='')}"
    document = call_server("GET", url, path, api_key, timeout)
    echo(render_json(document) if fmt == "json" else dead_letter_text(document))


def dead_letter_text(letter: Mapping[str, Any]) -> str:
    """One dead letter for a person: its facts, then the event (pretty JSON, or its text)."""
    replayed = "no" if letter["replayedAt"] is None else f"{letter['replayedAt']} to {letter['replayedTo']}"
    facts = [
        ("dead letter", f"{letter['id']} ({letter['source']})"),
        ("stage", letter["stage"] or "unknown"),
        ("reason", letter["reason"]),
        ("at", letter["at"] or ""),
        ("event", " ".join(p for p in (letter["eventType"], letter["eventTime"]) if p) or "(not readable)"),
        ("job", letter["job"] or ""),
        ("run", letter["runId"] or ""),
        ("size", f"{letter['size']} bytes"),
        ("replayed", replayed),
    ]
    width = max(len(name) for name, _ in facts)
    lines = [f"{name + ':':<{width + 1}} {value}".rstrip() for name, value in facts]
    body = render_json(letter["event"]) if letter.get("event") is not None else (letter.get("raw") or "")
    return "\n".join(lines) + "\n\n" + body


@dead_letters_group.command("replay")
@click.argument("ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Every dead letter not replayed yet.")
@click.option("--force", is_flag=True, help="Replay dead letters that were replayed before, too.")
@_format_option(("table", "json"))
@_admin_options
def replay_command(
    *,
    ids: tuple[str, ...],
    replay_all: bool,
    force: bool,
    fmt: str,
    url: str,
    api_key: str | None,
    timeout: float,
) -> None:
    """Send dead letters IDS (or --all of those not replayed yet) round again: their events are
    appended to the event log and applied anew. Each is replayed once unless --force."""
    if bool(ids) == replay_all:
        raise fail("give dead-letter ids, or --all (not both)")
    body: dict[str, Any] = {"all": True} if replay_all else {"ids": list(ids)}
    body["force"] = force
    result = call_server("POST", url, "/api/v1/dead-letters/replay", api_key, timeout, json=body)
    echo(render_json(result) if fmt == "json" else replay_table(result))
    if result["notFound"]:
        raise click.exceptions.Exit(EXIT_NOT_FOUND)


def replay_table(result: Mapping[str, Any]) -> str:
    """What happened to each dead letter, and the counts."""
    counts = f"replayed {result['replayed']}, skipped {result['skipped']}, not found {result['notFound']}"
    if not result["outcomes"]:
        return f"nothing to replay ({counts})"
    rows = [[o["id"], o["status"], o["replayedTo"] or "", o["detail"] or ""] for o in result["outcomes"]]
    return f"{render_table(['id', 'status', 'replayed to', 'detail'], rows)}\n\n{counts}"
