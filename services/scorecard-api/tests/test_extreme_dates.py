"""Extreme dates (issue 11): the scorecard's days are ISO days in the supported range
(1900-01-01 to 2099-12-31), refused with a 422 naming the parameter otherwise."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from iro_kit.testing import assert_problem

from .conftest import PERFORMANCE

V1 = "/scorecard/v1"
BAD_DAYS = ["0", "1700000000", "0001-01-01", "1899-12-31", "2100-01-01", "9999-12-31"]
TREND = f"{V1}/kpis/care_plan_up_to_date/trend"


@pytest.mark.parametrize("day", BAD_DAYS)
@pytest.mark.parametrize(
    ("path", "name", "others"),
    [
        (f"{V1}/scorecard", "as_at", {}),  # a list: the first value is /as_at/0
        (f"{V1}/scorecard", "from", {"as_at": "2017-03-31"}),
        (f"{V1}/tables/caseload", "as_at", {}),
        (TREND, "from", {"to": "2017-03-31"}),
        (TREND, "to", {"from": "2016-04-01"}),
    ],
)
def test_days_outside_the_range_or_not_iso_are_422(
    scorecard: TestClient, path: str, name: str, others: dict[str, str], day: str
) -> None:
    response = scorecard.get(path, params={**others, name: day}, headers=PERFORMANCE)
    body = assert_problem(response, 422, "validation-error")
    pointers = [error["pointer"] for error in body["errors"]]
    assert pointers in ([f"/{name}"], [f"/{name}/0"]), pointers


@pytest.mark.parametrize("as_at", ["1900-01-01", "2099-12-31"])
def test_the_edges_of_the_range_are_answered(scorecard: TestClient, as_at: str) -> None:
    response = scorecard.get(f"{V1}/scorecard", params={"as_at": as_at}, headers=PERFORMANCE)
    assert response.status_code == 200, response.text
