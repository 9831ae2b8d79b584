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


async def read_body(request: Request, limits: LimitSettings) -> bytes:
    """The request body, decompressed, within ``limits``.

    Raises ``UnsupportedMediaType`` (415), ``PayloadTooLarge`` (413) or, for a corrupt
    compressed body, ``InvalidEvent`` (400).
    """
    check_content_type(request.headers.get("content-type"))
    coding = content_coding(request.headers.get("content-encoding"))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise PayloadTooLarge(f"request body of {declared} bytes exceeds {limits.max_body_bytes}")
    chunks = _capped(request.stream(), limits.max_body_bytes)
    if coding is None:
        return b"".join([chunk async for chunk in chunks])
    return await inflate(chunks, coding, limits.max_decompressed_bytes)


async def _capped(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """Pass chunks through until more than ``limit`` bytes have arrived, then refuse."""
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes")
        yield chunk


async def inflate(chunks: AsyncIterator[bytes], coding: str, limit: int) -> bytes:
    """Decompress ``chunks`` (``gzip``, ``x-gzip`` or ``deflate``), refusing output over ``limit``.

    Concatenated gzip members (what ``cat a.gz b.gz`` gives) decompress to their concatenation.
    """
    out = _CappedOutput(limit)
    wbits = _WBITS[coding]
    decompressor = zlib.decompressobj(wbits)
    try:
        async for chunk in chunks:
            data = chunk
            while data:
                if decompressor.eof:
                    if coding == "deflate":
                        break  # bytes after the zlib stream are not part of the body
                    decompressor = zlib.decompressobj(wbits)  # the next gzip member
                # Asking for at most one byte beyond the limit bounds memory whatever the ratio.
                out.write(decompressor.decompress(data, out.room()))
                data = decompressor.unused_data if decompressor.eof else decompressor.unconsumed_tail
        out.write(decompressor.flush())
    except zlib.error as exc:
        raise InvalidEvent(f"the body is not valid {coding} data: {exc}") from exc
    if not decompressor.eof:
        raise InvalidEvent(f"the {coding} body is truncated")
    return out.value()


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
            raise PayloadTooLarge(f"decompressed body exceeds {self.limit} bytes")
        self.parts.append(data)

    def value(self) -> bytes:
        """Everything written."""
        return b"".join(self.parts)
