"""Normalization of OpenLineage timestamps to olgraph's fixed-width UTC form.

Producers send ``eventTime`` in many ISO-8601 shapes: with ``Z`` or an offset, with 0 to
9 (or more) fraction digits, sometimes without a timezone at all (Marquez's test events do).
olgraph stores every time as ``YYYY-MM-DDTHH:MM:SS.fffffffffZ`` in UTC so that string order
is time order in both stores and nothing below the nanosecond is invented or lost.

>>> normalize_time("2020-12-28T19:52:00.001+10:00")
'2020-12-28T09:52:00.001000000Z'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_TIME_RE = re.compile(
    r"""
    (?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})
    [Tt\ ]
    (?P<hour>\d{2}):(?P<minute>\d{2})
    (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?
    \s*
    (?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?)?
    """,
    re.VERBOSE,
)


def _offset(tz: str | None) -> timezone:
    """The fixed offset a timezone designator names (none means UTC, as producers intend)."""
    if tz is None or tz in ("Z", "z"):
        return UTC
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if minutes >= 60:
        raise ValueError(f"invalid timezone offset {tz!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def normalize_time(value: str) -> str:
    """Convert an ISO-8601 date-time string to olgraph's UTC nanosecond time string.

    The result is an :data:`olgraph.normalize.mutations.Time` (ingest does not import
    normalize: imports point downstream only).

    Accepts ``Z``, ``±HH:MM``/``±HHMM``/``±HH`` offsets or no timezone (taken as UTC), a
    ``T``, ``t`` or space separator, and any number of fraction digits (beyond nine they
    are truncated: the store's resolution is the nanosecond). A leap second (``:60``) is
    kept as the last nanosecond of its minute. Raises :class:`ValueError` otherwise.

    >>> normalize_time("2020-12-28T19:51:01.641499")
    '2020-12-28T19:51:01.641499000Z'
    """
    match = _TIME_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not an ISO-8601 date-time: {value!r}")
    parts = match.groupdict()
    second = int(parts["second"] or 0)
    nanos = int((parts["fraction"] or "0")[:9].ljust(9, "0"))
    if second == 60:  # leap second: datetime cannot hold it, so keep it just before the next minute
        second, nanos = 59, 999_999_999
    try:
        local = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            second,
            tzinfo=_offset(parts["tz"]),
        )
        utc = local.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not a valid date-time: {value!r} ({exc})") from exc
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{nanos:09d}Z"
    )
