"""Each service's OpenAPI documents its problem types (iro_kit.problem_types): drp-api's
refused transitions carry `current_state`, `current_stage` and `allowed_transitions` in the
schema of their 409, the 412/428 of every If-Match route name `current_version`, and every
type the catalogue knows is listed with its URI in `x-problem-types`."""

from __future__ import annotations

from typing import Any

import pytest

from iro_kit.problem_types import PROBLEM_BASE, catalogue
from iro_local.openapi import service_apps


@pytest.fixture(scope="module")
def specs() -> dict[str, dict[str, Any]]:
    return {name: app.openapi() for name, app in service_apps().items()}


def _members(spec: dict[str, Any], ref: str) -> set[str]:
    component = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return {name for part in component["allOf"] for name in part.get("properties", {})}


def _schemas(response: dict[str, Any]) -> list[str]:
    schema = response["content"]["application/problem+json"]["schema"]
    return [branch["$ref"] for branch in schema.get("anyOf", [schema])]


def test_a_refused_transition_documents_its_members(specs) -> None:
    spec = specs["drp"]
    for verb in ("respond", "escalate", "refer-to-cafcass", "resolve", "withdraw", "reopen"):
        response = spec["paths"][f"/drp/v1/disputes/{{dispute_id}}/{verb}"]["post"]["responses"]
        refs = _schemas(response["409"])
        assert "#/components/schemas/TransitionProblem" in refs, verb
        members = _members(spec, "#/components/schemas/TransitionProblem")
        assert members >= {"current_state", "current_stage", "allowed_transitions"}


def test_every_if_match_route_documents_current_version(specs) -> None:
    checked = 0
    for spec in specs.values():
        for item in spec["paths"].values():
            for operation in item.values():
                names = {p["name"] for p in operation.get("parameters", [])}
                if "If-Match" not in names:
                    continue
                for status in ("412", "428"):
                    refs = _schemas(operation["responses"][status])
                    assert "#/components/schemas/VersionProblem" in refs
                checked += 1
    assert checked >= 15  # reviews-api's nine and drp-api's six


def test_every_catalogued_type_is_listed_by_the_services_that_raise_it(specs) -> None:
    listed = {
        name: {entry["type"]: entry["status"] for entry in spec["x-problem-types"]}
        for name, spec in specs.items()
    }
    everywhere = set.intersection(*(set(types) for types in listed.values()))
    assert PROBLEM_BASE + "validation-error" in everywhere
    assert PROBLEM_BASE + "transition-not-allowed" in listed["drp"]
    assert PROBLEM_BASE + "already-recorded" in listed["reviews"]
    known = {kind.uri: kind.status for kind in catalogue().values()}
    for types in listed.values():
        assert all(known[uri] == status for uri, status in types.items())
    assert set().union(*listed.values()) == set(known)


def test_the_gateways_own_problems_are_in_the_catalogue() -> None:
    """nginx answers some problems itself (deploy/gateway/templates): each is a catalogued
    type, with its status and title."""
    import json
    import re
    from pathlib import Path

    template = Path(__file__).resolve().parents[1] / "deploy/gateway/templates"
    text = (template / "default.conf.template").read_text(encoding="utf-8")
    bodies = re.findall(r"return (\d{3}) '(\{.*?\})';", text)
    assert len(bodies) >= 5
    known = catalogue()
    for status, raw in bodies:
        body = json.loads(raw.replace("$iro_request_id", "x"))
        slug = body["type"].removeprefix(PROBLEM_BASE)
        assert slug in known, slug
        assert (known[slug].status, known[slug].title) == (int(status), body["title"]), slug
