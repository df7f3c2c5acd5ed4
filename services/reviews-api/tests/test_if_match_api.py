"""Optimistic concurrency on every editable record (issue 12): ETag and If-Match.

Children, episodes, reviews, visits, allocations, secure placements and reviews, and IROs
return `ETag: "<version>"` when created, read or changed. Changing or deleting one needs
If-Match with that ETag: 428 without it, 412 when the record has changed since it was read,
both naming `current_version`; a refused request changes nothing. Two officers who save the
same version of a review at the same moment: one wins, the other gets the 412 (SQLite and
PostgreSQL, with the requests really in the service at once).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import (
    create_postgres_database,
    drop_postgres_database,
    postgres_admin_url,
    skip_unless_available,
)
from reviews_api.app import SPEC, create_app
from reviews_api.settings import Settings

from .conftest import INTEGRATION, IRO, MANAGER, Builder
from .problems import assert_problem

V1 = "/reviews/v1"
PANEL = [
    {"name": "IRO One", "independent": False, "role": "IRO"},
    {"name": "IRO Two", "independent": False, "role": "IRO"},
    {"name": "Consortium IRO", "independent": True, "role": "IRO"},
]


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


def _child(make: Builder) -> dict[str, Any]:
    return make.child()


def _episode(make: Builder) -> dict[str, Any]:
    return make.episode(make.child()["id"], "2017-04-03")


def _review(make: Builder) -> dict[str, Any]:
    return make.review(make.looked_after("2017-04-03")["id"], "2017-05-02")


def _visit(make: Builder) -> dict[str, Any]:
    child = make.looked_after("2017-04-03")
    return _created(
        make.client.post(
            f"{V1}/children/{child['id']}/visits",
            json={"kind": "pre_review", "visited_on": "2017-04-20"},
            headers=IRO,
        )
    )


def _allocation(make: Builder, start_on: str = "2017-04-05", child_id: str = "") -> dict[str, Any]:
    child_id = child_id or make.looked_after("2017-04-03")["id"]
    return _created(
        make.client.post(
            f"{V1}/children/{child_id}/allocations",
            json={"iro_id": make.iro()["id"], "start_on": start_on},
            headers=MANAGER,
        )
    )


def _placement(make: Builder) -> dict[str, Any]:
    child = make.child(date_of_birth="2003-02-01")
    return _created(
        make.client.post(
            f"{V1}/children/{child['id']}/secure-placements",
            json={"start_on": "2017-06-15"},
            headers=INTEGRATION,
        )
    )


def _iro(make: Builder) -> dict[str, Any]:
    return make.iro()


def _listed(api: TestClient, path: str, record: dict[str, Any]) -> dict[str, Any] | None:
    response = api.get(path, headers=IRO)
    assert response.status_code == 200, response.text
    return next((r for r in response.json() if r["id"] == record["id"]), None)


def _got(api: TestClient, path: str) -> dict[str, Any] | None:
    response = api.get(path, headers=IRO)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == f'"{response.json()["version"]}"'
    return response.json()


@dataclass(frozen=True)
class Kind:
    """One editable record type: how to make one, read it again, and change or delete it."""

    name: str
    make: Callable[[Builder], dict[str, Any]]
    read: Callable[[TestClient, dict[str, Any]], dict[str, Any] | None]
    path: str  # of the record, with {id}
    headers: dict[str, str]  # a role that may change it
    change: dict[str, Any] | None  # a PATCH body, if the record can be changed


KINDS = {
    kind.name: kind
    for kind in (
        Kind(
            "child",
            _child,
            lambda api, r: _got(api, f"{V1}/children/{r['id']}"),
            "/children/{id}",
            INTEGRATION,
            {"family_name": "Jones"},
        ),
        Kind(
            "episode",
            _episode,
            lambda api, r: _got(api, f"{V1}/episodes/{r['id']}"),
            "/episodes/{id}",
            INTEGRATION,
            {"placement": "U2"},
        ),
        Kind(
            "review",
            _review,
            lambda api, r: _got(api, f"{V1}/reviews/{r['id']}"),
            "/reviews/{id}",
            IRO,
            {"notes": "Seen at school."},
        ),
        Kind(
            "visit",
            _visit,
            lambda api, r: _listed(api, f"{V1}/children/{r['child_id']}/visits", r),
            "/visits/{id}",
            IRO,
            None,
        ),
        Kind(
            "allocation",
            _allocation,
            lambda api, r: _listed(api, f"{V1}/children/{r['child_id']}/allocations", r),
            "/allocations/{id}",
            MANAGER,
            None,
        ),
        Kind(
            "secure placement",
            _placement,
            lambda api, r: _listed(api, f"{V1}/children/{r['child_id']}/secure-placements", r),
            "/secure-placements/{id}",
            INTEGRATION,
            {"end_on": "2017-11-30"},
        ),
        Kind(
            "iro",
            _iro,
            lambda api, r: _got(api, f"{V1}/iros/{r['id']}"),
            "/iros/{id}",
            MANAGER,
            {"fte": 0.6},
        ),
    )
}
# Every route that changes or deletes one of these records.
WRITES = [
    ("PATCH", "child"),
    ("PATCH", "episode"),
    ("DELETE", "episode"),
    ("PATCH", "review"),
    ("DELETE", "review"),
    ("DELETE", "visit"),
    ("DELETE", "allocation"),
    ("PATCH", "secure placement"),
    ("PATCH", "iro"),
]
WRITE_IDS = [f"{method} {name}" for method, name in WRITES]


def _write(
    api: TestClient, method: str, kind: Kind, record: dict[str, Any], if_match: str | None
) -> httpx.Response:
    headers = dict(kind.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    path = V1 + kind.path.format(id=record["id"])
    if method == "PATCH":
        return api.patch(path, json=kind.change, headers=headers)
    return api.request("DELETE", path, json={"reason": "Entered by mistake"}, headers=headers)


def _etag(response: httpx.Response) -> str:
    return response.headers["ETag"]


@pytest.mark.parametrize("name", list(KINDS))
def test_a_created_record_carries_its_version_as_its_etag(make: Builder, name: str) -> None:
    record = KINDS[name].make(make)
    assert record["version"] == 1
    assert KINDS[name].read(make.client, record) == record


def _creations(make: Builder) -> dict[str, tuple[str, dict[str, Any], dict[str, str]]]:
    """Per record type, a POST that creates one: (path, body, headers)."""
    child = make.child()["id"]
    looked_after = make.looked_after("2017-04-03")["id"]
    iro = {"name": "Alex", "email": "alex@la.example", "fte": 1, "start_on": "2015-01-01"}
    episode = {"start_on": "2017-04-03", "reason_new_episode": "S", "legal_status": "C2"}
    placement = _placement(make)
    return {
        "child": ("/children", {**make_child_body(), "external_id": "LCS-ETAG"}, INTEGRATION),
        "episode": (f"/children/{child}/episodes", episode, INTEGRATION),
        "review": (
            f"/children/{looked_after}/reviews",
            {"held_on": "2017-05-02", "participation_code": "PN1"},
            IRO,
        ),
        "visit": (
            f"/children/{looked_after}/visits",
            {"kind": "midway", "visited_on": "2017-04-20"},
            IRO,
        ),
        "allocation": (
            f"/children/{looked_after}/allocations",
            {"iro_id": make.iro()["id"], "start_on": "2017-04-05"},
            MANAGER,
        ),
        "secure placement": (
            f"/children/{placement['child_id']}/secure-placements",
            {"start_on": "2017-12-01"},
            INTEGRATION,
        ),
        "secure review": (
            f"/secure-placements/{placement['id']}/reviews",
            {"held_on": "2017-06-28", "panel": PANEL},
            IRO,
        ),
        "iro": ("/iros", iro, MANAGER),
    }


def make_child_body() -> dict[str, Any]:
    return {
        "given_name": "Sam",
        "family_name": "Taylor",
        "date_of_birth": "2010-06-15",
        "sex": "female",
    }


@pytest.mark.parametrize(
    "name",
    [
        "child",
        "episode",
        "review",
        "visit",
        "allocation",
        "secure placement",
        "secure review",
        "iro",
    ],
)
def test_post_answers_201_with_the_etag_of_version_1(make: Builder, name: str) -> None:
    path, body, headers = _creations(make)[name]
    response = make.client.post(V1 + path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert (_etag(response), response.json()["version"]) == ('"1"', 1)


@pytest.mark.parametrize("name", ["child", "episode", "review", "iro"])
def test_get_answers_with_the_etag_of_the_version_read(make: Builder, name: str) -> None:
    kind = KINDS[name]
    record = kind.make(make)
    path = V1 + kind.path.format(id=record["id"])
    assert _etag(make.client.get(path, headers=IRO)) == '"1"'

    changed = _write(make.client, "PATCH", kind, record, '"1"')

    assert changed.status_code == 200, changed.text
    assert (_etag(changed), changed.json()["version"]) == ('"2"', 2)
    assert _etag(make.client.get(path, headers=IRO)) == '"2"'


@pytest.mark.parametrize("name", [n for n, k in KINDS.items() if k.change is not None])
def test_patch_answers_with_the_new_etag_and_the_version_moves_once_per_change(
    make: Builder, name: str
) -> None:
    kind = KINDS[name]
    record = kind.make(make)

    first = _write(make.client, "PATCH", kind, record, '"1"')
    second = _write(make.client, "PATCH", kind, record, _etag(first))

    assert (first.status_code, _etag(first), first.json()["version"]) == (200, '"2"', 2)
    assert (second.status_code, _etag(second), second.json()["version"]) == (200, '"3"', 3)
    assert kind.read(make.client, record)["version"] == 3  # type: ignore[index]


@pytest.mark.parametrize(("method", "name"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize("sent", [None, "*", " "], ids=["absent", "star", "blank"])
def test_a_change_without_if_match_is_428_naming_the_current_version(
    make: Builder, method: str, name: str, sent: str | None
) -> None:
    kind = KINDS[name]
    record = kind.make(make)

    response = _write(make.client, method, kind, record, sent)

    body = assert_problem(response, 428, "precondition-required")
    assert body["current_version"] == 1
    assert kind.read(make.client, record) == record  # nothing changed


@pytest.mark.parametrize(("method", "name"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize("sent", ['W/"1"', "1", '"one"', "{}"])
def test_an_if_match_that_is_none_of_our_etags_is_a_422_naming_it(
    make: Builder, method: str, name: str, sent: str
) -> None:
    kind = KINDS[name]
    record = kind.make(make)

    response = _write(make.client, method, kind, record, sent)

    body = assert_problem(response, 422, "validation-error")
    assert [(e["pointer"], e["location"]) for e in body["errors"]] == [("/If-Match", "header")]
    assert kind.read(make.client, record) == record


@pytest.mark.parametrize(("method", "name"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize("sent", ['"7"', '"6", "8"'])
def test_an_if_match_naming_another_version_is_412_naming_the_current_one(
    make: Builder, method: str, name: str, sent: str
) -> None:
    kind = KINDS[name]
    record = kind.make(make)

    response = _write(make.client, method, kind, record, sent)

    body = assert_problem(response, 412, "precondition-failed")
    assert body["current_version"] == 1
    assert "read it again" in body["detail"]
    assert kind.read(make.client, record) == record


@pytest.mark.parametrize(("method", "name"), WRITES, ids=WRITE_IDS)
def test_an_if_match_listing_the_current_version_among_others_is_accepted(
    make: Builder, method: str, name: str
) -> None:
    kind = KINDS[name]
    record = kind.make(make)

    response = _write(make.client, method, kind, record, '"5", "1"')

    assert response.status_code == (200 if method == "PATCH" else 204), response.text
    if method == "DELETE":
        assert kind.read(make.client, record) is None


def _stale(make: Builder, name: str) -> tuple[dict[str, Any], str]:
    """A record changed since it was read: (the record as first read, its ETag then)."""
    kind = KINDS[name]
    if name == "allocation":  # a later allocation ends it: its version moves on
        record = _allocation(make)
        _allocation(make, start_on="2017-06-01", child_id=record["child_id"])
        return record, '"1"'
    record = kind.make(make)
    changed = _write(make.client, "PATCH", kind, record, '"1"')
    assert changed.status_code == 200, changed.text
    return record, '"1"'


@pytest.mark.parametrize(
    ("method", "name"), [w for w in WRITES if w[1] != "visit"], ids=WRITE_IDS[:5] + WRITE_IDS[6:]
)
def test_a_change_from_a_stale_read_is_412_and_the_other_change_stands(
    make: Builder, method: str, name: str
) -> None:
    kind = KINDS[name]
    record, read_etag = _stale(make, name)
    now = kind.read(make.client, record)
    assert now is not None and now["version"] == 2

    response = _write(make.client, method, kind, record, read_etag)

    body = assert_problem(response, 412, "precondition-failed")
    assert body["current_version"] == 2
    assert kind.read(make.client, record) == now


def test_a_booking_recorded_as_held_by_post_moves_the_bookings_etag(make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    booking = _created(
        make.client.post(
            f"{V1}/children/{child['id']}/reviews",
            json={"scheduled_for": "2017-05-02"},
            headers=IRO,
        )
    )
    held = make.review(child["id"], "2017-05-02")
    assert (held["id"], held["version"]) == (booking["id"], 2)

    response = _write(make.client, "PATCH", KINDS["review"], booking, '"1"')

    assert assert_problem(response, 412, "precondition-failed")["current_version"] == 2


def test_every_patch_and_delete_documents_if_match_as_a_required_header(api: TestClient) -> None:
    spec = api.get("/reviews/openapi.json").json()
    writes = {
        (method.upper(), path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in ("patch", "delete")
    }
    expected = {
        (method, V1 + KINDS[name].path.replace("{id}", "{" + _id_name(name) + "}"))
        for method, name in WRITES
    }
    assert set(writes) == expected  # a new PATCH or DELETE is added here, with If-Match

    for (method, path), operation in writes.items():
        [header] = [p for p in operation["parameters"] if p["name"].lower() == "if-match"]
        assert (header["in"], header["required"]) == ("header", True), (method, path)
        pattern = re.compile(header["schema"]["pattern"])
        assert pattern.match('"3"') and pattern.match('"7", "1"'), (method, path)
        assert not any(pattern.match(tag) for tag in ("", "*", 'W/"3"', "3")), (method, path)
        assert {"412", "428"} <= set(operation["responses"]), (method, path)
        if method == "PATCH":
            assert "ETag" in operation["responses"]["200"]["headers"], path


def test_reads_and_creates_of_records_document_the_etag_header(api: TestClient) -> None:
    paths = api.get("/reviews/openapi.json").json()["paths"]
    for path in ("/children/{child_id}", "/episodes/{episode_id}", "/reviews/{review_id}",
                 "/iros/{iro_id}"):  # fmt: skip
        assert "ETag" in paths[V1 + path]["get"]["responses"]["200"]["headers"], path
    for path in (
        "/children",
        "/children/{child_id}/episodes",
        "/children/{child_id}/reviews",
        "/children/{child_id}/visits",
        "/children/{child_id}/allocations",
        "/children/{child_id}/secure-placements",
        "/secure-placements/{placement_id}/reviews",
        "/iros",
    ):
        assert "ETag" in paths[V1 + path]["post"]["responses"]["201"]["headers"], path


def _id_name(name: str) -> str:
    return {"secure placement": "placement_id"}.get(name, f"{name}_id")


# Concurrent PATCHes: the requests are in the service at the same moment.


@pytest.fixture(params=["sqlite", "postgresql"])
def racing_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A migrated database on SQLite, or on PostgreSQL (skipped when not configured)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
        upgrade_to_head(SPEC.script_location, url)
        yield url
        return
    admin_url = postgres_admin_url()
    if admin_url is None:
        skip_unless_available("postgres", "needs PostgreSQL: set IRO_TEST_POSTGRES_URL")
    assert admin_url is not None
    url = create_postgres_database(admin_url)
    try:
        upgrade_to_head(SPEC.script_location, url)
        yield url
    finally:
        drop_postgres_database(admin_url, url)


async def _race(url: str, name: str, attempts: int) -> tuple[Counter[int], list[Any], Any]:
    """`attempts` concurrent PATCHes of one record, all with If-Match of version 1."""
    app = create_app(Settings(database_url=url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://reviews") as client:
            record = await _make_async(client, name)
            path = f"{V1}/{'reviews' if name == 'review' else 'iros'}/{record['id']}"
            headers = {**(IRO if name == "review" else MANAGER), "If-Match": '"1"'}

            async def patch(n: int) -> httpx.Response:
                change = {"notes": f"Officer {n}"} if name == "review" else {"name": f"IRO {n}"}
                return await client.patch(path, json=change, headers=headers)

            responses = await asyncio.gather(*(patch(n) for n in range(attempts)))
            final = (await client.get(path, headers=IRO)).json()
    return Counter(r.status_code for r in responses), responses, final


async def _make_async(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    async def created(path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        response = await client.post(V1 + path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()

    if name == "iro":
        iro = {"name": "Alex", "email": "a@la.example", "fte": 1, "start_on": "2015-01-01"}
        return await created("/iros", iro, MANAGER)
    child = await created(
        "/children",
        {
            "external_id": "LCS-RACE",
            "given_name": "Sam",
            "family_name": "Race",
            "date_of_birth": "2010-06-15",
            "sex": "female",
        },
        INTEGRATION,
    )
    episode = {"start_on": "2017-04-03", "reason_new_episode": "S", "legal_status": "C2"}
    await created(f"/children/{child['id']}/episodes", episode, INTEGRATION)
    review = {"held_on": "2017-05-02", "participation_code": "PN1"}
    return await created(f"/children/{child['id']}/reviews", review, IRO)


def test_two_officers_saving_one_review_at_once_one_wins_the_other_gets_412(
    racing_url: str,
) -> None:
    statuses, responses, final = asyncio.run(_race(racing_url, "review", 2))

    assert statuses == {200: 1, 412: 1}
    [winner] = [r for r in responses if r.status_code == 200]
    [loser] = [r for r in responses if r.status_code == 412]
    assert loser.json()["current_version"] == 2
    assert (_etag(winner), final["version"], final["notes"]) == (
        '"2"',
        2,
        winner.json()["notes"],
    )


@pytest.mark.parametrize("name", ["review", "iro"])
def test_ten_concurrent_saves_of_one_version_exactly_one_wins(racing_url: str, name: str) -> None:
    statuses, responses, final = asyncio.run(_race(racing_url, name, 10))

    assert statuses == {200: 1, 412: 9}
    [winner] = [r.json() for r in responses if r.status_code == 200]
    assert {r.json()["current_version"] for r in responses if r.status_code == 412} == {2}
    assert final["version"] == 2
    field = "notes" if name == "review" else "name"
    assert final[field] == winner[field]
