"""Terminal rendering: aligned tables, cells, JSON."""

from __future__ import annotations

import orjson

from olgraph.cli._output import cell, render_csv_rows, render_json, render_table


def test_table_columns_are_aligned_to_the_widest_cell() -> None:
    text = render_table(["distance", "id"], [[1, "dataset:gs://b:x"], [12, "job:a:b"]])
    lines = text.splitlines()
    assert lines == [
        "distance  id",
        "--------  ----------------",
        "1         dataset:gs://b:x",
        "12        job:a:b",
    ]
    # the second column starts at the same offset on every line
    assert {line.index(line.split()[1]) for line in lines} == {10}


def test_table_has_no_trailing_spaces_and_shows_empty_cells() -> None:
    text = render_table(["a", "b", "c"], [["x", None, ""], ["yy", ["o1", "o2"], True]])
    assert all(line == line.rstrip() for line in text.splitlines())
    assert text.splitlines()[2] == "x"
    assert text.splitlines()[3] == "yy  o1;o2  true"


def test_cells() -> None:
    assert cell(None) == ""
    assert cell(False) == "false"
    assert cell(["a", "b"]) == "a;b"
    assert cell(3) == "3"


def test_json_round_trips() -> None:
    doc = {"b": [1, {"c": None}], "a": "ü"}
    assert orjson.loads(render_json(doc)) == doc
    assert "\n  " in render_json(doc)


def test_csv_rows() -> None:
    text = render_csv_rows(["id", "deleted"], [{"id": "dataset:a:b,c", "deleted": True}, {"id": "job:a:b"}])
    assert text == 'id,deleted\n"dataset:a:b,c",true\njob:a:b,\n'
