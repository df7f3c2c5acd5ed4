"""Episodes of care, periods of care and the schedule through the API.

Dates were counted by hand against England's bank holidays: in 2017, Good Friday 14 April,
Easter Monday 17 April, 1 May and 29 May.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from iro_kit.migrations import upgrade_to_head
from reviews_api.app import SPEC, create_app
from reviews_api.settings import Settings

from .conftest import INTEGRATION, IRO, Builder, if_match
from .problems import assert_problem

V1 = "/reviews/v1"


def _add(api: TestClient, child_id: str, **fields: Any) -> Any:
    body = {"reason_new_episode": "S", "legal_status": "C2", **fields}
    return api.post(f"{V1}/children/{child_id}/episodes", json=body, headers=INTEGRATION)


def _delete(api: TestClient, path: str, body: dict[str, Any], record: dict[str, Any]) -> Any:
    return api.request("DELETE", path, json=body, headers=if_match(record, INTEGRATION))


def test_adding_an_episode_returns_201_and_its_location(api: TestClient, make: Builder) -> None:
    child = make.child()

    response = _add(api, child["id"], start_on="2017-04-03", placement="U1", external_id="EP-1")

    assert response.status_code == 201, response.text
    episode = response.json()
    assert response.headers["Location"] == f"{V1}/episodes/{episode['id']}"
    assert (episode["child_id"], episode["start_on"], episode["end_on"]) == (
        child["id"],
        "2017-04-03",
        None,
    )
    assert api.get(response.headers["Location"], headers=IRO).json() == episode
    assert api.get(f"{V1}/children/{child['id']}/episodes", headers=IRO).json() == [episode]


def test_an_episode_overlapping_another_is_409_naming_it(api: TestClient, make: Builder) -> None:
    child = make.child()
    first = make.episode(child["id"], "2016-01-04", end_on="2016-06-01")

    inside = _add(api, child["id"], start_on="2016-03-01", end_on="2016-04-01")
    across_the_start = _add(api, child["id"], start_on="2015-12-01", end_on="2016-01-05")
    open_ended = _add(api, child["id"], start_on="2015-12-01")

    for response in (inside, across_the_start, open_ended):
        body = assert_problem(response, 409, "episodes-overlap")
        assert body["overlapping_episode_id"] == first["id"]
    assert len(api.get(f"{V1}/children/{child['id']}/episodes", headers=IRO).json()) == 1


def test_an_episode_with_an_external_id_already_used_is_409(api: TestClient, make: Builder) -> None:
    make.episode(make.child()["id"], "2017-04-03", external_id="EP-1")
    other = make.child()

    response = _add(api, other["id"], start_on="2017-04-03", external_id="EP-1")

    assert_problem(response, 409, "conflict")
    assert api.get(f"{V1}/children/{other['id']}/episodes", headers=IRO).json() == []


def test_an_episode_starting_the_day_the_previous_one_ended_does_not_overlap(
    api: TestClient, make: Builder
) -> None:
    child = make.child()
    make.episode(child["id"], "2016-01-04", end_on="2016-06-01", reason_ended="X1")

    response = _add(api, child["id"], start_on="2016-06-01", reason_new_episode="P")

    assert response.status_code == 201, response.text


def test_an_episode_ending_before_it_starts_is_422(api: TestClient, make: Builder) -> None:
    child = make.child()
    response = _add(api, child["id"], start_on="2017-04-03", end_on="2017-04-02")
    assert_problem(response, 422, "validation-error", "/end_on")


def test_an_episode_starting_before_the_child_was_born_is_422(
    api: TestClient, make: Builder
) -> None:
    child = make.child(date_of_birth="2016-05-10")
    response = _add(api, child["id"], start_on="2016-05-09")
    assert_problem(response, 422, "validation-error", "/start_on")
    assert api.get(f"{V1}/children/{child['id']}/episodes", headers=IRO).json() == []


def test_an_episode_with_an_unknown_legal_status_is_422(api: TestClient, make: Builder) -> None:
    child = make.child()
    response = _add(api, child["id"], start_on="2017-04-03", legal_status="Z9")
    assert_problem(response, 422, "validation-error", "/legal_status")


def test_ending_an_episode_ends_the_schedule_from_that_day(api: TestClient, make: Builder) -> None:
    child = make.child()
    episode = make.episode(child["id"], "2017-04-03")

    response = api.patch(
        f"{V1}/episodes/{episode['id']}",
        json={"end_on": "2017-04-28", "reason_ended": "E11"},
        headers=if_match(episode, INTEGRATION),
    )

    assert response.status_code == 200, response.text
    assert (response.json()["end_on"], response.json()["reason_ended"]) == ("2017-04-28", "E11")
    assert make.schedule(child["id"], "2017-04-27")["status"] == "due_soon"
    ended = make.schedule(child["id"], "2017-04-28")
    assert (ended["status"], ended["next_review"], ended["looked_after"]) == ("ended", None, False)
    assert ended["period_of_care"]["end_on"] == "2017-04-28"


def test_correcting_an_episode_to_end_before_it_starts_is_422_and_changes_nothing(
    api: TestClient, make: Builder
) -> None:
    child = make.child()
    episode = make.episode(child["id"], "2017-04-03")

    response = api.patch(
        f"{V1}/episodes/{episode['id']}",
        json={"end_on": "2017-03-31"},
        headers=if_match(episode, INTEGRATION),
    )
    cleared = api.patch(
        f"{V1}/episodes/{episode['id']}",
        json={"start_on": None},
        headers=if_match(episode, INTEGRATION),
    )

    assert_problem(response, 422, "validation-error", "/end_on")
    assert_problem(cleared, 422, "validation-error", "/start_on")
    assert api.get(f"{V1}/episodes/{episode['id']}", headers=IRO).json()["end_on"] is None


def test_correcting_an_episode_into_another_is_409(api: TestClient, make: Builder) -> None:
    child = make.child()
    make.episode(child["id"], "2016-01-04", end_on="2016-06-01")
    later = make.episode(child["id"], "2017-04-03")

    response = api.patch(
        f"{V1}/episodes/{later['id']}",
        json={"start_on": "2016-05-01"},
        headers=if_match(later, INTEGRATION),
    )

    assert_problem(response, 409, "episodes-overlap")


def test_a_deleted_episode_is_gone_from_every_read_but_its_reason_is_required(
    api: TestClient, make: Builder
) -> None:
    child = make.child()
    episode = make.episode(child["id"], "2017-04-03")
    path = f"{V1}/episodes/{episode['id']}"

    assert_problem(_delete(api, path, {}, episode), 422, "validation-error", "/reason")
    response = _delete(api, path, {"reason": "Entered against the wrong child"}, episode)

    assert response.status_code == 204, response.text
    assert api.get(f"{V1}/children/{child['id']}/episodes", headers=IRO).json() == []
    assert api.get(f"{V1}/children/{child['id']}/periods-of-care", headers=IRO).json() == []
    assert_problem(api.get(path, headers=IRO), 404, "not-found")
    assert_problem(_delete(api, path, {"reason": "again"}, episode), 404, "not-found")
    schedule = make.schedule(child["id"], "2017-04-10")
    assert (schedule["status"], schedule["period_of_care"]) == ("ended", None)


def test_deleting_and_re_adding_an_episode_reassesses_the_childs_reviews(
    api: TestClient, make: Builder
) -> None:
    child = make.child()
    episode = make.episode(child["id"], "2017-04-03")
    review = make.review(child["id"], "2017-05-02")
    review_path = f"{V1}/reviews/{review['id']}"

    deleted = _delete(
        api, f"{V1}/episodes/{episode['id']}", {"reason": "Wrong start date"}, episode
    )
    assert deleted.status_code == 204, deleted.text
    orphan = api.get(review_path, headers=IRO).json()
    make.episode(child["id"], "2017-04-10")
    reassessed = api.get(review_path, headers=IRO).json()

    assert (orphan["sequence"], orphan["due_by"], orphan["in_timescale"]) == (None, None, None)
    # 20 working days after Monday 10 April 2017: Easter (14, 17 April) and 1 May skipped.
    assert (reassessed["sequence"], reassessed["due_by"], reassessed["in_timescale"]) == (
        "first",
        "2017-05-11",
        True,
    )
    assert reassessed["period_started_on"] == "2017-04-10"


def test_episodes_continuing_on_the_day_the_last_ended_form_one_period_of_care(
    api: TestClient, make: Builder
) -> None:
    child = make.child(date_of_birth="2008-03-10")
    first = make.episode(
        child["id"], "2016-01-04", end_on="2016-06-01", reason_ended="X1", legal_status="C1"
    )
    moved = make.episode(
        child["id"],
        "2016-06-01",
        end_on="2016-11-30",
        reason_ended="E11",
        reason_new_episode="P",
        legal_status="C2",
    )
    returned = make.episode(child["id"], "2017-02-01", legal_status="V2")

    periods = api.get(f"{V1}/children/{child['id']}/periods-of-care", headers=IRO).json()

    assert periods == [
        {
            "start_on": "2016-01-04",
            "end_on": "2016-11-30",
            "clock": "reg_33",
            "legal_status": "C2",
            "episode_ids": [first["id"], moved["id"]],
        },
        {
            "start_on": "2017-02-01",
            "end_on": None,
            "clock": "reg_33",
            "legal_status": "V2",
            "episode_ids": [returned["id"]],
        },
    ]


def test_an_episode_with_reason_s_starts_a_new_period_even_on_the_same_day(
    api: TestClient, make: Builder
) -> None:
    child = make.child()
    make.episode(child["id"], "2016-01-04", end_on="2016-06-01", reason_ended="E3")
    make.episode(child["id"], "2016-06-01", reason_new_episode="S")

    periods = api.get(f"{V1}/children/{child['id']}/periods-of-care", headers=IRO).json()

    assert [(p["start_on"], p["end_on"]) for p in periods] == [
        ("2016-01-04", "2016-06-01"),
        ("2016-06-01", None),
    ]
    # The new period starts the clock again: first review 20 working days after 1 June 2016.
    schedule = make.schedule(child["id"], "2016-06-02")
    assert schedule["next_review"]["sequence"] == "first"
    assert schedule["next_review"]["due_by"]["date"] == "2016-06-29"


def test_short_breaks_form_a_reg_48_period(api: TestClient, make: Builder) -> None:
    child = make.child()
    make.episode(child["id"], "2017-01-09", end_on="2017-01-13", legal_status="V3")
    make.episode(child["id"], "2017-02-06", end_on="2017-02-10", legal_status="V3")

    periods = api.get(f"{V1}/children/{child['id']}/periods-of-care", headers=IRO).json()

    assert [(p["start_on"], p["end_on"], p["clock"]) for p in periods] == [
        ("2017-01-09", "2017-02-10", "reg_48")
    ]


def test_the_schedule_of_an_unknown_child_is_404(api: TestClient) -> None:
    response = api.get(f"{V1}/children/{uuid.uuid4()}/schedule", headers=IRO)
    assert_problem(response, 404, "not-found")


def test_the_schedule_replays_a_past_day_from_the_records_known_then(
    api: TestClient, make: Builder
) -> None:
    child = make.child()
    episode = make.episode(child["id"], "2017-04-03")
    make.review(child["id"], "2017-05-02")
    ended = api.patch(
        f"{V1}/episodes/{episode['id']}",
        json={"end_on": "2018-03-15", "reason_ended": "E11"},
        headers=if_match(episode, INTEGRATION),
    )
    assert ended.status_code == 200, ended.text

    before = make.schedule(child["id"], "2017-04-20")
    after = make.schedule(child["id"], "2017-05-03")
    left = make.schedule(child["id"], "2018-03-20")

    # 20 April: 9 working days before the due date (21, 24-28 April, 2-4 May).
    assert (before["as_at"], before["status"], before["reviews"]) == ("2017-04-20", "due_soon", [])
    assert before["next_review"]["due_by"]["date"] == "2017-05-04"
    assert before["period_of_care"]["end_on"] is None  # the ending was not known then
    assert after["status"] == "not_due_yet"
    assert after["next_review"]["sequence"] == "second"
    assert after["next_review"]["due_by"]["rule"] == "reg33_second"
    assert after["next_review"]["due_by"]["date"] == "2017-08-01"  # 91 days after 2 May
    assert [(r["held_on"], r["in_timescale"]) for r in after["reviews"]] == [("2017-05-02", True)]
    assert (left["status"], left["looked_after"], left["next_review"]) == ("ended", False, None)
    assert left["period_of_care"]["end_on"] == "2018-03-15"


def test_the_schedule_names_the_working_day_before_a_weekend_due_date(
    api: TestClient, make: Builder
) -> None:
    child = make.looked_after("2017-04-03")
    make.review(child["id"], "2017-05-02")
    make.review(child["id"], "2017-07-28")

    next_review = make.schedule(child["id"], "2017-08-01")["next_review"]

    # 183 days after Friday 28 July 2017 is Saturday 27 January 2018.
    assert next_review["sequence"] == "subsequent"
    assert next_review["due_by"]["date"] == "2018-01-27"
    assert next_review["last_working_day"]["date"] == "2018-01-26"
    assert next_review["last_working_day"]["rule"] == "last_working_day"


def test_the_schedule_counts_calendar_months_when_configured(database_url: str) -> None:
    upgrade_to_head(SPEC.script_location, database_url)
    settings = Settings(database_url=database_url, month_rule="calendar")
    with TestClient(create_app(settings)) as client:
        make = Builder(client)
        child = make.looked_after("2017-04-03")
        make.review(child["id"], "2017-05-02")

        schedule = make.schedule(child["id"], "2017-05-03")

    assert schedule["month_rule"] == "calendar"
    due_by = schedule["next_review"]["due_by"]
    assert (due_by["date"], due_by["counted_from"]) == ("2017-08-02", "2017-05-02")
    assert "calendar months" in due_by["explanation"]
