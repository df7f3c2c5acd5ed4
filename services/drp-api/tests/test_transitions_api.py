"""What transitions refuse: 428 and 412 on If-Match, 409 with the state and what it allows,
422 naming the field, 404; and that a refused request changes nothing."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from .conftest import (
    DATE_FIELDS,
    MANAGER,
    TRANSITION_BODIES,
    V1,
    Disputes,
    raise_body,
)
from .problems import assert_problem

VERBS = list(TRANSITION_BODIES)


def _post(api: TestClient, dispute_id: str, verb: str, if_match: str | None, **body: object):
    headers = dict(MANAGER)
    if if_match is not None:
        headers["If-Match"] = if_match
    payload = {**TRANSITION_BODIES[verb], **body}
    return api.post(f"{V1}/disputes/{dispute_id}/{verb}", json=payload, headers=headers)


@pytest.mark.parametrize("verb", VERBS)
def test_every_transition_needs_if_match(api: TestClient, disputes: Disputes, verb: str) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    assert_problem(_post(api, dispute["id"], verb, None), 428, "precondition-required")
    assert_problem(_post(api, dispute["id"], verb, "*"), 428, "precondition-required")
    assert disputes.get(dispute["id"])["version"] == 1


@pytest.mark.parametrize("verb", VERBS)
def test_a_stale_if_match_is_412_and_changes_nothing(
    api: TestClient, disputes: Disputes, verb: str
) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    disputes.act(dispute["id"], "respond", "2017-04-04")

    body = assert_problem(_post(api, dispute["id"], verb, '"1"'), 412, "precondition-failed")
    assert "read it again" in body["detail"]
    # Not one of our ETags at all (the documented pattern refuses it): a 422 naming the header.
    for malformed in ('W/"2"', "2", '"two"'):
        body = assert_problem(_post(api, dispute["id"], verb, malformed), 422, "validation-error")
        assert [e["pointer"] for e in body["errors"]] == ["/If-Match"]
    assert len(disputes.history(dispute["id"])) == 2


def test_the_etag_moves_with_every_change_and_if_match_may_list_several(
    api: TestClient, disputes: Disputes
) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    first = _post(api, dispute["id"], "respond", '"7", "1"', responded_on="2017-04-04")
    assert (first.status_code, first.headers["ETag"]) == (200, '"2"')
    second = _post(api, dispute["id"], "escalate", '"2"', escalated_on="2017-04-05")
    assert (second.status_code, second.headers["ETag"]) == (200, '"3"')
    assert api.get(f"{V1}/disputes/{dispute['id']}", headers=MANAGER).headers["ETag"] == '"3"'


def test_escalating_a_resolved_dispute_is_409_naming_its_state(disputes: Disputes) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03", stage=2)
    disputes.act(dispute["id"], "resolve", "2017-04-05")

    response = disputes.post(dispute["id"], "escalate", "2017-04-06")

    body = assert_problem(response, 409, "dispute-closed")
    assert body["current_state"] == "resolved"
    assert body["current_stage"] == 2
    assert body["allowed_transitions"] == ["reopen"]  # on 6 April, inside the reopen window
    assert body["detail"] == "The dispute was resolved on 2017-04-05, so it cannot be escalated."


def test_resolving_without_an_outcome_is_409(api: TestClient, disputes: Disputes) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    for body in ({"summary": "Agreed.", "outcomes": []}, {"summary": "Agreed."}):
        response = api.post(
            f"{V1}/disputes/{dispute['id']}/resolve",
            json=body,
            headers={**MANAGER, "If-Match": '"1"'},
        )
        problem = assert_problem(response, 409, "outcome-required", "/outcomes")
        assert (problem["current_state"], problem["current_stage"]) == ("open", 1)
        assert "resolve" in problem["allowed_transitions"]


def test_escalating_from_the_last_internal_stage_is_409(disputes: Disputes) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03", stage=4)
    body = assert_problem(
        disputes.post(dispute["id"], "escalate", "2017-04-04"), 409, "transition-not-allowed"
    )
    assert body["allowed_transitions"] == ["respond", "refer_to_cafcass", "resolve", "withdraw"]


def test_a_referral_to_cafcass_is_final(disputes: Disputes) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    disputes.act(dispute["id"], "refer-to-cafcass", "2017-04-04")
    for verb in VERBS:
        body = assert_problem(
            disputes.post(dispute["id"], verb, "2017-04-05"), 409, "dispute-closed"
        )
        assert (body["current_state"], body["allowed_transitions"]) == ("referred_to_cafcass", [])


def test_reopening_after_the_window_is_409(disputes: Disputes) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    disputes.act(dispute["id"], "withdraw", "2017-04-04")
    # 20 working days after Tuesday 4 April 2017: 5-7, 10-13, 18-21, 24-28 April (16; Good
    # Friday and Easter Monday are not working days), then 2-5 May (1 May is): Friday 5 May.
    body = assert_problem(
        disputes.post(dispute["id"], "reopen", "2017-05-08"), 409, "reopen-window-closed"
    )
    assert (body["current_state"], body["allowed_transitions"]) == ("withdrawn", [])
    assert disputes.act(dispute["id"], "reopen", "2017-05-05")["status"] == "open"


@pytest.mark.parametrize("verb", VERBS)
def test_a_date_in_the_future_or_before_the_previous_action_is_422_naming_it(
    disputes: Disputes, verb: str
) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    disputes.act(dispute["id"], "respond", "2017-04-10")
    if verb == "reopen":
        disputes.act(dispute["id"], "withdraw", "2017-04-10")
    field = DATE_FIELDS[verb]

    future = assert_problem(
        disputes.post(dispute["id"], verb, "2098-01-01"), 422, "validation-error", f"/{field}"
    )
    before = assert_problem(
        disputes.post(dispute["id"], verb, "2017-04-07"), 422, "validation-error", f"/{field}"
    )

    assert "is in the future" in future["errors"][0]["message"]
    assert (
        before["errors"][0]["message"] == "is before the dispute's previous action, on 2017-04-10"
    )


def test_an_action_without_a_date_happened_today_in_england(disputes: Disputes) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    after = disputes.act(dispute["id"], "respond")
    today = datetime.now(ZoneInfo("Europe/London")).date().isoformat()
    assert after["last_action_on"] == today
    assert disputes.history(dispute["id"])[-1]["happened_on"] == today
    undated = disputes.raise_(raised_on=None)
    assert undated["raised_on"] == today


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"themes": ["weather"]}, "/themes/0"),
        ({"themes": ["contact", "contact"]}, "/themes"),
        ({"themes": []}, "/themes"),
        ({"category": "LAC"}, "/category"),
        ({"stage": 5}, "/stage"),
        ({"stage": 0}, "/stage"),
        ({"raised_on": "2098-01-01"}, "/raised_on"),
        ({"raised_on": "13/04/2017"}, "/raised_on"),
        ({"issue": ""}, "/issue"),
        ({"outcome_sought": None}, "/outcome_sought"),
        ({"child_id": "not-a-uuid"}, "/child_id"),
        ({"iro_id": None}, "/iro_id"),
        ({"colour": "red"}, "/colour"),
    ],
)
def test_raising_with_bad_input_is_422_naming_the_field(
    api: TestClient, fields: dict, pointer: str
) -> None:
    response = api.post(f"{V1}/disputes", json=raise_body(**fields), headers=MANAGER)
    assert_problem(response, 422, "validation-error", pointer)
    assert api.get(f"{V1}/disputes", headers=MANAGER).json()["items"] == []


@pytest.mark.parametrize(
    ("verb", "fields", "pointer"),
    [
        ("escalate", {"to_stage": 1}, "/to_stage"),
        ("escalate", {"to_stage": 5}, "/to_stage"),
        ("escalate", {"to_stage": "two"}, "/to_stage"),
        ("respond", {"response": ""}, "/response"),
        ("respond", {"responder": None}, "/responder"),
        ("resolve", {"outcomes": ["happier"]}, "/outcomes/0"),
        ("resolve", {"summary": ""}, "/summary"),
        ("withdraw", {"reason": None}, "/reason"),
        ("refer-to-cafcass", {"reason": ""}, "/reason"),
        ("respond", {"stage": 2}, "/stage"),
    ],
)
def test_a_transition_with_bad_input_is_422_naming_the_field(
    disputes: Disputes, verb: str, fields: dict, pointer: str
) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    assert_problem(
        disputes.post(dispute["id"], verb, "2017-04-04", **fields), 422, "validation-error", pointer
    )
    assert disputes.get(dispute["id"])["version"] == 1


@pytest.mark.parametrize("verb", VERBS)
def test_an_unknown_dispute_is_404(api: TestClient, verb: str) -> None:
    assert_problem(_post(api, str(uuid.uuid4()), verb, '"1"'), 404, "not-found")


def test_reading_an_unknown_dispute_is_404(api: TestClient) -> None:
    for path in ("", "/history"):
        response = api.get(f"{V1}/disputes/{uuid.uuid4()}{path}", headers=MANAGER)
        assert_problem(response, 404, "not-found")
    assert_problem(
        api.get(f"{V1}/disputes/DRP-2017-0001", headers=MANAGER), 422, "validation-error"
    )
