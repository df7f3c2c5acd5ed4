"""Every status a route can answer whatever its handler does is in its OpenAPI (.ci/fuzz checks
the rest): schemathesis's status_code_conformance found these undocumented."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from iro_local.openapi import service_apps


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    schema = app.openapi()
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


@pytest.mark.parametrize(
    ("name", "app"), list(service_apps().items()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_implied_problems_are_documented(name: str, app: FastAPI) -> None:
    missing = []
    for method, path, operation in _operations(app):
        responses = operation["responses"]
        wanted = []
        if "requestBody" in operation:
            wanted += ["400", "413"]  # a body that is not JSON, or too large
        if operation.get("security"):
            wanted += ["401", "403", "503"]  # no token, no role, the database unavailable
        if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])):
            wanted += ["422"]  # a key that is not 1 to 200 visible ASCII characters
        missing += [(method, path, s) for s in wanted if s not in responses]
        for status in wanted:
            if status in responses:
                assert "application/problem+json" in responses[status]["content"], (path, status)
    assert missing == [], name


def test_routes_that_refuse_a_reference_or_a_format_document_it() -> None:
    apps = service_apps()
    raise_dispute = apps["drp"].openapi()["paths"]["/drp/v1/disputes"]["post"]
    assert "404" in raise_dispute["responses"]  # reviews-api has no such child
    drill_down = apps["scorecard"].openapi()["paths"]["/scorecard/v1/kpis/{code}/children"]["get"]
    assert "406" in drill_down["responses"]  # format=png on a route offering json, csv, xlsx
