"""A batch of case data pushed by a case system: children, episodes and plan dates.

Each item is validated on its own: an invalid item fails alone, with a problem naming its field
(`/items/3/date_of_birth`), and never makes the whole batch a 422.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from iro_kit.dates import BirthDate, Day
from iro_kit.errors import FieldProblem, Problem
from iro_kit.text import Line, RequestModel
from reviews_api import examples as ex
from reviews_api.children.schemas import ChildCreate
from reviews_api.codes import LegalStatus, ReasonNewEpisode, Sex
from reviews_api.plans.history import PlanKind

MAX_ITEMS = 1000


class ChildItem(RequestModel):
    """A child's current details in the case system (upserted by `external_id`)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["child"]
    external_id: Line = Field(min_length=1, max_length=100, description="The case system's id.")
    given_name: Line | None = Field(
        default=None, min_length=1, max_length=200, description="Omitted or null: kept as held."
    )
    family_name: Line | None = Field(default=None, min_length=1, max_length=200)
    date_of_birth: BirthDate
    sex: Sex


class EpisodeItem(RequestModel):
    """An episode of care as the case system holds it now (upserted by `external_id`)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["episode"]
    external_id: Line = Field(min_length=1, max_length=100, description="The case system's id.")
    child_external_id: Line = Field(min_length=1, max_length=100)
    start_on: Day = Field(description="SSDA903 DECOM.")
    end_on: Day | None = Field(default=None, description="SSDA903 DEC; null while it lasts.")
    reason_new_episode: ReasonNewEpisode = Field(description="SSDA903 RNE; S starts a new period.")
    legal_status: LegalStatus = Field(description="SSDA903 LS.")
    placement: Line | None = Field(default=None, max_length=3, description="SSDA903 PLACE.")
    reason_ended: Line | None = Field(default=None, max_length=3, description="SSDA903 REC.")


class PlanDateItem(RequestModel):
    """A dated plan event; the same child, kind and date again is `unchanged`."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["plan_date"]
    child_external_id: Line = Field(min_length=1, max_length=100)
    kind: PlanKind
    dated_on: Day


IntegrationItem = Annotated[ChildItem | EpisodeItem | PlanDateItem, Field(discriminator="type")]
_ITEM = TypeAdapter(IntegrationItem)
_TAGS = {"child", "episode", "plan_date"}


class InvalidItem:
    """An item that failed validation: its problems, pointers already inside the batch."""

    def __init__(self, raw: Any, errors: list[FieldProblem]) -> None:
        self.type = raw.get("type") if isinstance(raw, dict) else None
        self.key = raw.get("external_id") if isinstance(raw, dict) else None
        self.errors = errors


def _item_or_problems(index: int, raw: Any) -> ChildItem | EpisodeItem | PlanDateItem | InvalidItem:
    try:
        return _ITEM.validate_python(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            if loc and loc[0] in _TAGS:
                loc = loc[1:]
            if error["type"] in {"union_tag_not_found", "union_tag_invalid"}:
                loc = ["type"]
            pointer = "/".join([f"/items/{index}", *loc])
            problems.append(FieldProblem(pointer=pointer, location="body", message=error["msg"]))
        return InvalidItem(raw, problems)


_EXAMPLE = {
    "items": [
        {
            "type": "child",
            "external_id": "LCS-100234",
            "given_name": "Sam",
            "family_name": "Taylor",
            "date_of_birth": "2010-06-15",
            "sex": "female",
        },
        {
            "type": "episode",
            "external_id": "EP-5531",
            "child_external_id": "LCS-100234",
            "start_on": "2017-04-03",
            "reason_new_episode": "S",
            "legal_status": "C2",
            "placement": "U1",
        },
        {
            "type": "plan_date",
            "child_external_id": "LCS-100234",
            "kind": "care_plan_updated",
            "dated_on": "2017-04-20",
        },
    ]
}


def _items_checked_one_by_one(schema: dict[str, Any]) -> None:
    """Document `items` as the route accepts it: any value is taken into the batch, and one
    that is not a valid child, episode or plan date fails alone in the results (issue 11: one
    bad item never fails the batch), so the schema offers the three shapes and `{}` beside."""
    schema["items"] = {"anyOf": [schema["items"], {}]}
    schema.update(minItems=1, maxItems=MAX_ITEMS)


class IntegrationBatch(RequestModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": _EXAMPLE})
    items: list[IntegrationItem] = Field(
        description=f"1 to {MAX_ITEMS:,} items, each a child, an episode or a plan date "
        "(`type`). Each is validated on its own: an item that is none of them, or breaks its "
        "shape, is accepted into the batch and fails alone, its result `failed` with a 422 "
        "problem naming the field (`/items/3/dated_on`).",
        json_schema_extra=_items_checked_one_by_one,
    )

    @field_validator("items", mode="wrap")
    @classmethod
    def _each_item_on_its_own(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(value, list):
            return handler(value)
        if not 1 <= len(value) <= MAX_ITEMS:
            raise ValueError(f"a batch holds 1 to {MAX_ITEMS:,} items")
        return [_item_or_problems(index, raw) for index, raw in enumerate(value)]


class IntegrationChildCreate(ChildCreate):
    """A child created by a case system: names are optional (some sources carry none)."""

    given_name: Line | None = Field(default=None, min_length=1, max_length=200)  # type: ignore[assignment]
    family_name: Line | None = Field(default=None, min_length=1, max_length=200)  # type: ignore[assignment]


ItemOutcome = Literal["created", "updated", "unchanged", "failed"]


class ItemProblem(Problem):
    """A problem with one item. Members beyond RFC 9457's say more: `retryable: true` (send the
    item again later), `overlapping_episode_id`, `existing_id`."""

    model_config = ConfigDict(extra="allow")


class ItemResult(BaseModel):
    index: int = Field(description="The item's position in the batch, from 0.")
    type: str | None
    key: str | None = Field(description="The item's `external_id`, or child and kind and date.")
    outcome: ItemOutcome
    id: uuid.UUID | None = Field(description="Our id of the record (for a child or episode).")
    problem: ItemProblem | None = Field(description="Why the item failed (RFC 9457).")


class BatchResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "results": [
                    {
                        "index": 0,
                        "type": "child",
                        "key": "LCS-100234",
                        "outcome": "created",
                        "id": ex.CHILD_ID,
                        "problem": None,
                    },
                    {
                        "index": 1,
                        "type": "episode",
                        "key": "EP-5531",
                        "outcome": "failed",
                        "id": None,
                        "problem": {
                            "type": "https://iro.example/problems/validation-error",
                            "title": "Request is invalid",
                            "status": 422,
                            "detail": "start_on: is before the child's date of birth",
                            "instance": "/reviews/v1/integration/batches",
                            "errors": [
                                {
                                    "pointer": "/items/1/start_on",
                                    "location": "body",
                                    "message": "is before the child's date of birth",
                                }
                            ],
                        },
                    },
                ],
                "counts": {"created": 1, "updated": 0, "unchanged": 0, "failed": 1},
            }
        }
    )
    results: list[ItemResult] = Field(description="One per item, in the batch's order.")
    counts: dict[ItemOutcome, int]
