"""Opaque page cursors: where a keyset-paged listing or search goes on.

A cursor is URL-safe base64 of a small JSON array: the kind of listing, a fingerprint of
the filters it was made for, and the position (the last item's sort values). A cursor used
with other filters or another order, or tampered with, is refused with a 400 naming ``cursor``.

>>> token = encode_cursor("search", "q=a", ["prefix", "ab", "dataset:n:ab"])
>>> decode_cursor(token, "search", "q=a")
['prefix', 'ab', 'dataset:n:ab']
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

from olgraph.errors import InvalidQuery


def fingerprint(*parts: object) -> str:
    """A short digest of the filters a cursor belongs to."""
    return hashlib.sha256(orjson.dumps([str(p) for p in parts])).hexdigest()[:16]


def encode_cursor(kind: str, filters: str, position: Sequence[Any]) -> str:
    """The cursor of ``position`` in the listing ``kind`` with ``filters`` (a fingerprint)."""
    raw = orjson.dumps([kind, filters, list(position)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, kind: str, filters: str) -> list[Any]:
    """The position a cursor holds; ``InvalidQuery`` (field ``cursor``) when it is not one of ours
    for this listing and these filters."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = orjson.loads(raw)
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise InvalidQuery("not a cursor this server made", field="cursor") from exc
    if not (isinstance(decoded, list) and len(decoded) == 3 and isinstance(decoded[2], list)):
        raise InvalidQuery("not a cursor this server made", field="cursor")
    if decoded[0] != kind or decoded[1] != filters:
        raise InvalidQuery(
            "belongs to another listing, other filters or another sort: start again without it",
            field="cursor",
        )
    position: list[Any] = decoded[2]
    return position
