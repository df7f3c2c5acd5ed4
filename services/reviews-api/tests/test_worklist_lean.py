"""The worklists' bodies, byte for byte: what the lean read path (Core statements, the page
built and serialised once) answers is exactly what the ORM-and-model path answered.

A small authority is made through the API: looked after children in an order unlike their
urgency, allocations to two IROs (one ended), held reviews (one late), a booked review,
pre-review and midway visits, a series of short breaks, a child who left care and a child
with no name. Each worklist is asked for on several days, with and without `iro_id`,
`within`, a page at a time and with `count`. Every id in a body is replaced by a label
(ids are random), and the text is compared whole, so the field order and every value are
held. The expected texts were recorded from the service before its worklists were made lean.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reviews_api.worklists import service

from .conftest import IRO, MANAGER, Builder

WORKLISTS = "/reviews/v1/worklists"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _post(api: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = api.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _authority(api: TestClient, make: Builder) -> dict[str, Any]:
    """The records, and a label for each id a worklist may name."""
    labels: dict[str, str] = {}

    def child(label: str, start_on: str | None, **fields: Any) -> str:
        made = make.child(**fields)
        labels[made["id"]] = label
        if start_on is not None:
            make.episode(made["id"], start_on)
        return made["id"]

    def iro(name: str) -> str:
        made = make.iro(name)
        labels[made["id"]] = name
        return made["id"]

    alex, blake = iro("Alex"), iro("Blake")
    april_10 = child("april_10", "2017-04-10")
    april_3 = child("april_3", "2017-04-03")
    child("march_8", "2017-03-08")
    march_1 = child("march_1", "2017-03-01")
    nameless = child("nameless", "2017-02-06", given_name="Zoë", family_name='O\'Brien "Jo"')
    reviewed = child("reviewed", "2016-11-01")
    late = child("late", "2016-10-03")
    left = child("left", None)
    make.episode(left, "2017-01-09", end_on="2017-03-10", reason_ended="E11")
    child("april_3 twin", "2017-04-03")  # due with april_3: then by external_id, as text
    breaks = child("breaks", None)
    for start, end in (("2017-01-06", "2017-01-08"), ("2017-02-03", "2017-02-05")):
        make.episode(breaks, start, end_on=end, legal_status="V3", reason_ended="E8")

    def allocate(child_id: str, iro_id: str, start_on: str, **fields: Any) -> None:
        path = f"/reviews/v1/children/{child_id}/allocations"
        _post(api, path, {"iro_id": iro_id, "start_on": start_on, **fields}, MANAGER)

    allocate(april_3, alex, "2017-04-05")
    allocate(april_10, blake, "2017-04-12")
    allocate(reviewed, alex, "2016-11-02")
    allocate(late, blake, "2016-10-04")
    allocate(late, alex, "2017-04-01")
    allocate(nameless, blake, "2017-02-07")
    for child_id, held_on in (
        (reviewed, "2016-11-24"),  # on time
        (reviewed, "2017-02-20"),
        (late, "2016-11-28"),  # due by 31 October: late
    ):
        labels[make.review(child_id, held_on)["id"]] = f"review {labels[child_id]} {held_on}"
    booked = _post(
        api, f"/reviews/v1/children/{april_3}/reviews", {"scheduled_for": "2017-05-02"}, IRO
    )
    labels[booked["id"]] = "booked april_3"
    for child_id, kind, on in (
        (reviewed, "midway", "2017-04-03"),
        (late, "pre_review", "2017-04-20"),
        (march_1, "pre_review", "2017-03-20"),
    ):
        _post(api, f"/reviews/v1/children/{child_id}/visits", {"kind": kind, "visited_on": on}, IRO)
    return {"alex": alex, "blake": blake, "labels": labels}


_ASKED = (
    [
        (name, as_at, extra)
        for name in (
            "reviews-due",
            "overdue-reviews",
            "pre-review-visits",
            "midway-reviews",
        )
        for as_at in ("2017-03-15", "2017-04-18", "2017-06-01")
        for extra in ({}, {"within": "130"}, {"iro_id": "alex"}, {"iro_id": "blake", "within": "5"})
    ]
    + [("unallocated-children", as_at, {}) for as_at in ("2017-03-15", "2017-04-11", "2017-06-01")]
    + [
        ("late-reviews-without-reason", "2017-04-18", {}),
        ("late-reviews-without-reason", "2017-04-18", {"iro_id": "blake"}),
        ("late-reviews-without-reason", "2017-04-18", {"iro_id": "alex"}),
        ("reviews-due", "2017-04-18", {"within": "130", "limit": "2", "count": "true"}),
        ("reviews-due", "2017-04-18", {"within": "130", "limit": "2", "cursor": "eyJvIjogMn0"}),
        ("pre-review-visits", "2017-04-18", {"limit": "1", "count": "false"}),
        ("unallocated-children", "2017-04-11", {"limit": "2", "count": "true"}),
    ]
)


def _bodies(api: TestClient, made: dict[str, Any]) -> list[tuple[str, str]]:
    labels: dict[str, str] = made["labels"]
    found = []
    for name, as_at, extra in _ASKED:
        params = {"as_at": as_at, **extra}
        if "iro_id" in params:
            params["iro_id"] = made[params["iro_id"]]
        response = api.get(f"{WORKLISTS}/{name}", params=params, headers=IRO)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        text = _UUID.sub(lambda m: f"<{labels[m.group(0)]}>", response.text)
        found.append((f"{name} {as_at} {sorted(extra.items())}", text))
    return found


@pytest.mark.parametrize("chunked", [False, True], ids=["as-deployed", "tiny-chunks"])
def test_the_worklists_bodies_are_unchanged(
    api: TestClient, make: Builder, monkeypatch: pytest.MonkeyPatch, chunked: bool
) -> None:
    if chunked:  # every path a large authority takes: partitions, chunks, worker threads
        monkeypatch.setattr(service, "_CHUNK", 2)
        monkeypatch.setattr(service, "_AUTHORITY_CHUNK", 3)
        monkeypatch.setattr(service, "_INLINE_CHILDREN", 1)
    made = _authority(api, make)
    found = _bodies(api, made)
    # The texts as FastAPI's own serialiser wrote them: compact, UTF-8, fields in order.
    expected = [
        (asked, json.dumps(body, ensure_ascii=False, separators=(",", ":")))
        for asked, body in EXPECTED
    ]
    assert [asked for asked, _ in found] == [asked for asked, _ in expected]
    for (asked, text), (_, wanted) in zip(found, expected, strict=True):
        assert text == wanted, asked


# [asked, body] pairs, recorded from the service before its worklists were made lean.
EXPECTED: list[list[Any]] = json.loads(
    (Path(__file__).parent / "data" / "worklist_bodies.json").read_text(encoding="utf-8")
)
