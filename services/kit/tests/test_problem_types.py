"""The catalogue of problem types (iro_kit.problem_types): what it records, what it documents,
and the test-run check that every problem the code builds is in it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel

from iro_kit import problem_types
from iro_kit.errors import problem_body
from iro_kit.problem_types import KIT_TYPES, ProblemType, document, register


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> set:
    seen: set = set()
    monkeypatch.setattr(problem_types, "_UNDOCUMENTED", seen)
    return seen


def test_a_catalogued_problem_is_not_remembered(fresh: set) -> None:
    problem_body(412, "stale", "/x", slug="precondition-failed", extra={"current_version": 3})
    problem_body(404, "gone", "/x")
    assert problem_types.undocumented() == set()


@pytest.mark.parametrize(
    ("status", "slug", "extra", "expected"),
    [
        (409, "no-such-type", None, ("no-such-type", 409, ())),
        (409, "not-found", None, ("not-found", 409, ())),  # the type, at another status
        (404, None, {"secret": 1}, ("not-found", 404, ("secret",))),  # an undeclared member
    ],
)
def test_a_problem_the_catalogue_does_not_describe_is_remembered(
    fresh: set, status: int, slug: str | None, extra: dict | None, expected: tuple
) -> None:
    problem_body(status, "detail", "/x", slug=slug, extra=extra)
    assert problem_types.undocumented() == {expected}


def test_a_slug_cannot_mean_two_things() -> None:
    with pytest.raises(ValueError, match="two meanings"):
        register(ProblemType("not-found", 410, "Gone", "Another meaning."))


class _Probe(BaseModel):
    probe_id: str


def test_the_openapi_documents_types_members_and_statuses() -> None:
    probe = ProblemType("probe-clash", 409, "Probe clash", "A probe.", _Probe)
    schema = {
        "components": {"schemas": {"Problem": {"type": "object"}}},
        "paths": {
            "/p": {
                "post": {
                    "responses": {
                        "409": {
                            "description": "Conflict",
                            "content": {"application/problem+json": {"schema": {}}},
                        },
                        "404": {
                            "description": "Not found",
                            "content": {"application/problem+json": {"schema": {}}},
                        },
                    }
                }
            }
        },
    }
    document(schema, [*KIT_TYPES, probe])
    listed = {entry["type"]: entry for entry in schema["x-problem-types"]}
    assert listed["https://iro.example/problems/probe-clash"]["schema"] == {
        "$ref": "#/components/schemas/_Probe"
    }
    assert "probe_id" in schema["components"]["schemas"]["_Probe"]["allOf"][1]["properties"]
    responses = schema["paths"]["/p"]["post"]["responses"]
    assert {"$ref": "#/components/schemas/_Probe"} in responses["409"]["content"][
        "application/problem+json"
    ]["schema"]["anyOf"]
    assert "`probe-clash`" in responses["409"]["description"]
    assert "`conflict`" in responses["409"]["description"]
    assert responses["404"]["description"].endswith("Problem types of this status: `not-found`.")


def test_a_test_run_that_builds_an_uncatalogued_problem_fails(tmp_path: Path) -> None:
    test_file = tmp_path / "test_probe.py"
    test_file.write_text(
        textwrap.dedent(
            """
            from iro_kit.errors import problem_body

            def test_builds_one():
                problem_body(418, "teapot", "/x", slug="teapot")
            """
        )
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "iro_kit.testing", str(test_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout
    assert "418 teapot" in run.stdout
    assert "1 passed" in run.stdout
