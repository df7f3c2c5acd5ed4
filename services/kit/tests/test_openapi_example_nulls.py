"""iro_kit.openapi_examples: the nulls FastAPI leaves out of examples are put back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, FastAPI
from pydantic import BaseModel, ConfigDict, Field

from iro_kit.openapi_examples import restore_nulls
from iro_kit.pagination import Page


class Episode(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"start_on": "2017-04-03", "end_on": None}}
    )
    start_on: str
    end_on: str | None
    placement: str | None = Field(default=None, examples=[None, "U1"])


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/episodes/{episode_id}")
    async def read(episode_id: int) -> Episode:
        raise NotImplementedError

    @app.get("/episodes")
    async def listed() -> Page[Episode]:
        raise NotImplementedError

    @app.get(
        "/freshness",
        responses={200: {"content": {"application/json": {"example": {"drp-api": None}}}}},
    )
    async def freshness() -> dict[str, str | None]:
        raise NotImplementedError

    @app.post("/events")
    async def events(
        body: Annotated[
            dict[str, Any],
            Body(openapi_examples={"one": {"value": {"id": "e-1", "requestid": None}}}),
        ],
    ) -> None:
        raise NotImplementedError

    return app


def test_fastapi_leaves_the_nulls_out() -> None:
    # The reason for the module: when FastAPI keeps them, this fails and it can go.
    document = _app().openapi()
    assert document["components"]["schemas"]["Episode"]["example"] == {"start_on": "2017-04-03"}


def test_every_null_is_put_back() -> None:
    app = _app()
    document = app.openapi()
    restore_nulls(document, app.routes)
    schemas = document["components"]["schemas"]
    assert schemas["Episode"]["example"] == {"start_on": "2017-04-03", "end_on": None}
    assert schemas["Episode"]["properties"]["placement"]["examples"] == [None, "U1"]
    assert schemas["Page_Episode_"]["example"]["items"] == [
        {"start_on": "2017-04-03", "end_on": None}
    ]
    assert schemas["Page_Episode_"]["example"]["total"] is None
    paths = document["paths"]
    freshness = paths["/freshness"]["get"]["responses"]["200"]["content"]["application/json"]
    assert freshness["example"] == {"drp-api": None}
    body = paths["/events"]["post"]["requestBody"]["content"]["application/json"]
    assert body["examples"]["one"]["value"] == {"id": "e-1", "requestid": None}


def test_an_example_declared_with_nulls_in_two_places_is_left_alone() -> None:
    app = FastAPI()

    @app.get("/a", responses={200: {"content": {"application/json": {"example": {"x": None}}}}})
    async def a() -> dict[str, Any]:
        raise NotImplementedError

    @app.get("/b", responses={200: {"content": {"application/json": {"example": {"y": None}}}}})
    async def b() -> dict[str, Any]:
        raise NotImplementedError

    document = app.openapi()
    restore_nulls(document, app.routes)
    for path in ("/a", "/b"):  # both are `{}` once FastAPI has written them: which is which?
        media = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert media["example"] == {}


def test_a_page_of_an_item_without_an_example_has_none() -> None:
    assert "example" not in Page[int].model_json_schema()


def test_an_example_that_is_another_without_its_nulls_is_left_alone() -> None:
    app = FastAPI()

    @app.get("/a", responses={200: {"content": {"application/json": {"example": {"x": 1}}}}})
    async def a() -> dict[str, Any]:
        raise NotImplementedError

    @app.get(
        "/b",
        responses={200: {"content": {"application/json": {"example": {"x": 1, "y": None}}}}},
    )
    async def b() -> dict[str, Any]:
        raise NotImplementedError

    document = app.openapi()
    restore_nulls(document, app.routes)
    media = document["paths"]["/a"]["get"]["responses"]["200"]["content"]["application/json"]
    assert media["example"] == {"x": 1}
