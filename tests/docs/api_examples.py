"""The small shop graph every example of docs/api.md runs against (see tests/docs/test_api_doc.py).

Running this file writes the answer of every ``curl`` in docs/api.md on that graph into the
doc, after its ``curl`` (lists cut to their first items, facets to their first one)::

    PYTHONPATH=src .venv/bin/python tests/docs/api_examples.py
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

PRODUCER = "https://example.com/docs"
RUN_A, RUN_B, RUN_C, RUN_D = (f"0190b7c5-0000-7000-8000-00000000000{n}" for n in "abcd")
DAG_RUN = "0190b7c5-0000-7000-8000-0000000000ff"


def _facet(**fields: Any) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/Facet.json",
        **fields,
    }


def _schema(**columns: str) -> dict[str, Any]:
    return _facet(fields=[{"name": c, "type": t} for c, t in columns.items()])


def _field(name: str, column: str, kind: str, subtype: str, **extra: Any) -> dict[str, Any]:
    return {
        "namespace": "shop",
        "name": name,
        "field": column,
        "transformations": [{"type": kind, "subtype": subtype, **extra}],
    }


def _event(
    state: str, run: str, minute: int, job: str, inputs: list[Any], outputs: list[Any], **facets: Any
) -> dict[str, Any]:
    run_facets = facets.pop("run_facets", {})
    return {
        "eventType": state,
        "eventTime": f"2024-05-01T12:{minute:02d}:00Z",
        "run": {"runId": run, "facets": run_facets},
        "job": {"namespace": "shop", "name": job, "facets": facets.pop("job_facets", {})},
        "inputs": inputs,
        "outputs": outputs,
        "producer": PRODUCER,
    }


def events() -> list[dict[str, Any]]:
    """The shop: raw.orders → etl.clean → clean.orders → mart.revenue → mart.revenue (dataset) → report."""
    raw = {
        "namespace": "shop",
        "name": "raw.orders",
        "facets": {"schema": _schema(id="int", email="string", amount="decimal", status="string")},
    }
    clean = {
        "namespace": "shop",
        "name": "clean.orders",
        "facets": {
            "schema": _schema(id="int", email_hash="string", amount="decimal"),
            "ownership": _facet(owners=[{"name": "team:data", "type": "MAINTAINER"}]),
            "tags": _facet(
                tags=[
                    {"key": "tier", "value": "gold"},
                    {"key": "pii", "value": "true", "field": "email_hash"},
                ]
            ),
            "columnLineage": _facet(
                fields={
                    "id": {"inputFields": [_field("raw.orders", "id", "DIRECT", "IDENTITY")]},
                    "email_hash": {
                        "inputFields": [
                            _field(
                                "raw.orders",
                                "email",
                                "DIRECT",
                                "TRANSFORMATION",
                                description="sha256(email)",
                                masking=True,
                            )
                        ]
                    },
                    "amount": {"inputFields": [_field("raw.orders", "amount", "DIRECT", "IDENTITY")]},
                },
                dataset=[_field("raw.orders", "status", "INDIRECT", "FILTER")],
            ),
        },
        "outputFacets": {"outputStatistics": _facet(rowCount=42, size=1024)},
    }
    quality = {
        "dataQualityMetrics": _facet(
            rowCount=42, columnMetrics={"id": {"nullCount": 0, "distinctCount": 42}}
        ),
        "dataQualityAssertions": _facet(
            assertions=[{"assertion": "not_null", "success": True, "column": "id"}]
        ),
    }
    revenue = {
        "namespace": "shop",
        "name": "mart.revenue",
        "facets": {
            "schema": _schema(customer="int", total="decimal"),
            "columnLineage": _facet(
                fields={
                    "customer": {"inputFields": [_field("clean.orders", "id", "DIRECT", "IDENTITY")]},
                    "total": {
                        "inputFields": [
                            _field(
                                "clean.orders", "amount", "DIRECT", "AGGREGATION", description="sum(amount)"
                            )
                        ]
                    },
                }
            ),
        },
    }
    parent = {"parent": _facet(run={"runId": DAG_RUN}, job={"namespace": "airflow", "name": "daily"})}
    sql = {"sql": _facet(query="SELECT customer, sum(amount) AS total FROM clean.orders GROUP BY customer")}
    error = {"errorMessage": _facet(message="division by zero", programmingLanguage="python")}
    report_type = {"jobType": _facet(processingType="BATCH", integration="PYTHON", jobType="JOB")}
    clean_v2 = {
        **clean,
        "facets": {
            **clean["facets"],
            "schema": _schema(id="bigint", email_hash="string", amount="decimal", currency="string"),
        },
    }
    return [
        _event("START", RUN_A, 0, "etl.clean", [raw], [clean]),
        _event("COMPLETE", RUN_A, 3, "etl.clean", [raw], [clean]),
        _event(
            "START",
            RUN_B,
            5,
            "mart.revenue",
            [{"namespace": "shop", "name": "clean.orders", "inputFacets": quality}],
            [revenue],
            run_facets=parent,
            job_facets=sql,
        ),
        _event("COMPLETE", RUN_B, 8, "mart.revenue", [], [revenue], job_facets=sql),
        _event(
            "START",
            RUN_C,
            10,
            "report",
            [{"namespace": "shop", "name": "mart.revenue"}],
            [],
            job_facets=report_type,
        ),
        _event("FAIL", RUN_C, 11, "report", [], [], run_facets=error),
        _event("COMPLETE", RUN_D, 20, "etl.clean", [raw], [clean_v2]),
    ]


FACETS_SHOWN = 1
ITEMS_SHOWN = 1


def cut(value: Any, key: str = "") -> Any:
    """An answer as the doc shows it: lists cut to their first items, facet maps to their first one."""
    if isinstance(value, list):
        return [cut(v) for v in value[:ITEMS_SHOWN]]
    if isinstance(value, dict):
        items = list(value.items())
        if key == "facets":
            items = items[:FACETS_SHOWN]
        return {k: cut(v, k) for k, v in items}
    return value


def render(answer: Any) -> str:
    """The JSON the doc shows for an answer."""
    return json.dumps(cut(answer), indent=2)


def curl_request(command: str) -> tuple[str, str, Any]:
    """(method, path, JSON body) of a doc ``curl`` line."""
    words = shlex.split(command)
    url = next(w for w in words if w.startswith("http")).removeprefix(DOC_URL)
    method = words[words.index("-X") + 1] if "-X" in words else "GET"
    body = json.loads(words[words.index("-d") + 1]) if "-d" in words else None
    return method, url, body


DOC_URL = "http://127.0.0.1:5000"
_EXAMPLE = re.compile(r"(```bash\n(curl [^\n]*)\n```\n\n```(json|csv)\n)(.*?)(\n```)", re.DOTALL)


def examples(doc: str) -> list[tuple[str, str]]:
    """(curl line, the answer block shown after it) of every example in the doc, in order."""
    return [(m.group(2), m.group(4)) for m in _EXAMPLE.finditer(doc)]


if __name__ == "__main__":  # pragma: no cover - rewrites the doc's answers
    import tempfile
    import time

    from fastapi.testclient import TestClient

    from olgraph.api.app import create_app
    from olgraph.config import Settings

    path = Path(__file__).resolve().parents[2] / "docs" / "api.md"
    doc = path.read_text(encoding="utf-8")
    with TestClient(create_app(Settings(data_dir=Path(tempfile.mkdtemp())))) as client:
        for event in events():
            client.post("/api/v1/lineage", json=event)
        while client.get("/api/v1/stats").json()["pending"]:
            time.sleep(0.05)

        def answer(match: re.Match[str]) -> str:
            method, url, body = curl_request(match.group(2))
            response = client.request(method, url, json=body)
            shown = render(response.json()) if match.group(3) == "json" else response.text.strip()
            return match.group(1) + shown + match.group(5)

        path.write_text(_EXAMPLE.sub(answer, doc), encoding="utf-8")
    print(f"wrote the answers of {len(examples(doc))} examples into {path}")
