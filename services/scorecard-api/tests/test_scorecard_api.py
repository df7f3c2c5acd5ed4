"""The scorecard from events: a small cohort worked out by hand, as at two days a year apart."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from iro_kit.testing import assert_problem

from .conftest import ADMIN, MANAGER, PERFORMANCE, SUPPORT, V1, Producer

A, B, C, D = (uuid.UUID(int=n) for n in (0xA, 0xB, 0xC, 0xD))
IRO_X = uuid.UUID(int=0x1)
LATER, EARLIER = "2017-03-31", "2016-03-31"


def load_cohort(p: Producer) -> dict[str, uuid.UUID]:
    """Four children (see the test names for what each is for)."""
    p.iro(IRO_X, "Alex Morgan", 1.0, "2010-01-01")
    # A: looked after from Monday 2016-09-05 (first review due 2016-10-03, 20 working days).
    p.child(A, "2005-06-01", [("2016-09-05", None, "C2", "S")], name="Ann Adams")
    p.review(A, "2016-09-30", "PN1")  # first, in time; second due 2016-12-30 (91 days)
    p.review(A, "2017-01-04", "PN1", late_reason="calculation_error")  # 2 working days late
    p.visit(A, "pre_review", "2016-09-20")  # by 2016-09-23: in time for the first
    p.visit(A, "pre_review", "2016-12-28")  # after 2016-12-23: too late for the second
    p.plans(
        A,
        [
            ("care_plan_updated", "2016-10-15"),
            ("pep_reviewed", "2016-09-20"),  # before 2016-09-30: out of date on 2017-03-31
            ("health_assessment_completed", "2016-04-10"),
        ],
    )
    p.allocations(A, [(IRO_X, "2016-09-06", None)])
    # B: section 20 from 2015-06-01; every review in time until the one due 2017-03-16.
    p.child(B, "2012-01-15", [("2015-06-01", None, "V2", "S")], name="Ben Brown")
    ids = {
        held: p.review(B, held, code)
        for held, code in (
            ("2015-06-25", "PN0"),  # due 2015-06-29
            ("2015-09-20", "PN0"),  # due 2015-09-24
            ("2016-03-15", "PN2"),  # due 2016-03-21
            ("2016-09-14", "PN7"),  # due 2016-09-14, held on the day; next due 2017-03-16
        )
    }
    p.visit(B, "midway", "2016-11-30")  # midpoint 2016-12-14
    # C: short breaks (V3): in no looked-after population.
    p.child(C, "2008-01-01", [("2016-05-01", None, "V3", "S")], name="Cal Cole")
    p.review(C, "2016-07-01", "PN1")
    # D: looked after 2015-01-05 to 2017-03-31, the day the later column is taken.
    p.child(D, "2003-02-02", [("2015-01-05", "2017-03-31", "C1", "S")], name="Dee Dunn")
    return {f"B {held}": review_id for held, review_id in ids.items()}


def column(client: TestClient, *days: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(
        f"{V1}/scorecard", params={"as_at": list(days), **params}, headers=PERFORMANCE
    )
    assert response.status_code == 200, response.text
    return response.json()["columns"]


def figures(col: dict[str, Any]) -> dict[str, tuple[Any, Any, Any]]:
    return {k["code"]: (k["numerator"], k["denominator"], k["value"]) for k in col["kpis"]}


def test_every_kpi_equals_the_hand_worked_figures_on_two_days_a_year_apart(
    scorecard: TestClient, producer: Producer
) -> None:
    load_cohort(producer)
    earlier, later = column(scorecard, EARLIER, LATER)
    assert (earlier["as_at"], earlier["from"]) == ("2016-03-31", "2015-04-01")
    assert (later["as_at"], later["from"]) == ("2017-03-31", "2016-04-01")
    assert figures(later) == {
        "reviews_in_timescale": (0, 2, 0.0),
        "reviews_in_timescale_by_review": (2, 4, 50.0),
        "participation": (1, 2, 50.0),
        "care_plan_up_to_date": (1, 2, 50.0),
        "pep_up_to_date": (0, 1, 0.0),
        "section_20": (1, 2, 50.0),
        "pre_review_visits": (2, None, 2.0),
        "pre_review_visit_in_time": (1, 3, pytest.approx(100 / 3)),
        "midway_reviews": (1, 1, 100.0),
        "health_assessment_up_to_date": (1, 2, 50.0),
        "pathway_plan_up_to_date": (0, 0, None),
    }
    early = figures(earlier)
    assert early["reviews_in_timescale"] == (1, 1, 100.0)  # B; D had nothing due in the window
    assert early["reviews_in_timescale_by_review"] == (3, 3, 100.0)
    assert early["section_20"] == (1, 2, 50.0)  # B and D
    changes = {k["code"]: k["change"] for k in later["kpis"]}
    assert changes["reviews_in_timescale"] == -100.0
    assert all(k["change"] is None for k in earlier["kpis"])


def test_drill_down_names_each_failing_child_with_the_dates_and_the_iro(
    scorecard: TestClient, producer: Producer
) -> None:
    load_cohort(producer)
    response = scorecard.get(
        f"{V1}/kpis/reviews_in_timescale/children",
        params={"as_at": LATER, "met": "false"},
        headers=MANAGER,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["numerator"], body["denominator"]) == (0, 2)
    rows = {r["name"]: r for r in body["items"]}
    assert (
        rows["Ann Adams"]["reason"] == "review due 2016-12-30, held 2017-01-04, 2 working days late"
    )
    assert rows["Ann Adams"]["iro"] == {"id": str(IRO_X), "name": "Alex Morgan"}
    assert rows["Ann Adams"]["dates"] == {"due_by": "2016-12-30", "held_on": "2017-01-04"}
    assert rows["Ben Brown"]["reason"] == (
        "review due 2017-03-16, not held by 2017-03-31 (11 working days over)"
    )
    assert rows["Ben Brown"]["iro"] is None
    only_x = scorecard.get(
        f"{V1}/kpis/reviews_in_timescale/children",
        params={"as_at": LATER, "iro_id": str(IRO_X)},
        headers=MANAGER,
    ).json()
    assert [r["name"] for r in only_x["items"]] == ["Ann Adams"]


def test_a_past_figure_never_moves_when_later_facts_arrive(
    scorecard: TestClient, producer: Producer
) -> None:
    load_cohort(producer)
    before = scorecard.get(f"{V1}/scorecard", params={"as_at": EARLIER}, headers=PERFORMANCE)
    producer.review(D, "2016-06-01", "PN1")
    producer.review(B, "2016-04-02", "PN3")  # early review after the day: restarts the clock
    producer.plans(B, [("care_plan_updated", "2016-05-01")])
    producer.visit(B, "pre_review", "2016-04-20")
    after = scorecard.get(f"{V1}/scorecard", params={"as_at": EARLIER}, headers=PERFORMANCE)
    assert after.content == before.content
    moved = figures(column(scorecard, LATER)[0])
    assert moved["care_plan_up_to_date"] == (1, 2, 50.0)  # B's plan is out of date by then


def test_a_deleted_review_leaves_every_figure(scorecard: TestClient, producer: Producer) -> None:
    reviews = load_cohort(producer)
    last = reviews["B 2016-09-14"]
    producer.review(B, "2016-09-14", "PN7", review_id=last, deleted=True)
    later = figures(column(scorecard, LATER)[0])
    # B's review due 2016-09-14 is now not held, and nothing falls due after it.
    assert later["reviews_in_timescale_by_review"] == (1, 3, pytest.approx(100 / 3))
    assert later["participation"] == (2, 2, 100.0)  # B's latest is now 2016-03-15, PN2


def test_an_older_or_repeated_event_changes_nothing(
    scorecard: TestClient, producer: Producer
) -> None:
    load_cohort(producer)
    before = scorecard.get(f"{V1}/scorecard", params={"as_at": LATER}, headers=PERFORMANCE)
    stale = dict(next(e for e in producer.sent if e["subject"] == str(B)))
    stale = {**stale, "id": str(uuid.uuid4()), "data": {**stale["data"], "deleted": True}}
    producer.replay([stale])  # B's first version again, deleted: older than the one applied
    producer.replay(producer.sent[:5])  # duplicates
    after = scorecard.get(f"{V1}/scorecard", params={"as_at": LATER}, headers=PERFORMANCE)
    assert after.content == before.content


def test_replaying_every_event_into_empty_read_models_gives_identical_json(
    scorecard: TestClient, producer: Producer
) -> None:
    load_cohort(producer)
    params = {"as_at": [EARLIER, LATER]}
    before = scorecard.get(f"{V1}/scorecard", params=params, headers=PERFORMANCE)
    from scorecard_api.rebuild import empty_projections

    scorecard.portal.call(empty_projections, scorecard.app.state.database)  # type: ignore[attr-defined]
    empty = scorecard.get(f"{V1}/scorecard", params=params, headers=PERFORMANCE)
    assert empty.json()["columns"][1]["kpis"][0]["denominator"] == 0
    assert empty.headers["x-facts-complete-to"] == "none"
    # A republish: the same states again as new events with new versions, in another order.
    for event in reversed(producer.sent):
        producer.send(event["type"], event["subject"], {**event["data"]})
    after = scorecard.get(f"{V1}/scorecard", params=params, headers=PERFORMANCE)
    assert after.content == before.content


def test_targets_rate_each_kpi_and_every_change_is_kept(
    scorecard: TestClient, producer: Producer
) -> None:
    load_cohort(producer)
    put = scorecard.put(
        f"{V1}/targets/care_plan_up_to_date",
        json={"target": 52, "amber_tolerance": 5},
        headers=MANAGER,
    )
    assert put.status_code == 200, put.text
    assert put.json()["updated_by"] == "manager-1"
    scorecard.put(f"{V1}/targets/section_20", json={"target": 40}, headers=ADMIN)
    scorecard.put(
        f"{V1}/targets/participation", json={"target": 90, "amber_tolerance": 10}, headers=ADMIN
    )
    rated = {k["code"]: k for k in column(scorecard, LATER)[0]["kpis"]}
    assert rated["care_plan_up_to_date"]["rag"] == "amber"  # 50 against 52, within 5
    assert rated["section_20"]["rag"] == "red"  # lower is better: 50 against 40, beyond 5
    assert rated["section_20"]["direction"] == "lower"
    assert rated["participation"]["rag"] == "red"
    assert rated["pep_up_to_date"]["rag"] is None  # no target
    scorecard.put(f"{V1}/targets/section_20", json={"target": 55}, headers=ADMIN)
    history = scorecard.get(f"{V1}/targets/section_20/history", headers=PERFORMANCE).json()
    assert [h["new"]["target"] for h in history] == [55, 40]
    assert history[0]["old"]["target"] == 40 and history[1]["old"] is None
    assert history[0]["changed_by"] == "admin-1"
    csv = scorecard.get(f"{V1}/targets", params={"format": "csv"}, headers=PERFORMANCE)
    assert csv.headers["content-disposition"] == 'attachment; filename="targets.csv"'
    assert any(
        line.startswith("section_20,") and ",55.0,lower," in line for line in csv.text.splitlines()
    )


def test_only_managers_and_admins_change_targets(scorecard: TestClient) -> None:
    body = {"target": 90}
    assert_problem(
        scorecard.put(f"{V1}/targets/participation", json=body, headers=PERFORMANCE),
        403,
        "forbidden",
    )
    assert_problem(scorecard.put(f"{V1}/targets/nope", json=body, headers=ADMIN), 404, "not-found")
    bad = scorecard.put(f"{V1}/targets/participation", json={"target": -1}, headers=ADMIN)
    assert_problem(bad, 422, "validation-error", "/target")


def test_every_route_needs_a_token_and_a_reading_role(scorecard: TestClient) -> None:
    for path in ("scorecard", "kpis/participation/children", "targets", "freshness"):
        assert_problem(scorecard.get(f"{V1}/{path}"), 401, "unauthorized")
        assert_problem(scorecard.get(f"{V1}/{path}", headers=SUPPORT), 403, "forbidden")
    assert_problem(scorecard.post("/scorecard/admin/rebuild", headers=MANAGER), 403, "forbidden")


def test_dates_outside_the_calendar_and_a_window_after_the_day_are_refused(
    scorecard: TestClient,
) -> None:
    far = scorecard.get(f"{V1}/scorecard", params={"as_at": "9999-12-31"}, headers=PERFORMANCE)
    assert_problem(far, 422, "validation-error", "/as_at/0")  # the first of the as_at list
    late_start = scorecard.get(
        f"{V1}/scorecard", params={"as_at": LATER, "from": "2017-04-01"}, headers=PERFORMANCE
    )
    assert_problem(late_start, 422, "validation-error", "/from")
    unknown = scorecard.get(f"{V1}/kpis/nope/children", headers=PERFORMANCE)
    assert_problem(unknown, 404, "not-found")


def test_the_scorecard_and_drill_downs_export_as_csv_and_xlsx_with_the_same_numbers(
    scorecard: TestClient, producer: Producer
) -> None:
    load_cohort(producer)
    csv = scorecard.get(
        f"{V1}/scorecard", params={"as_at": LATER, "format": "csv"}, headers=PERFORMANCE
    )
    assert csv.status_code == 200, csv.text
    assert csv.headers["content-disposition"] == 'attachment; filename="scorecard-2017-03-31.csv"'
    assert "reviews-api=" in csv.headers["x-facts-complete-to"]
    lines = csv.text.splitlines()
    assert lines[0].startswith("KPI,Code,2017-03-31 numerator,2017-03-31 denominator")
    assert any(",care_plan_up_to_date,1,2,50.0," in line for line in lines)
    xlsx = scorecard.get(
        f"{V1}/kpis/reviews_in_timescale/children",
        params={"as_at": LATER},
        headers={
            **PERFORMANCE,
            "Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        },
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Child id", "Case id", "Name", "Met", "Reason", "IRO"]
    assert {v[2] for v in values[1:]} == {"Ann Adams", "Ben Brown"}


def test_every_response_says_how_complete_its_facts_are(
    scorecard: TestClient, producer: Producer
) -> None:
    producer.iro(IRO_X, "Alex Morgan", 1.0, "2010-01-01")
    response = scorecard.get(f"{V1}/scorecard", params={"as_at": LATER}, headers=PERFORMANCE)
    header = response.headers["x-facts-complete-to"]
    assert header.startswith("reviews-api=") and header.endswith("Z")
    fresh = scorecard.get(f"{V1}/freshness", headers=PERFORMANCE).json()
    assert set(fresh) == {"reviews-api"}


def test_caseload_table_divides_looked_after_children_by_the_fte_in_post(
    scorecard: TestClient, producer: Producer
) -> None:
    load_cohort(producer)
    blake, left = uuid.UUID(int=0x2), uuid.UUID(int=0x3)
    producer.iro(blake, "Blake Jones", 0.5, "2016-01-01")
    producer.iro(left, "Left Before", 1.0, "2010-01-01", "2017-03-30")  # left the day before D
    producer.allocations(B, [(left, "2015-06-02", "2017-03-30"), (blake, "2017-03-31", None)])
    response = scorecard.get(f"{V1}/tables/caseload", params={"as_at": LATER}, headers=PERFORMANCE)
    assert response.status_code == 200, response.text
    table = response.json()
    assert (table["looked_after"], table["total_fte"]) == (2, 1.5)
    assert table["average_caseload"] == pytest.approx(2 / 1.5)
    # Reviews held 2016-04-01..2017-03-31: A's two, B's 2016-09-14, C's short-break review.
    assert table["reviews_held"] == 4
    assert [
        (i["name"], i["allocated"], i["caseload_per_fte"], i["within_range"]) for i in table["iros"]
    ] == [
        ("Alex Morgan", 1, 1.0, False),
        ("Blake Jones", 1, 2.0, False),
    ]
    csv = scorecard.get(
        f"{V1}/tables/caseload", params={"as_at": LATER, "format": "csv"}, headers=PERFORMANCE
    )
    assert csv.text.splitlines()[0] == "IRO,FTE,Children allocated,Caseload per FTE,Within 50-70"


def test_a_trend_gives_the_kpi_at_each_month_end_as_json_and_as_charts(
    scorecard: TestClient, producer: Producer
) -> None:
    import struct
    import xml.etree.ElementTree as ET

    load_cohort(producer)
    scorecard.put(f"{V1}/targets/care_plan_up_to_date", json={"target": 80}, headers=ADMIN)
    params = {"from": "2016-12-15", "to": LATER}
    trend = scorecard.get(
        f"{V1}/kpis/care_plan_up_to_date/trend", params=params, headers=PERFORMANCE
    )
    assert trend.status_code == 200, trend.text
    points = trend.json()["points"]
    assert [p["as_at"] for p in points] == ["2016-12-31", "2017-01-31", "2017-02-28", "2017-03-31"]
    on_day = figures(column(scorecard, "2017-01-31")[0])["care_plan_up_to_date"]
    assert (points[1]["numerator"], points[1]["denominator"], points[1]["value"]) == on_day
    assert (points[-1]["numerator"], points[-1]["denominator"]) == (1, 2)
    svg = scorecard.get(
        f"{V1}/kpis/care_plan_up_to_date/trend",
        params=params,
        headers={**PERFORMANCE, "Accept": "image/svg+xml"},
    )
    assert svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)  # noqa: S314 (our own output)
    texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "with an up to date Care Plan" in texts and "Month end" in texts
    assert any(e.get("id") == "target-line" for e in root.iter())
    png = scorecard.get(
        f"{V1}/kpis/care_plan_up_to_date/trend",
        params={**params, "format": "png"},
        headers=PERFORMANCE,
    )
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png.content[16:24]) == (800, 400)
    too_long = scorecard.get(
        f"{V1}/kpis/care_plan_up_to_date/trend",
        params={"from": "2000-01-01", "to": LATER},
        headers=PERFORMANCE,
    )
    assert_problem(too_long, 422, "validation-error", "/to")


def test_late_reviews_are_counted_by_reason_and_financial_quarter_and_tools_by_method(
    scorecard: TestClient, producer: Producer
) -> None:
    load_cohort(producer)
    # D's first review, due 2015-02-02, held at last on 2016-05-10 with no reason recorded.
    producer.review(D, "2016-05-10", "PN1", views="viewpoint")
    table = scorecard.get(f"{V1}/tables/late-reviews", params={"as_at": LATER}, headers=PERFORMANCE)
    assert table.status_code == 200, table.text
    body = table.json()
    assert body["quarters"] == ["2016/17 Q1", "2016/17 Q4"]
    by_reason = {r["reason"]: (r["by_quarter"], r["total"]) for r in body["reasons"]}
    assert by_reason["calculation_error"] == ({"2016/17 Q1": 0, "2016/17 Q4": 1}, 1)  # A's second
    assert by_reason["not_recorded"] == ({"2016/17 Q1": 1, "2016/17 Q4": 0}, 1)  # D's first
    assert by_reason["missing_report"][1] == 0
    assert body["children_by_quarter"] == {"2016/17 Q1": 1, "2016/17 Q4": 1}
    assert (body["total_reviews"], body["total_children"]) == (2, 2)
    tools = scorecard.get(f"{V1}/tables/tools", params={"as_at": LATER}, headers=PERFORMANCE)
    # Held 2016-04-01..2017-03-31: A's two, B's one, C's short-break review, D's one.
    assert {k: tools.json()[k] for k in ("reviews_held", "momo", "viewpoint")} == {
        "reviews_held": 5,
        "momo": 0,
        "viewpoint": 1,
    }
    csv = scorecard.get(
        f"{V1}/tables/late-reviews", params={"as_at": LATER, "format": "csv"}, headers=PERFORMANCE
    )
    assert csv.text.splitlines()[0] == "Reason,2016/17 Q1,2016/17 Q4,Total"


def test_financial_quarters_run_april_to_march() -> None:
    from datetime import date

    from scorecard_api.tables.reviews import financial_quarter

    assert financial_quarter(date(2016, 4, 1)) == "2016/17 Q1"
    assert financial_quarter(date(2016, 9, 30)) == "2016/17 Q2"
    assert financial_quarter(date(2016, 12, 31)) == "2016/17 Q3"
    assert financial_quarter(date(2017, 3, 31)) == "2016/17 Q4"
    assert financial_quarter(date(1999, 4, 1)) == "1999/00 Q1"


def test_escalations_come_from_drp_events_and_chart_by_theme(
    scorecard: TestClient, producer: Producer
) -> None:
    import xml.etree.ElementTree as ET

    from .conftest import dispute_state

    load_cohort(producer)
    # Raised Thursday 2016-12-15: 20 working days, over Christmas and New Year, is 2017-01-17.
    resolved = dispute_state(
        uuid.uuid4(),
        A,
        IRO_X,
        "2016-12-15",
        "2017-01-17",
        [
            ("raise", "2016-12-15", 1, "open", "2016-12-22"),
            ("resolve", "2017-01-10", 1, "resolved", None),
        ],
        ["contact", "placement"],
    )
    at_stage_4 = dispute_state(
        uuid.uuid4(),
        B,
        IRO_X,
        "2017-02-20",
        "2017-03-20",
        [
            ("raise", "2017-02-20", 1, "open", "2017-02-27"),
            ("escalate", "2017-03-01", 4, "open", "2017-03-08"),
        ],
        ["contact"],
    )
    child_protection = dispute_state(
        uuid.uuid4(),
        B,
        IRO_X,
        "2017-01-05",
        "2017-02-02",
        [("raise", "2017-01-05", 1, "open", "2017-01-12")],
        ["health"],
        category="cp",
    )
    for state in (resolved, at_stage_4, child_protection):
        producer.send("dispute.changed", state["id"], state)
    table = scorecard.get(f"{V1}/tables/escalations", params={"as_at": LATER}, headers=PERFORMANCE)
    assert table.status_code == 200, table.text
    body = table.json()
    assert (body["raised"], body["open"], body["overdue"]) == (2, 1, 1)
    assert body["by_theme"] == {"contact": 2, "placement": 1}
    assert body["by_highest_stage"] == {"1": 1, "2": 0, "3": 0, "4": 1, "5": 0}
    assert (body["resolved"], body["resolved_within_20_working_days_percent"]) == (1, 100.0)
    svg = scorecard.get(
        f"{V1}/tables/escalations", params={"as_at": LATER, "format": "svg"}, headers=PERFORMANCE
    )
    assert svg.headers["content-type"].startswith("image/svg+xml")
    texts = " ".join(t.text or "" for t in ET.fromstring(svg.content).iter() if t.text)  # noqa: S314
    assert "Disputes by theme" in texts and "Contact" in texts and "Placement" in texts
    csv = scorecard.get(
        f"{V1}/tables/escalations", params={"as_at": LATER, "format": "csv"}, headers=PERFORMANCE
    )
    assert "By theme,contact,2" in csv.text.splitlines()
