"""The kit's one text rule (iro_kit.text): what a body field, a query or a path parameter may
hold, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from iro_kit.errors import install_problem_handlers
from iro_kit.text import Line, RequestModel, refuse_control_characters, without_control_characters

REFUSED_EVERYWHERE = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\x7f", "\x80", "\x9f"]
LINE_BREAKS = ["\t", "\n", "\r"]


class Person(BaseModel):  # shared with responses: no validator of its own
    name: str


class Note(RequestModel):
    title: Line
    body: str
    tags: list[str] = []
    about: Person | None = None


def _errors(**fields: object) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        Note.model_validate({"title": "t", "body": "b", **fields})
    return [(error["loc"], error["type"]) for error in caught.value.errors()]


@pytest.mark.parametrize("character", [*REFUSED_EVERYWHERE, "\ud800"])
def test_control_characters_are_refused_in_free_text_and_single_lines(character: str) -> None:
    assert _errors(body=f"a{character}b") == [(("body",), "control_character")]
    assert _errors(title=f"a{character}b") == [(("title",), "control_character")]


@pytest.mark.parametrize("character", LINE_BREAKS)
def test_free_text_keeps_tabs_and_line_breaks_a_line_does_not(character: str) -> None:
    assert Note(title="t", body=f"one{character}two").body == f"one{character}two"
    assert _errors(title=f"one{character}two") == [(("title",), "control_character")]


def test_strings_inside_lists_and_shared_models_are_named_by_their_place() -> None:
    assert _errors(tags=["ok", "b\x00d"]) == [(("tags", 1), "control_character")]
    assert _errors(about={"name": "Sam\x00"}) == [(("about", "name"), "control_character")]


def test_ordinary_text_passes_untouched() -> None:
    text = "Zoë O'Brien \u2013 née Ångström, 日本語 ✓ \u2028 \ufeff"
    assert Note(title=text, body=text).title == text


def test_without_control_characters_keeps_tabs_and_line_breaks() -> None:
    assert without_control_characters("a\x00b\x1b\x7f\x85\t\r\nc\ud800") == "ab\t\r\nc"


@pytest.fixture
def client() -> TestClient:
    app = FastAPI(dependencies=[Depends(refuse_control_characters)])
    install_problem_handlers(app)

    @app.get("/things/{code}")
    def thing(code: str, name: Annotated[str | None, Query()] = None) -> dict[str, str | None]:
        return {"code": code, "name": name}

    return TestClient(app)


@pytest.mark.parametrize("character", [*REFUSED_EVERYWHERE, *LINE_BREAKS])
def test_a_control_character_in_a_query_parameter_is_a_422_naming_it(
    client: TestClient, character: str
) -> None:
    response = client.get("/things/a", params={"name": f"Sam{character}"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert (error["pointer"], error["location"]) == ("/name", "query")
    assert "control character" in error["message"] or "line" in error["message"]


def test_a_percent_encoded_nul_in_a_path_parameter_is_a_422_naming_it(client: TestClient) -> None:
    response = client.get("/things/a%00b")
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["pointer"], error["location"]) == ("/code", "path")


def test_a_parameter_the_route_does_not_know_is_held_to_the_rule_too(client: TestClient) -> None:
    response = client.get("/things/a?other=%01")
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/other"


def test_clean_parameters_pass(client: TestClient) -> None:
    response = client.get("/things/a%20b", params={"name": "Zoë O'Brien"})
    assert response.json() == {"code": "a b", "name": "Zoë O'Brien"}
