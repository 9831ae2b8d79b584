"""Talking to a running olgraph server over HTTP, for the CLI's commands.

One-shot requests (:func:`send`, :func:`fetch_json`) end the command with a clear message
and exit code 2 when the server cannot be reached or answers an error; :class:`OlgraphClient`
is the retrying client of long-running commands (``olgraph sync``): paged listings and
batches of events, 503s and dropped connections retried a bounded number of times.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import orjson

from olgraph.cli._output import fail, render_json

MAX_RETRY_WAIT = 30.0  # seconds: the longest single wait on a 503, whatever Retry-After says
BATCH_PATH = "/api/v1/lineage/batch"

JsonDict = dict[str, Any]


def fetch_json(url: str, path: str, params: Mapping[str, Any], api_key: str | None, timeout: float) -> Any:
    """GET ``path`` from the server and return its JSON; on any failure print why and exit 2."""
    response = send(url, "GET", path, params, api_key=api_key, timeout=timeout)
    if response.is_error:
        raise fail(f"the server answered {response.status_code}: {error_message(response)}")
    return response_json(response, url)


def send(
    url: str,
    method: str,
    path: str,
    params: Mapping[str, Any],
    *,
    api_key: str | None,
    timeout: float,
    body: Any = None,
) -> httpx.Response:
    """Send one request (``None`` parameters left out); exit 2 when the server cannot be reached."""
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    query = {k: v for k, v in params.items() if v is not None}
    try:
        with httpx.Client(base_url=url, timeout=timeout, headers=headers) as client:
            return client.request(method, path, params=query, json=body)
    except httpx.InvalidURL as exc:
        raise fail(f"--url {url!r} is not a valid URL: {exc}") from exc
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach the olgraph server at {url}: {exc or type(exc).__name__}") from exc


def response_json(response: httpx.Response, url: str) -> Any:
    """The JSON of an answer; exit 2 when it is not JSON."""
    try:
        return response.json()
    except ValueError as exc:
        raise fail(f"the server at {url} did not answer with JSON (is it an olgraph server?)") from exc


def error_message(response: httpx.Response) -> str:
    """The human message of an error answer, whatever shape its body has."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    if isinstance(body, dict):
        for key in ("detail", "error", "message", "reason"):
            if key in body:
                return _message_text(body[key])
    return _message_text(body)


def _message_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # FastAPI validation errors: [{"loc": [...], "msg": ...}]
        return "; ".join(_message_text(v) for v in value)
    if isinstance(value, dict) and "msg" in value:
        where = ".".join(str(p) for p in value.get("loc", ()) if p not in ("query", "path", "body"))
        return f"{where}: {value['msg']}" if where else str(value["msg"])
    return render_json(value)


class OlgraphClient:
    """The olgraph server as the sync uses it: paged listings and batches of events.

    A 503 (the event log is full or unavailable) and a dropped connection are retried up to
    ``retries`` times, waiting ``Retry-After`` (at most 30 s) or a doubling backoff; every
    other failure ends the command with a message that says what to do.
    """

    def __init__(
        self, url: str, api_key: str | None, read_api_key: str | None, timeout: float, retries: int
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.read_api_key = read_api_key or api_key
        self.retries = retries
        try:
            self.http = httpx.Client(base_url=url, timeout=timeout)
        except httpx.InvalidURL as exc:
            raise fail(f"--url {url!r} is not a valid URL: {exc}") from exc

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _request(self, method: str, path: str, key: str | None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key:
            headers["Authorization"] = f"Bearer {key}"
        attempt = 0
        while True:
            try:
                response = self.http.request(method, path, headers=headers, **kwargs)
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                raise fail(f"--url {self.url!r} is not a valid URL: {exc}") from exc
            except httpx.ConnectError as exc:
                raise fail(f"cannot reach the olgraph server at {self.url}: {exc}") from exc
            except httpx.TransportError as exc:  # a dropped connection, a timeout: worth retrying
                if attempt >= self.retries:
                    raise fail(f"the olgraph server at {self.url} stopped answering: {exc!r}") from exc
                wait = _backoff(attempt, None)
            else:
                if response.status_code != 503 or attempt >= self.retries:
                    return response
                wait = _backoff(attempt, response.headers.get("Retry-After"))
            time.sleep(wait)
            attempt += 1

    def pages(self, path: str) -> Iterator[JsonDict]:
        """Every item of a paged listing (the server's page size)."""
        offset = 0
        while True:
            response = self._request("GET", path, self.read_api_key, params={"offset": offset})
            _check(response, "read", "--read-api-key (or --api-key)")
            page = response.json()
            yield from page["items"]
            offset += int(page["limit"])
            if offset >= int(page["total"]) or not page["items"]:
                return

    def dataset_facets(self, namespace: str, name: str) -> JsonDict | None:
        """The facets the graph holds for one dataset (``None`` when it has no such dataset)."""
        params = {"namespace": namespace, "name": name}
        response = self._request("GET", "/api/v1/datasets", self.read_api_key, params=params)
        if response.status_code == 404:
            return None
        _check(response, "read", "--read-api-key (or --api-key)")
        facets: JsonDict = response.json().get("facets") or {}
        return facets

    def post_batch(self, events: list[JsonDict]) -> None:
        """Send events in one batch; a batch the server finds too large is sent in halves."""
        body = gzip.compress(orjson.dumps(events, option=orjson.OPT_SORT_KEYS))
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        response = self._request("POST", BATCH_PATH, self.api_key, content=body, headers=headers)
        if response.status_code == 413 and len(events) > 1:
            half = len(events) // 2
            self.post_batch(events[:half])
            self.post_batch(events[half:])
            return
        if response.status_code == 413:
            raise fail(f"the olgraph server refused an event as too large (413): {error_message(response)}")
        _check(response, "ingest", "--api-key")
        failed = response.json().get("failed_events") or []
        if failed:
            reasons = "; ".join(f"event {f['index']}: {f['reason']}" for f in failed[:3])
            raise fail(f"the olgraph server refused {len(failed)} of {len(events)} events: {reasons}")


def _backoff(attempt: int, retry_after: str | None) -> float:
    """Seconds to wait before retry ``attempt + 1``: ``Retry-After`` if given, else 0.5, 1, 2, …"""
    try:
        wanted = float(retry_after) if retry_after else 0.5 * 2**attempt
    except ValueError:
        wanted = 0.5 * 2**attempt
    return max(0.0, min(wanted, MAX_RETRY_WAIT))


def _check(response: httpx.Response, role: str, option: str) -> None:
    """End the command with a clear message on an error answer."""
    status = response.status_code
    if status < 400:
        return
    message = error_message(response)
    if status == 401:
        raise fail(f"the olgraph server refused the API key (401: {message}); give one with {option}")
    if status == 403:
        raise fail(
            f"the API key lacks the '{role}' role (403: {message}); give one that has it with {option}"
        )
    if status == 503:
        raise fail(
            f"the olgraph server is unavailable (503: {message}), also after retrying; try again later"
        )
    raise fail(f"the olgraph server answered {status}: {message}")
