"""Extreme dates (issue 11): every date a client sends is an ISO day in the supported range
(1900-01-01 to 2099-12-31), refused with a 422 naming the field otherwise, and the tracker and
worklist answer quickly at the edges of the range."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from .conftest import DATE_FIELDS, MANAGER, TRANSITION_BODIES, V1, Disputes, raise_body
from .problems import assert_problem

BAD_DAYS = ["0", "0001-01-01", "1899-12-31", "2100-01-01", "9999-12-31", "2017-04-03T00:00:00"]


@pytest.mark.parametrize("path", ["/tracker", "/worklists/stages-due"])
@pytest.mark.parametrize("as_at", BAD_DAYS)
def test_an_as_at_outside_the_range_or_not_iso_is_422(
    api: TestClient, path: str, as_at: str
) -> None:
    response = api.get(f"{V1}{path}", params={"as_at": as_at}, headers=MANAGER)
    body = assert_problem(response, 422, "validation-error", "/as_at")
    message = body["errors"][0]["message"]
    assert "1900-01-01 to 2099-12-31" in message or "YYYY-MM-DD" in message, message


@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("day", BAD_DAYS)
def test_statistics_periods_are_range_checked(api: TestClient, name: str, day: str) -> None:
    response = api.get(f"{V1}/stats", params={name: day}, headers=MANAGER)
    assert_problem(response, 422, "validation-error", f"/{name}")


@pytest.mark.parametrize("day", BAD_DAYS)
def test_a_dispute_raised_on_an_extreme_day_is_refused(api: TestClient, day: str) -> None:
    response = api.post(f"{V1}/disputes", json=raise_body(raised_on=day), headers=MANAGER)
    assert_problem(response, 422, "validation-error", "/raised_on")


@pytest.mark.parametrize("verb", sorted(TRANSITION_BODIES))
def test_a_transition_on_an_extreme_day_is_refused(disputes: Disputes, verb: str) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    response = disputes.post(dispute["id"], verb, None, **{DATE_FIELDS[verb]: "9999-12-31"})
    assert_problem(response, 422, "validation-error", f"/{DATE_FIELDS[verb]}")


def test_the_tracker_and_worklist_at_the_edges_of_the_range_are_quick(
    api: TestClient, disputes: Disputes
) -> None:
    for n in range(30):
        disputes.raise_(raised_on="1900-01-01" if n % 2 else "2017-04-03")
    for path in ("/tracker", "/worklists/stages-due"):
        for as_at in ("1900-01-01", "2099-12-31"):
            started = time.perf_counter()
            response = api.get(f"{V1}{path}", params={"as_at": as_at}, headers=MANAGER)
            assert response.status_code == 200, response.text
            assert time.perf_counter() - started < 2
    rows = api.get(f"{V1}/tracker", params={"as_at": "2099-12-31"}, headers=MANAGER).json()
    assert rows["items"], rows
