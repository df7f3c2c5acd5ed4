"""One text rule (issue 11): a control character in a path or query parameter of the
scorecard is a 422 naming the parameter, as in the other services."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from iro_kit.testing import assert_problem

from .conftest import ADMIN, PERFORMANCE, V1


@pytest.mark.parametrize(
    "path",
    [
        f"{V1}/kpis/participation%00/children",
        f"{V1}/kpis/%1Bparticipation/trend",
        f"{V1}/targets/participation%7F/history",
    ],
)
def test_a_control_character_in_a_kpi_code_is_a_422_naming_it(
    scorecard: TestClient, path: str
) -> None:
    response = scorecard.get(path, headers=PERFORMANCE)
    body = assert_problem(response, 422, "validation-error", "/code")
    assert body["errors"][0]["location"] == "path"


def test_a_target_for_a_code_with_a_nul_is_a_422(scorecard: TestClient) -> None:
    response = scorecard.put(f"{V1}/targets/section_20%00", json={"target": 40}, headers=ADMIN)
    assert_problem(response, 422, "validation-error", "/code")


def test_a_nul_in_the_audit_filter_is_a_422(scorecard: TestClient) -> None:
    response = scorecard.get(f"{V1}/audit", params={"subject": "x\x00"}, headers=ADMIN)
    assert_problem(response, 422, "validation-error", "/subject")
