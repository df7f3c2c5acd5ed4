"""The OpenAPI response examples of reviews-api: Sam Taylor's first months in care, in 2017.

Sam Taylor (LCS-100234, born 15 June 2010) becomes looked after on Monday 3 April 2017 (episode
EP-5531: RNE S, legal status C2, placement U1); on the 4th she is on the unallocated-children
worklist (an IRO is due within 5 working days, by the 10th), and from the 5th Alex Morgan (0.8
FTE, in post since 1 September 2016) is her IRO. Her first review is due within 20 working days,
by Thursday 4 May (Good Friday and Easter Monday are not working days), so it is to be planned
from the day she came into care; on 20 April her pre-review visit is due by the 26th, and Alex
visits her on the 25th. On 24 April the review is due soon (7 working days left); it is held,
in timescale, on 2 May (PN1, in person). The second is then due within 3 months, by 1 August
(plan by 4 July, midway review on 16 June); on 10 July it is to be planned now. It is held three
days late on 4 August, without a reason, so it is on the late-reviews-without-reason worklist
on the 7th until `missing_report` is recorded. A secure placement from 1 June is reviewed by a
panel on 28 June (due by 1 July), the next due by 28 September. Alex leaves the service, and
from 1 September Sam's IRO is Priya Shah, the IRO with most room.

The values are what reviews-api returns when the story is played through its routes (the
request examples in the schemas modules); reviews-api's tests/test_examples.py replays it and
checks every value here but the ids and times, which are fixed for the documents. The caseload
figures are an authority's, not the two-IRO story's, and follow the handbook arithmetic.
"""

from __future__ import annotations

from typing import Any

CHILD_ID = "3f1c2a5e-8d4b-4c1e-9a7f-2b6d0e9c4a11"  # as drp-api's ChildRef example
IRO_ID = "9b2e4f70-1c3d-4e5f-8a6b-7c8d9e0f1a2b"  # Alex Morgan, as drp-api's IroRef example
NEW_IRO_ID = "c41e7a09-5b2d-4f36-8e1a-9d0c2b4f6a73"  # Priya Shah
EPISODE_ID = "7d2a9c14-3e5b-4a68-b1f0-2c8e6d4a9b35"
ALLOCATION_ID = "5e8b1f30-9a4c-4d27-8f6e-0b3a7c2d1e94"
VISIT_ID = "a3f6c2d8-1b7e-4c95-9d04-6e2b8a1f3c57"
REVIEW_ID = "e6b3d9a1-4c2f-4e8a-b5d7-1a9c3e7f2b60"  # the first review, 2 May
SECOND_REVIEW_ID = "2c9e5a7b-8d1f-4b36-a4e2-7f0d6c3b9a18"  # the second, late, 4 August
PLACEMENT_ID = "8f4d2b6e-0a3c-4e71-9b5f-3d1e7a9c2f46"
SECURE_REVIEW_ID = "b1d7f3a5-6e9c-4a28-8c0b-4f2e6d8a1c93"

ALEX_SUB = "3f6b2a90-7c1e-4d5a-9b8f-2e4c6a1d0b37"  # Alex Morgan's token `sub`
MANAGER_SUB = "d5a8c3e1-2f7b-4d96-a0e4-8b1c5f3a7d22"  # the IRO manager's token `sub`
INTEGRATION_SUB = "lcs"  # the case system's client

CHILD_SUMMARY = {"id": CHILD_ID, "external_id": "LCS-100234", "name": "Sam Taylor"}
IRO_SUMMARY = {"id": IRO_ID, "name": "Alex Morgan"}

IRO: dict[str, Any] = {
    "id": IRO_ID,
    "name": "Alex Morgan",
    "email": "alex.morgan@la.example",
    "fte": 0.8,
    "start_on": "2016-09-01",
    "end_on": None,
    "version": 1,
    "created_at": "2016-08-22T10:14:03.552190Z",
    "updated_at": "2016-08-22T10:14:03.552190Z",
}

CHILD: dict[str, Any] = {
    "id": CHILD_ID,
    "external_id": "LCS-100234",
    "given_name": "Sam",
    "family_name": "Taylor",
    "date_of_birth": "2010-06-15",
    "sex": "female",
    "version": 1,
    "created_at": "2017-04-03T15:22:41.108734Z",
    "updated_at": "2017-04-03T15:22:41.108734Z",
}

EPISODE: dict[str, Any] = {
    "id": EPISODE_ID,
    "child_id": CHILD_ID,
    "external_id": "EP-5531",
    "start_on": "2017-04-03",
    "end_on": None,
    "reason_new_episode": "S",
    "legal_status": "C2",
    "placement": "U1",
    "reason_ended": None,
    "version": 1,
}

PERIOD_OF_CARE: dict[str, Any] = {
    "start_on": "2017-04-03",
    "end_on": None,
    "clock": "reg_33",
    "legal_status": "C2",
    "episode_ids": [EPISODE_ID],
}

UNALLOCATED_CHILD: dict[str, Any] = {  # as at 4 April
    "child": CHILD_SUMMARY,
    "looked_after_since": "2017-04-03",
    "allocation_due_by": "2017-04-10",
    "working_days_left": 4,
    "overdue": False,
}

ALLOCATION: dict[str, Any] = {
    "id": ALLOCATION_ID,
    "child_id": CHILD_ID,
    "iro_id": IRO_ID,
    "start_on": "2017-04-05",
    "end_on": None,
    "reason": None,
    "created_by": MANAGER_SUB,
    "version": 1,
    "created_at": "2017-04-05T09:31:12.406615Z",
}

VISIT_DUE: dict[str, Any] = {  # as at 20 April
    "child": CHILD_SUMMARY,
    "iro": IRO_SUMMARY,
    "review_due_by": "2017-05-04",
    "scheduled_for": None,
    "visit_from": "2017-04-03",
    "visit_by": "2017-04-26",
    "working_days_left": 4,
}

VISIT: dict[str, Any] = {
    "id": VISIT_ID,
    "child_id": CHILD_ID,
    "kind": "pre_review",
    "visited_on": "2017-04-25",
    "iro_id": IRO_ID,
    "notes": None,
    "created_by": ALEX_SUB,
    "version": 1,
    "created_at": "2017-04-25T16:40:27.913052Z",
}

REVIEW_DUE: dict[str, Any] = {  # as at 24 April
    "child": CHILD_SUMMARY,
    "iro": IRO_SUMMARY,
    "sequence": "first",
    "due_by": "2017-05-04",
    "last_working_day": "2017-05-04",
    "plan_by": "2017-04-03",
    "scheduled_for": None,
    "status": "due_soon",
    "working_days_left": 7,
}

REVIEW: dict[str, Any] = {
    "id": REVIEW_ID,
    "child_id": CHILD_ID,
    "scheduled_for": None,
    "held_on": "2017-05-02",
    "series_started_on": None,
    "participation_code": "PN1",
    "views_method": "in_person",
    "late_reason": None,
    "late_reason_text": None,
    "notes": "Plan endorsed.",
    "period_started_on": "2017-04-03",
    "sequence": "first",
    "due_by": "2017-05-04",
    "in_timescale": True,
    "created_by": ALEX_SUB,
    "version": 1,
    "created_at": "2017-05-02T17:05:38.270941Z",
    "updated_at": "2017-05-02T17:05:38.270941Z",
}

_FIRST_DUE = {
    "date": "2017-05-04",
    "rule": "reg33_first",
    "counted_from": "2017-04-03",
    "explanation": "First review: within 20 working days of becoming looked after on "
    "2017-04-03 (reg 33(1)(a)); bank holidays and weekends are not counted.",
}
_SECOND_DUE = "2017-08-01"

SCHEDULE: dict[str, Any] = {  # as at 10 July
    "child_id": CHILD_ID,
    "as_at": "2017-07-10",
    "status": "plan_now",
    "month_rule": "days",
    "looked_after": True,
    "period_of_care": PERIOD_OF_CARE,
    "allocation_due_by": {
        "date": "2017-04-10",
        "rule": "allocation",
        "counted_from": "2017-04-03",
        "explanation": "An IRO should be allocated within 5 working days of the child becoming "
        "looked after on 2017-04-03.",
    },
    "next_review": {
        "sequence": "second",
        "due_by": {
            "date": _SECOND_DUE,
            "rule": "reg33_second",
            "counted_from": "2017-05-02",
            "explanation": "Second review: not more than 3 months after the first, held on "
            "2017-05-02 (reg 33(1)(b)); 3 months counted as 91 days for 3 months and 183 days "
            "for 6 months.",
        },
        "last_working_day": {
            "date": _SECOND_DUE,
            "rule": "last_working_day",
            "counted_from": _SECOND_DUE,
            "explanation": "The last working day on or before the due date 2017-08-01; the due "
            "date itself is not moved.",
        },
        "plan_by": {
            "date": "2017-07-04",
            "rule": "plan_by",
            "counted_from": _SECOND_DUE,
            "explanation": "Book the review 20 working days before it is due on 2017-08-01.",
        },
        "scheduled_for": None,
        "visit_from": "2017-05-03",
        "visit_by": {
            "date": "2017-07-25",
            "rule": "visit_by_due",
            "counted_from": _SECOND_DUE,
            "explanation": "The IRO sees the child at least 5 working days before the due date "
            "2017-08-01 (no review is booked yet).",
        },
        "midway_on": {
            "date": "2017-06-16",
            "rule": "midway",
            "counted_from": "2017-05-02",
            "explanation": "Midway review: halfway between the previous review on 2017-05-02 "
            "and the due date, rounded down.",
        },
    },
    "reviews": [
        {
            "review_id": REVIEW_ID,
            "held_on": "2017-05-02",
            "sequence": "first",
            "due_by": _FIRST_DUE,
            "in_timescale": True,
            "days_late": 0,
        }
    ],
}

MIDWAY_DUE: dict[str, Any] = {  # as at 1 June
    "child": CHILD_SUMMARY,
    "iro": IRO_SUMMARY,
    "previous_review_on": "2017-05-02",
    "midway_on": "2017-06-16",
    "review_due_by": _SECOND_DUE,
}

SECURE_REVIEW: dict[str, Any] = {
    "id": SECURE_REVIEW_ID,
    "placement_id": PLACEMENT_ID,
    "held_on": "2017-06-28",
    "panel": [
        {"name": "Alex Morgan", "independent": False, "role": "IRO"},
        {"name": "Priya Shah", "independent": False, "role": "IRO"},
        {"name": "Chris Patel", "independent": True, "role": "Independent panel member"},
    ],
    "notes": None,
    "due_by": "2017-07-01",
    "in_timescale": True,
    "created_by": ALEX_SUB,
    "version": 1,
    "created_at": "2017-06-28T14:12:55.604318Z",
}

SECURE_PLACEMENT: dict[str, Any] = {  # as at 28 June, after its first review
    "id": PLACEMENT_ID,
    "child_id": CHILD_ID,
    "start_on": "2017-06-01",
    "end_on": None,
    "version": 1,
    "next_review_due_by": {
        "date": "2017-09-28",
        "rule": "secure_subsequent",
        "counted_from": "2017-06-28",
        "explanation": "Subsequent secure accommodation review: not more than 3 months after "
        "the previous one on 2017-06-28 (reg 15).",
    },
}

LATE_REVIEW_WITHOUT_REASON: dict[str, Any] = {  # as at 7 August
    "review_id": SECOND_REVIEW_ID,
    "version": 1,
    "child": CHILD_SUMMARY,
    "iro": IRO_SUMMARY,
    "sequence": "second",
    "held_on": "2017-08-04",
    "due_by": _SECOND_DUE,
    "days_late": 3,
}

REALLOCATION_LETTER: dict[str, Any] = {
    "child_id": CHILD_ID,
    "external_id": "LCS-100234",
    "child_name": "Sam Taylor",
    "new_iro_id": NEW_IRO_ID,
    "new_iro_name": "Priya Shah",
    "start_on": "2017-09-01",
}

# An authority's caseloads on 2 May: children / FTE, and room = 70 x FTE - children.
CASELOAD: dict[str, Any] = {
    "iro_id": IRO_ID,
    "name": "Alex Morgan",
    "fte": 0.8,
    "children": 46,
    "short_break_children": 2,
    "caseload_per_fte": 57.5,
    "within_handbook_range": True,
    "room": 10.0,
}
SUGGESTED_CASELOAD: dict[str, Any] = {
    "iro_id": NEW_IRO_ID,
    "name": "Priya Shah",
    "fte": 1.0,
    "children": 52,
    "short_break_children": 0,
    "caseload_per_fte": 52.0,
    "within_handbook_range": True,
    "room": 18.0,
}
CASELOAD_SUMMARY: dict[str, Any] = {
    "as_at": "2017-05-02",
    "looked_after_children": 99,
    "unallocated_children": 1,
    "total_fte": 1.8,
    "average_caseload": 55.0,
    "iros": [CASELOAD, SUGGESTED_CASELOAD],
}

ANNUAL_OUTCOME: dict[str, Any] = {  # the 2017-18 SSDA903 return: looked after all year
    "year_ending": "2018-03-31",
    "sdq_score": 14,
    "sdq_reason": None,
    "convicted": False,
    "health_check": True,
    "immunisations": True,
    "teeth_check": True,
    "health_assessment": True,
    "substance_misuse": False,
    "intervention_received": None,
    "intervention_offered": None,
}
