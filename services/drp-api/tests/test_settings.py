"""The process is configuration: stages, deadlines, themes and the reopen window from DRP_*."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from drp_api.app import SPEC, create_app
from drp_api.settings import DEFAULT_THEMES, Settings
from iro_kit.migrations import upgrade_to_head

from .conftest import ALEX, CHILD, MANAGER, V1, Disputes, announce, raise_body
from .problems import assert_problem


def test_the_defaults_are_domain_mds() -> None:
    settings = Settings()
    assert [s.working_days for s in settings.stages] == [5, 5, 5, 5, None]
    assert settings.stages[-1].name == "Referral to Cafcass"
    assert (settings.overall_working_days, settings.reopen_window_working_days) == (20, 20)
    assert list(settings.themes) == list(DEFAULT_THEMES)


def test_stages_and_themes_come_from_json_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "DRP_STAGES",
        '[{"name": "Team manager", "working_days": 3}, {"name": "Director", "working_days": 10},'
        ' {"name": "Cafcass"}]',
    )
    monkeypatch.setenv("DRP_THEMES", '{"contact": "Contact", "sibling_links": "Sibling links"}')
    monkeypatch.setenv("DRP_REOPEN_WINDOW_WORKING_DAYS", "10")
    settings = Settings()
    assert [(s.name, s.working_days) for s in settings.stages] == [
        ("Team manager", 3),
        ("Director", 10),
        ("Cafcass", None),
    ]
    assert settings.themes == {"contact": "Contact", "sibling_links": "Sibling links"}
    assert settings.reopen_window_working_days == 10


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DRP_STAGES", '[{"name": "Cafcass"}]', "at least one stage inside the authority"),
        ("DRP_THEMES", "{}", "at least one theme"),
        ("DRP_THEMES", '{"Sibling Links": "x"}', "lower-case snake_case"),
        ("DRP_STAGES", '[{"name": "A", "working_days": 0}, {"name": "B"}]', "greater than"),
    ],
)
def test_a_process_that_cannot_work_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        Settings()


@pytest.fixture
def three_stage_api(database_url: str) -> Iterator[TestClient]:
    upgrade_to_head(SPEC.script_location, database_url)
    settings = Settings(
        database_url=database_url,
        stages=[
            {"name": "Team manager", "working_days": 10},
            {"name": "Director", "working_days": 3},
            {"name": "Cafcass"},
        ],
        themes={"contact": "Contact", "sibling_links": "Sibling links"},
    )
    with TestClient(create_app(settings)) as client:
        announce(client, children=[CHILD], iros=[ALEX])
        yield client


def test_the_service_follows_its_configured_process(three_stage_api: TestClient) -> None:
    process = three_stage_api.get(f"{V1}/process", headers=MANAGER).json()
    assert [s["name"] for s in process["stages"]] == ["Team manager", "Director", "Cafcass"]
    assert list(process["themes"]) == ["contact", "sibling_links"]

    disputes = Disputes(three_stage_api)
    dispute = disputes.raise_(raised_on="2017-04-13", themes=["sibling_links"])
    assert (dispute["stage_name"], dispute["stage_due_by"]) == ("Team manager", "2017-05-02")
    escalated = disputes.act(dispute["id"], "escalate", "2017-04-18")
    assert (escalated["stage_name"], escalated["stage_due_by"]) == ("Director", "2017-04-21")
    assert_problem(
        disputes.post(dispute["id"], "escalate", "2017-04-19"), 409, "transition-not-allowed"
    )

    refused = three_stage_api.post(
        f"{V1}/disputes", json=raise_body(themes=["permanency"]), headers=MANAGER
    )
    assert_problem(refused, 422, "validation-error", "/themes/0")
