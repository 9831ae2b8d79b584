"""Times in query parameters (``asOf``, ``since``…): any ISO-8601 date-time, or a date.

>>> parse_time("2024-05-01", "asOf")
'2024-05-01T00:00:00.000000000Z'
>>> parse_time("2024-05-01T14:00:00+02:00", "asOf")
'2024-05-01T12:00:00.000000000Z'
"""

from __future__ import annotations

import re

from olgraph.errors import InvalidQuery
from olgraph.ingest.times import normalize_time

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_time(value: str | None, field: str) -> str | None:
    """``value`` as a stored time (UTC, nanoseconds); a date means its start, UTC. None stays None.

    Raises :class:`~olgraph.errors.InvalidQuery` naming ``field`` for anything else.
    """
    if value is None:
        return None
    text = value.strip()
    if _DATE.fullmatch(text):
        text += "T00:00:00Z"
    try:
        return normalize_time(text)
    except ValueError as exc:
        raise InvalidQuery(
            f"expected an ISO-8601 date-time or a date (e.g. 2024-05-01T12:00:00Z), got {value!r}",
            field=field,
        ) from exc
