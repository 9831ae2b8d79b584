"""Reading an ingest request body safely: content type, size caps, gzip/deflate.

The body is read as a stream and counted as it arrives, so an oversized request is refused
(413) without being held in memory. Compressed bodies are inflated incrementally with an
output cap per step, so a gzip bomb is refused once its *decompressed* size passes the
limit, long before it is fully expanded.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from fastapi import Request

from olgraph.config import LimitSettings
from olgraph.errors import InvalidEvent, PayloadTooLarge, UnsupportedMediaType

# zlib window bits: 16+ expects a gzip header, a plain value a zlib (RFC 1950) header, which
# is what HTTP's "deflate" means.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def check_content_type(content_type: str | None) -> None:
    """Accept JSON (``application/json``, ``application/*+json``) or no content type at all."""
    if not content_type:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return
    raise UnsupportedMediaType(f"Content-Type must be application/json, not {media_type or content_type!r}")


def content_coding(header: str | None) -> str | None:
    """The one compression coding of a ``Content-Encoding`` header (``None``: identity)."""
    codings = [c.strip().lower() for c in (header or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in _WBITS:
        raise UnsupportedMediaType(f"Content-Encoding {header!r} is not supported (use gzip or deflate)")
    return codings[0]


async def read_raw(request: Request, limits: LimitSettings) -> tuple[bytes, str | None]:
    """The request body as sent (maybe compressed), within ``max_body_bytes``, and its coding.

    Raises ``UnsupportedMediaType`` (415) or ``PayloadTooLarge`` (413). Decompress it with
    :func:`decompress`, which is CPU work for a worker thread.
    """
    check_content_type(request.headers.get("content-type"))
    coding = content_coding(request.headers.get("content-encoding"))
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > limits.max_body_bytes:
        raise PayloadTooLarge(
            f"request body of {declared} bytes exceeds {limits.max_body_bytes} (limits.max_body_bytes)"
        )
    chunks = _capped(request.stream(), limits.max_body_bytes)
    return b"".join([chunk async for chunk in chunks]), coding


async def read_body(request: Request, limits: LimitSettings) -> bytes:
    """The request body, decompressed, within ``limits`` (on the event loop: small bodies only).

    Raises ``UnsupportedMediaType`` (415), ``PayloadTooLarge`` (413) or, for a corrupt
    compressed body, ``InvalidEvent`` (400).
    """
    raw, coding = await read_raw(request, limits)
    return decompress(raw, coding, limits.max_decompressed_bytes)


def decompress(raw: bytes, coding: str | None, limit: int) -> bytes:
    """``raw`` decoded from ``coding`` (``None``: as is), refusing output over ``limit`` bytes."""
    if coding is None:
        return raw
    inflater = _Inflater(coding, limit)
    inflater.feed(raw)
    return inflater.finish()


async def _capped(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """Pass chunks through until more than ``limit`` bytes have arrived, then refuse."""
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes (limits.max_body_bytes)")
        yield chunk


async def inflate(chunks: AsyncIterator[bytes], coding: str, limit: int) -> bytes:
    """Decompress ``chunks`` (``gzip``, ``x-gzip`` or ``deflate``), refusing output over ``limit``.

    Concatenated gzip members (what ``cat a.gz b.gz`` gives) decompress to their concatenation.
    """
    inflater = _Inflater(coding, limit)
    async for chunk in chunks:
        inflater.feed(chunk)
    return inflater.finish()


class _Inflater:
    """Incremental gzip/deflate decompression with an output cap (bounded memory whatever the ratio)."""

    def __init__(self, coding: str, limit: int) -> None:
        self.coding = coding
        self.wbits = _WBITS[coding]
        self.out = _CappedOutput(limit)
        self.decompressor = zlib.decompressobj(self.wbits)

    def feed(self, chunk: bytes) -> None:
        """Decompress one more piece of input."""
        data = chunk
        try:
            while data:
                if self.decompressor.eof:
                    if self.coding == "deflate":
                        return  # bytes after the zlib stream are not part of the body
                    self.decompressor = zlib.decompressobj(self.wbits)  # the next gzip member
                # Asking for at most one byte beyond the limit bounds memory whatever the ratio.
                self.out.write(self.decompressor.decompress(data, self.out.room()))
                d = self.decompressor
                data = d.unused_data if d.eof else d.unconsumed_tail
        except zlib.error as exc:
            raise InvalidEvent(f"the body is not valid {self.coding} data: {exc}") from exc

    def finish(self) -> bytes:
        """Everything decompressed; ``InvalidEvent`` when the stream is cut short."""
        try:
            self.out.write(self.decompressor.flush())
        except zlib.error as exc:
            raise InvalidEvent(f"the body is not valid {self.coding} data: {exc}") from exc
        if not self.decompressor.eof:
            raise InvalidEvent(f"the {self.coding} body is truncated")
        return self.out.value()


class _CappedOutput:
    """Collects decompressed bytes; ``PayloadTooLarge`` once they pass the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []

    def room(self) -> int:
        """How much more output to accept: one byte beyond the limit reveals an excess."""
        return self.limit - self.size + 1

    def write(self, data: bytes) -> None:
        """Append ``data``, refusing once the total exceeds the limit."""
        self.size += len(data)
        if self.size > self.limit:
            raise PayloadTooLarge(
                f"decompressed body exceeds {self.limit} bytes (limits.max_decompressed_bytes)"
            )
        self.parts.append(data)

    def value(self) -> bytes:
        """Everything written."""
        return b"".join(self.parts)
