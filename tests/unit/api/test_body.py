"""Body reading helpers: content types, content codings, incremental capped decompression."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import AsyncIterator, Iterable

import pytest

from olgraph.api.body import check_content_type, content_coding, inflate
from olgraph.errors import InvalidEvent, PayloadTooLarge, UnsupportedMediaType


async def _chunks(data: bytes | Iterable[bytes], size: int = 7) -> AsyncIterator[bytes]:
    if isinstance(data, bytes):
        for start in range(0, len(data), size):
            yield data[start : start + size]
    else:
        for chunk in data:
            yield chunk


@pytest.mark.parametrize(
    "value", [None, "", "application/json", "Application/JSON; charset=UTF-8", "application/ld+json"]
)
def test_json_content_types(value: str | None) -> None:
    check_content_type(value)


@pytest.mark.parametrize(
    "value", ["text/json", "text/plain", "application/jsonx", "application/x-www-form-urlencoded"]
)
def test_non_json_content_types(value: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        check_content_type(value)


@pytest.mark.parametrize(
    ("header", "coding"),
    [(None, None), ("", None), ("identity", None), ("GZIP", "gzip"), ("x-gzip", "x-gzip"),
     ("deflate", "deflate"), ("gzip, identity", "gzip")],
)  # fmt: skip
def test_content_codings(header: str | None, coding: str | None) -> None:
    assert content_coding(header) == coding


@pytest.mark.parametrize("header", ["br", "compress", "gzip, deflate", "zstd"])
def test_unsupported_content_codings(header: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        content_coding(header)


async def test_gzip_in_small_chunks() -> None:
    data = os.urandom(5000) + b"x" * 100_000
    assert await inflate(_chunks(gzip.compress(data)), "gzip", 1_000_000) == data


async def test_concatenated_gzip_members() -> None:
    body = gzip.compress(b"[1,") + gzip.compress(b"2]")
    assert await inflate(_chunks(body, 3), "gzip", 100) == b"[1,2]"


async def test_deflate_is_zlib_format() -> None:
    assert await inflate(_chunks(zlib.compress(b'{"a": 1}')), "deflate", 100) == b'{"a": 1}'


async def test_output_exactly_at_the_limit_is_fine_one_more_byte_is_not() -> None:
    data = b"y" * 1000
    assert await inflate(_chunks(gzip.compress(data)), "gzip", 1000) == data
    with pytest.raises(PayloadTooLarge):
        await inflate(_chunks(gzip.compress(data + b"y")), "gzip", 1000)


async def test_bomb_is_refused_without_expanding_it() -> None:
    """1 GB of zeros compresses to ~1 MB; inflating must stop just past the limit."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(1024)] + [compressor.flush()]
    produced: list[int] = []

    async def counted() -> AsyncIterator[bytes]:
        for part in parts:
            produced.append(len(part))
            yield part

    with pytest.raises(PayloadTooLarge):
        await inflate(counted(), "gzip", 10 * 1024 * 1024)
    assert sum(produced) < sum(len(p) for p in parts) / 10  # stopped early, not after reading it all


async def test_corrupt_and_truncated_bodies_are_invalid() -> None:
    with pytest.raises(InvalidEvent, match="not valid gzip"):
        await inflate(_chunks(b"definitely not gzip"), "gzip", 1000)
    with pytest.raises(InvalidEvent, match="truncated"):
        await inflate(_chunks(gzip.compress(b"x" * 100)[:-10]), "gzip", 1000)
    with pytest.raises(InvalidEvent, match="truncated"):
        await inflate(_chunks(b""), "gzip", 1000)
