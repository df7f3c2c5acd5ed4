"""The OpenAPI examples tell what reviews-api really does (reviews_api.examples, issue 12).

Sam Taylor's story is played through the routes with the request examples of the schemas, and
each response (or worklist item) must be its response example, but for the ids, which the
database assigns and are mapped to the documented ones, and the record times. The caseload
examples are an authority's, checked through the service's own caseload arithmetic.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from iro_kit.testing import bearer
from reviews_api import examples as ex
from reviews_api.children.schemas import ChildCreate, EpisodeCreate
from reviews_api.iros import service as iros
from reviews_api.iros.schemas import AllocationCreate, CaseloadSummary, IroCreate, Reallocation
from reviews_api.reviews.schemas import ReviewCreate, ReviewUpdate, VisitCreate
from reviews_api.secure.schemas import SecurePlacementCreate, SecureReviewCreate

V1 = "/reviews/v1"
ALEX = bearer("iro", subject=ex.ALEX_SUB)
MANAGER = bearer("iro_manager", subject=ex.MANAGER_SUB)
LCS = bearer("integration", subject=ex.INTEGRATION_SUB)
SUPPORT = bearer("business_support", subject="support-1")
TIMES = ("created_at", "updated_at")


def _example(model: type[BaseModel]) -> dict[str, Any]:
    return dict(model.model_config["json_schema_extra"]["example"])  # type: ignore[index]


class Story:
    """Calls the routes and maps the ids the database gave to the documented ones."""

    def __init__(self, api: TestClient) -> None:
        self.api = api
        self.documented: dict[str, str] = {}  # real id -> example id

    def name(self, real: str, documented: str) -> None:
        self.documented[real] = documented

    def real(self, documented: str) -> str:
        return next(r for r, d in self.documented.items() if d == documented)

    def call(self, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        for real, documented in self.documented.items():
            path = path.replace(documented, real)
        response = self.api.request(method, V1 + path, headers=headers, **kwargs)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def as_documented(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.as_documented(v) for k, v in value.items() if k not in TIMES}
        if isinstance(value, list):
            return [self.as_documented(v) for v in value]
        if isinstance(value, str):
            return self.documented.get(value, value)
        return value

    def check(self, body: Any, example: dict[str, Any]) -> None:
        assert self.as_documented(body) == {k: v for k, v in example.items() if k not in TIMES}


def _only(page: dict[str, Any]) -> dict[str, Any]:
    assert page["next_cursor"] is None and len(page["items"]) == 1, page
    return page["items"][0]


@pytest.fixture
def story(api: TestClient) -> Story:
    return Story(api)


def test_sams_story_is_what_the_routes_return(story: Story) -> None:
    alex = story.call("POST", "/iros", MANAGER, json=_example(IroCreate))
    story.name(alex["id"], ex.IRO_ID)
    story.check(alex, ex.IRO)
    priya = story.call(
        "POST",
        "/iros",
        MANAGER,
        json={
            "name": "Priya Shah",
            "email": "priya.shah@la.example",
            "fte": 1.0,
            "start_on": "2015-01-05",
        },
    )
    story.name(priya["id"], ex.NEW_IRO_ID)

    sam = story.call("POST", "/children", LCS, json=_example(ChildCreate))
    story.name(sam["id"], ex.CHILD_ID)
    story.check(sam, ex.CHILD)
    episode = story.call(
        "POST", f"/children/{ex.CHILD_ID}/episodes", LCS, json=_example(EpisodeCreate)
    )
    story.name(episode["id"], ex.EPISODE_ID)
    story.check(episode, ex.EPISODE)
    story.check(story.call("GET", f"/episodes/{ex.EPISODE_ID}", ALEX), ex.EPISODE)
    periods = story.call("GET", f"/children/{ex.CHILD_ID}/periods-of-care", ALEX)
    assert len(periods) == 1
    story.check(periods[0], ex.PERIOD_OF_CARE)

    unallocated = story.call(
        "GET", "/worklists/unallocated-children", ALEX, params={"as_at": "2017-04-04"}
    )
    story.check(_only(unallocated), ex.UNALLOCATED_CHILD)
    allocation_body = {**_example(AllocationCreate), "iro_id": alex["id"]}
    allocation = story.call(
        "POST", f"/children/{ex.CHILD_ID}/allocations", MANAGER, json=allocation_body
    )
    story.name(allocation["id"], ex.ALLOCATION_ID)
    story.check(allocation, ex.ALLOCATION)

    visits_due = story.call(
        "GET", "/worklists/pre-review-visits", ALEX, params={"as_at": "2017-04-20"}
    )
    story.check(_only(visits_due), ex.VISIT_DUE)
    visit_body = {**_example(VisitCreate), "iro_id": alex["id"]}
    visit = story.call("POST", f"/children/{ex.CHILD_ID}/visits", ALEX, json=visit_body)
    story.name(visit["id"], ex.VISIT_ID)
    story.check(visit, ex.VISIT)
    due = story.call("GET", "/worklists/reviews-due", ALEX, params={"as_at": "2017-04-24"})
    story.check(_only(due), ex.REVIEW_DUE)

    review = story.call(
        "POST", f"/children/{ex.CHILD_ID}/reviews", ALEX, json=_example(ReviewCreate)
    )
    story.name(review["id"], ex.REVIEW_ID)
    story.check(review, ex.REVIEW)
    story.check(story.call("GET", f"/reviews/{ex.REVIEW_ID}", ALEX), ex.REVIEW)
    midway = story.call("GET", "/worklists/midway-reviews", ALEX, params={"as_at": "2017-06-01"})
    story.check(_only(midway), ex.MIDWAY_DUE)
    schedule = story.call(
        "GET", f"/children/{ex.CHILD_ID}/schedule", ALEX, params={"as_at": "2017-07-10"}
    )
    story.check(schedule, ex.SCHEDULE)

    placement = story.call(
        "POST",
        f"/children/{ex.CHILD_ID}/secure-placements",
        SUPPORT,
        json=_example(SecurePlacementCreate),
    )
    story.name(placement["id"], ex.PLACEMENT_ID)
    secure_review = story.call(
        "POST",
        f"/secure-placements/{ex.PLACEMENT_ID}/reviews",
        ALEX,
        json=_example(SecureReviewCreate),
    )
    story.name(secure_review["id"], ex.SECURE_REVIEW_ID)
    story.check(secure_review, ex.SECURE_REVIEW)
    placements = story.call(
        "GET",
        f"/children/{ex.CHILD_ID}/secure-placements",
        ALEX,
        params={"as_at": "2017-06-28"},
    )
    assert len(placements) == 1
    story.check(placements[0], ex.SECURE_PLACEMENT)

    late = story.call(
        "POST",
        f"/children/{ex.CHILD_ID}/reviews",
        ALEX,
        json={"held_on": "2017-08-04", "participation_code": "PN1", "views_method": "advocate"},
    )
    story.name(late["id"], ex.SECOND_REVIEW_ID)
    listed = story.call(
        "GET", "/worklists/late-reviews-without-reason", ALEX, params={"as_at": "2017-08-07"}
    )
    story.check(_only(listed), ex.LATE_REVIEW_WITHOUT_REASON)
    reasoned = story.call(
        "PATCH",
        f"/reviews/{ex.SECOND_REVIEW_ID}",
        {**ALEX, "If-Match": f'"{late["version"]}"'},
        json=_example(ReviewUpdate),
    )
    assert (reasoned["late_reason"], reasoned["version"]) == ("missing_report", 2)

    letters = story.call(
        "POST", f"/iros/{ex.IRO_ID}/reallocate", MANAGER, json=_example(Reallocation)
    )
    assert len(letters) == 1
    story.check(letters[0], ex.REALLOCATION_LETTER)


def _iro(caseload: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(
        id=uuid.UUID(caseload["iro_id"]), name=caseload["name"], fte=Decimal(str(caseload["fte"]))
    )


@pytest.mark.parametrize("caseload", [ex.CASELOAD, ex.SUGGESTED_CASELOAD])
def test_a_caseload_example_is_the_services_arithmetic(caseload: dict[str, Any]) -> None:
    made = iros._caseload(_iro(caseload), caseload["children"], caseload["short_break_children"])  # type: ignore[arg-type]
    assert made.model_dump(mode="json") == caseload


def test_the_caseload_summary_adds_up_and_suggests_the_iro_with_most_room() -> None:
    summary = CaseloadSummary.model_validate(ex.CASELOAD_SUMMARY)
    assert summary.total_fte == pytest.approx(sum(i.fte for i in summary.iros))
    assert summary.average_caseload == summary.looked_after_children / summary.total_fte
    allocated = sum(i.children for i in summary.iros)
    assert summary.looked_after_children == allocated + summary.unallocated_children
    suggested = iros.most_room(summary)
    assert suggested is not None
    assert suggested.model_dump(mode="json") == ex.SUGGESTED_CASELOAD
