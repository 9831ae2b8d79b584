"""Printing query answers on a terminal: aligned tables, JSON and CSV.

>>> print(render_table(["a", "long header"], [["1", "x"], ["22", "y"]]))
a   long header
--  -----------
1   x
22  y
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click
import orjson

_GAP = "  "


def cell(value: Any) -> str:
    """How one value shows in a table or CSV cell (lists joined with ``;``, null as empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(cell(v) for v in value)
    return str(value)


def render_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns padded to their widest cell, a dashed rule under the header, no trailing spaces."""
    text_rows = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [headers, ["-" * w for w in widths], *text_rows]
    return "\n".join(
        _GAP.join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def render_json(document: Any) -> str:
    """Indented JSON (keys in the server's order)."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()


def render_csv_rows(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV with a header of ``columns`` and one line per row (cells as :func:`cell` shows them)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue()


def echo(text: str) -> None:
    """Print ``text`` to stdout without doubling a trailing newline (nothing for empty text)."""
    if text:
        click.echo(text, nl=not text.endswith("\n"))


def fail(message: str, code: int = 2) -> click.exceptions.Exit:
    """Print ``message`` to stderr and return the exit to raise (``raise fail(...)``)."""
    click.echo(f"Error: {message}", err=True)
    return click.exceptions.Exit(code)
