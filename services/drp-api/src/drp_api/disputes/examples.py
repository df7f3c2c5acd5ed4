"""The OpenAPI examples of the dispute routes: one dispute, DRP-2017-0042, told through its life.

Sam Taylor's IRO raises it at stage 1 on Thursday 13 April 2017 (the request examples in
`drp_api.disputes.schemas`); the team manager responds on the 19th; the IRO escalates to stage 2
on the 21st; it is resolved on the 26th, reopened on 2 May and referred to Cafcass on 10 May
(withdrawn on 20 April, after the response, in the other branch). Each transition route's
example is the dispute that transition returns, with the version its ETag carries; the dates
are the default process's (`drp_api.settings`), in England's working days (Good Friday, Easter
Monday and the May bank holiday are not working days). drp-api's tests/test_examples.py
replays the story through the state machine and checks every date, status, stage and allowed
transition here.
"""

from __future__ import annotations

from typing import Any

from drp_api.people import ChildRef, IroRef
from drp_api.settings import DEFAULT_STAGES, DEFAULT_THEMES, Settings

DISPUTE_ID = "0b7e9a52-2f3c-4d8e-9c1a-5e6f7a8b9c0d"
RECORDED_BY = "3f6b2a90-7c1e-4d5a-9b8f-2e4c6a1d0b37"  # Alex Morgan's token `sub`
RECORDED_BY_NAME = "Alex Morgan"

CHILD: dict[str, Any] = ChildRef.model_config["json_schema_extra"]["example"]  # type: ignore[index]
IRO: dict[str, Any] = IroRef.model_config["json_schema_extra"]["example"]  # type: ignore[index]

STAGE_1, STAGE_2, CAFCASS = DEFAULT_STAGES[0].name, DEFAULT_STAGES[1].name, DEFAULT_STAGES[-1].name
TEAM_MANAGER = {"name": "Jo Bloggs", "role": "Team manager"}
SERVICE_MANAGER = {"name": "Pat Singh", "role": "Service manager"}
OPEN_ALLOWS = ["respond", "escalate", "refer_to_cafcass", "resolve", "withdraw"]

# The request bodies, as each action's `details` (the request without its date).
RAISED = {
    "child_id": CHILD["id"],
    "iro_id": IRO["id"],
    "category": "lac",
    "stage": 1,
    "themes": ["drift_and_delay", "permanency"],
    "issue": "No permanence plan was agreed at the second review.",
    "outcome_sought": "A permanence planning meeting held by 28 April 2017.",
    "asked": TEAM_MANAGER,
}
RESPONDED = {
    "responder": TEAM_MANAGER,
    "response": "The permanence meeting is booked for 3 May.",
}
ESCALATED = {
    "to_stage": 2,
    "asked": SERVICE_MANAGER,
    "reason": "The team manager's date is after the child's review.",
}
RESOLVED = {
    "outcomes": ["care_plan_improved", "more_timely_decision"],
    "summary": "Permanence meeting held; plan for adoption agreed.",
}
WITHDRAWN = {"reason": "The child returned home."}
REOPENED = {"reason": "The agreed permanence meeting did not take place."}
REFERRED = {
    "reason": "The director did not agree the placement the plan needs.",
    "asked": {"name": "Cafcass duty officer"},
}

# When each action was recorded (UTC), by version: raise, respond, escalate, resolve, reopen,
# refer to Cafcass; the withdrawal branch's version 3 is recorded on 20 April.
_RECORDED_AT = {
    1: "2017-04-13T09:42:17.318204Z",
    2: "2017-04-19T14:05:51.702118Z",
    3: "2017-04-21T11:20:04.915530Z",
    4: "2017-04-26T15:31:40.027391Z",
    5: "2017-05-02T10:02:33.640871Z",
    6: "2017-05-10T13:48:12.184466Z",
}
_WITHDRAWN_AT = "2017-04-20T16:12:09.551302Z"

_STAGE_1_RECORD = {
    "stage": 1,
    "name": STAGE_1,
    "entered_on": "2017-04-13",
    "due_by": "2017-04-24",
    "asked": TEAM_MANAGER,
    "responses": [],
}
_STAGE_1_ANSWERED = {
    **_STAGE_1_RECORD,
    "responses": [{"responded_on": "2017-04-19", **RESPONDED}],
}
_STAGE_2_RECORD = {
    "stage": 2,
    "name": STAGE_2,
    "entered_on": "2017-04-21",
    "due_by": "2017-04-28",
    "asked": SERVICE_MANAGER,
    "responses": [],
}
_STAGE_2_REOPENED = {
    "stage": 2,
    "name": STAGE_2,
    "entered_on": "2017-05-02",
    "due_by": "2017-05-09",
    "asked": None,
    "responses": [],
}
_CAFCASS_RECORD = {
    "stage": 5,
    "name": CAFCASS,
    "entered_on": "2017-05-10",
    "due_by": None,
    "asked": {"name": "Cafcass duty officer", "role": None},
    "responses": [],
}


def _dispute(version: int, updated_at: str, **state: Any) -> dict[str, Any]:
    """The dispute as a route returns it: the raised dispute, then `state` over it."""
    return {
        "id": DISPUTE_ID,
        "reference": "DRP-2017-0042",
        "child": CHILD,
        "category": RAISED["category"],
        "raised_by": IRO,
        "raised_on": "2017-04-13",
        "themes": RAISED["themes"],
        "issue": RAISED["issue"],
        "outcome_sought": RAISED["outcome_sought"],
        "stage": 1,
        "stage_name": STAGE_1,
        "status": "open",
        "stage_entered_on": "2017-04-13",
        "stage_due_by": "2017-04-24",
        "overall_due_by": "2017-05-16",
        "highest_stage": 1,
        "last_action_on": "2017-04-13",
        "closed_on": None,
        "outcomes": [],
        "allowed_transitions": OPEN_ALLOWS,
        "version": version,
        "created_by": RECORDED_BY,
        "created_at": _RECORDED_AT[1],
        "updated_at": updated_at,
        **state,
    }


_AT_STAGE_2 = {
    "stage": 2,
    "stage_name": STAGE_2,
    "stage_entered_on": "2017-04-21",
    "stage_due_by": "2017-04-28",
    "highest_stage": 2,
}

# Each transition's dispute, as the route returns it (its ETag is `"<version>"`).
DISPUTES: dict[str, dict[str, Any]] = {
    "raise": _dispute(1, _RECORDED_AT[1], stages=[_STAGE_1_RECORD]),
    "respond": _dispute(
        2, _RECORDED_AT[2], last_action_on="2017-04-19", stages=[_STAGE_1_ANSWERED]
    ),
    "escalate": _dispute(
        3,
        _RECORDED_AT[3],
        **_AT_STAGE_2,
        last_action_on="2017-04-21",
        stages=[_STAGE_1_ANSWERED, _STAGE_2_RECORD],
    ),
    "resolve": _dispute(
        4,
        _RECORDED_AT[4],
        **_AT_STAGE_2,
        status="resolved",
        last_action_on="2017-04-26",
        closed_on="2017-04-26",
        outcomes=RESOLVED["outcomes"],
        allowed_transitions=["reopen"],
        stages=[_STAGE_1_ANSWERED, _STAGE_2_RECORD],
    ),
    "reopen": _dispute(
        5,
        _RECORDED_AT[5],
        **{**_AT_STAGE_2, "stage_entered_on": "2017-05-02", "stage_due_by": "2017-05-09"},
        last_action_on="2017-05-02",
        stages=[_STAGE_1_ANSWERED, _STAGE_2_RECORD, _STAGE_2_REOPENED],
    ),
    "refer_to_cafcass": _dispute(
        6,
        _RECORDED_AT[6],
        stage=5,
        stage_name=CAFCASS,
        status="referred_to_cafcass",
        stage_entered_on="2017-05-10",
        stage_due_by=None,
        highest_stage=5,
        last_action_on="2017-05-10",
        closed_on="2017-05-10",
        allowed_transitions=[],
        stages=[_STAGE_1_ANSWERED, _STAGE_2_RECORD, _STAGE_2_REOPENED, _CAFCASS_RECORD],
    ),
    "withdraw": _dispute(
        3,
        _WITHDRAWN_AT,
        status="withdrawn",
        last_action_on="2017-04-20",
        closed_on="2017-04-20",
        allowed_transitions=["reopen"],
        stages=[_STAGE_1_ANSWERED],
    ),
}

DISPUTE = DISPUTES["escalate"]
"""The dispute as most often read: open at stage 2, escalated on 21 April."""
DISPUTE_SUMMARY = {k: v for k, v in DISPUTE.items() if k != "stages"}


def _action(version: int, action: str, happened_on: str, **fields: Any) -> dict[str, Any]:
    return {
        "version": version,
        "action": action,
        "happened_on": happened_on,
        **fields,
        "recorded_by": RECORDED_BY,
        "recorded_by_name": RECORDED_BY_NAME,
        "recorded_at": _RECORDED_AT[version],
    }


HISTORY = [
    _action(
        1,
        "raise",
        "2017-04-13",
        description=f"Raised at stage 1, {STAGE_1}. Asked: Jo Bloggs (Team manager).",
        stage=1,
        stage_name=STAGE_1,
        status="open",
        stage_due_by="2017-04-24",
        details=RAISED,
    ),
    _action(
        2,
        "respond",
        "2017-04-19",
        description=f"Response from Jo Bloggs (Team manager): {RESPONDED['response']}",
        stage=1,
        stage_name=STAGE_1,
        status="open",
        stage_due_by="2017-04-24",
        details=RESPONDED,
    ),
    _action(
        3,
        "escalate",
        "2017-04-21",
        description=f"Escalated to stage 2, {STAGE_2}. Asked: Pat Singh (Service manager). "
        f"Reason: {ESCALATED['reason']}",
        stage=2,
        stage_name=STAGE_2,
        status="open",
        stage_due_by="2017-04-28",
        details=ESCALATED,
    ),
]
"""The history of DISPUTE (version 3), oldest first."""
ACTION = HISTORY[-1]

STAGE_DUE = {
    "dispute_id": DISPUTE_ID,
    "reference": "DRP-2017-0042",
    "child": CHILD,
    "iro": IRO,
    "category": "lac",
    "stage": 2,
    "stage_name": STAGE_2,
    "stage_due_by": "2017-04-28",
    "working_days_left": 1,
    "overdue": False,
    "overall_due_by": "2017-05-16",
}
"""DISPUTE on the stage worklist as at Thursday 27 April 2017."""

PROCESS = {
    "stages": [
        {
            "number": number,
            "name": stage.name,
            "working_days": stage.working_days,
            "cafcass": number == len(DEFAULT_STAGES),
        }
        for number, stage in enumerate(DEFAULT_STAGES, start=1)
    ],
    "overall_working_days": Settings.model_fields["overall_working_days"].default,
    "reopen_window_working_days": Settings.model_fields["reopen_window_working_days"].default,
    "themes": DEFAULT_THEMES,
    "outcomes": [
        "care_plan_improved",
        "contact_changed",
        "legal_status_changed",
        "placement_changed",
        "more_timely_decision",
        "other",
    ],
    "categories": ["lac", "cp"],
}
"""The default process (drp_api.settings)."""
