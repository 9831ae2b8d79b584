"""A minimal keep-alive HTTP/1.1 client on asyncio streams, for the load generators.

``Connection`` sends a request and reads its answer; ``_request`` does so with a transport
failure as status 0 (the load generators count it, never raise it).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class Connection:
    """A minimal keep-alive HTTP/1.1 client connection on asyncio streams.

    httpx costs ~2 ms of CPU per 10 KB POST here, which would make the generator the
    bottleneck on 2 cores; this costs a small fraction of that. It speaks only what our
    servers answer: ``Content-Length`` or chunked bodies, no redirects, no TLS.
    """

    def __init__(self, url: str) -> None:
        parsed = urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """Send one request and read its response: ``(status, body)``.

        A kept-alive connection the server closed meanwhile (uvicorn closes idle ones after
        5 s) fails before any answer; the request is then sent once more on a new connection.
        """
        reused = self._streams is not None
        try:
            return await self._exchange(method, path, body)
        except _Closed:
            self.close()
            if not reused:
                raise
        return await self._exchange(method, path, body)

    async def _exchange(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            writer.write(head.encode() + body)
            await writer.drain()
            head_bytes = await reader.readuntil(b"\r\n\r\n")
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise _Closed from exc
        try:
            status, headers = _parse_head(head_bytes)
            if headers.get("transfer-encoding") == "chunked":
                payload = await _read_chunked(reader)
            else:
                payload = await reader.readexactly(int(headers.get("content-length", "0")))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self.close()
            raise
        if headers.get("connection") == "close":
            self.close()
        return status, payload

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


class _Closed(Exception):
    """The connection failed before any answer: the server had closed it, or never accepted it."""


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    return int(lines[0].split()[1]), headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        parts.append(await reader.readexactly(size + 2))
    await reader.readuntil(b"\r\n")
    return b"".join(part[:-2] for part in parts)


async def _request(connection: Connection, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """``connection.request``, with a transport failure as status 0."""
    try:
        return await connection.request(method, path, body)
    except (_Closed, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError):
        connection.close()
        return 0, b""
