"""The KPI formulas of KPIS.md, on hand-made values: exact numerators, denominators and reasons."""

import uuid
from datetime import date, timedelta

import pytest

from iro_kit.calendar import WorkingDayCalendar
from scorecard_api.kpis.definitions import BY_CODE, Direction, Rag, rag
from scorecard_api.kpis.formulas import (
    AgedPlan,
    DueFact,
    Figure,
    HealthFacts,
    HeldReview,
    MidwayFacts,
    Visit,
    VisitedReview,
    Window,
    care_plan_up_to_date,
    default_window,
    health_assessment_up_to_date,
    midpoint,
    midway_reviews,
    months_before,
    participation,
    pathway_plan_up_to_date,
    pep_up_to_date,
    pre_review_visit_in_time,
    pre_review_visits,
    reviews_in_timescale,
    reviews_in_timescale_by_review,
    school_year_start,
    section_20,
)

CAL = WorkingDayCalendar()
D = date(2017, 3, 31)
WINDOW = Window(date(2016, 4, 1), D)
A, B, C, E = (uuid.UUID(int=n) for n in range(1, 5))


def _one_day(day: date, n: int = 1) -> date:
    return day + timedelta(days=n)


# --- windows and dates ----------------------------------------------------------------------


def test_default_window_is_the_financial_year_ending_31_march():
    assert default_window(date(2017, 3, 31)) == Window(date(2016, 4, 1), date(2017, 3, 31))


def test_default_window_of_a_leap_day_starts_the_day_after_the_clamped_month_end():
    # 2016-02-29 - 12 calendar months = 2015-02-28 (no 29 Feb), + 1 day.
    assert default_window(date(2016, 2, 29)) == Window(date(2015, 3, 1), date(2016, 2, 29))


def test_window_contains_its_start_and_end_days_only():
    assert WINDOW.start in WINDOW and WINDOW.end in WINDOW
    assert _one_day(WINDOW.start, -1) not in WINDOW
    assert _one_day(WINDOW.end) not in WINDOW


def test_months_before_clamps_to_the_month_end():
    assert months_before(date(2017, 8, 31), 6) == date(2017, 2, 28)
    assert months_before(date(2016, 8, 31), 6) == date(2016, 2, 29)
    assert months_before(date(2017, 3, 31), 6) == date(2016, 9, 30)


def test_figure_value_is_none_when_the_denominator_is_zero():
    assert Figure(0, 0, ()).value is None


def test_figure_value_is_unrounded_percentage():
    assert Figure(1, 3, ()).value == 1 / 3 * 100
    assert round(Figure(2, 3, ()).value, 4) == 66.6667


# --- reviews_in_timescale -------------------------------------------------------------------


def test_a_review_due_on_d_and_held_on_d_is_in_timescale():
    figure = reviews_in_timescale({A: [DueFact(D, D)]}, WINDOW, CAL)
    assert (figure.numerator, figure.denominator, figure.value) == (1, 1, 100.0)
    (outcome,) = figure.outcomes
    assert outcome.met and outcome.child_id == A
    assert "2017-03-31" in outcome.reason and "in timescale" in outcome.reason


def test_a_review_due_in_the_window_and_not_held_by_d_fails():
    due = date(2017, 3, 1)
    figure = reviews_in_timescale({A: [DueFact(due, None)]}, WINDOW, CAL)
    assert (figure.numerator, figure.denominator) == (0, 1)
    (outcome,) = figure.outcomes
    assert not outcome.met
    over = CAL.working_days_between(due, D)
    assert over == 22
    assert outcome.reason == "review due 2017-03-01, not held by 2017-03-31 (22 working days over)"
    assert outcome.dates == {"due_by": due, "held_on": None}


def test_a_review_held_late_says_how_many_working_days_late():
    figure = reviews_in_timescale({A: [DueFact(date(2017, 3, 1), date(2017, 3, 3))]}, WINDOW, CAL)
    (outcome,) = figure.outcomes
    assert not outcome.met
    assert outcome.reason == "review due 2017-03-01, held 2017-03-03, 2 working days late"


def test_a_review_due_before_the_window_start_is_not_counted():
    figure = reviews_in_timescale({A: [DueFact(date(2016, 3, 31), None)]}, WINDOW, CAL)
    assert (figure.numerator, figure.denominator, figure.value) == (0, 0, None)
    assert figure.outcomes == ()


def test_a_review_due_on_the_window_start_is_counted():
    figure = reviews_in_timescale({A: [DueFact(WINDOW.start, WINDOW.start)]}, WINDOW, CAL)
    assert (figure.numerator, figure.denominator) == (1, 1)


def test_a_review_held_after_d_counts_as_not_held_as_at_d():
    figure = reviews_in_timescale({A: [DueFact(date(2017, 3, 20), date(2017, 4, 5))]}, WINDOW, CAL)
    assert (figure.numerator, figure.denominator) == (0, 1)
    (outcome,) = figure.outcomes
    assert not outcome.met
    assert "not held by 2017-03-31" in outcome.reason
    assert outcome.dates["held_on"] is None


def test_a_child_fails_when_any_review_due_in_the_window_was_late():
    dues = [DueFact(date(2016, 6, 1), date(2016, 5, 30)), DueFact(date(2016, 12, 1), None)]
    figure = reviews_in_timescale({A: dues, B: [DueFact(D, date(2017, 3, 30))]}, WINDOW, CAL)
    assert (figure.numerator, figure.denominator) == (1, 2)
    by_child = {o.child_id: o for o in figure.outcomes}
    assert not by_child[A].met and "2016-12-01" in by_child[A].reason
    assert by_child[B].met


def test_a_child_with_every_due_in_time_is_met_with_the_count_in_the_reason():
    dues = [
        DueFact(date(2016, 6, 1), date(2016, 5, 30)),
        DueFact(date(2016, 11, 29), date(2016, 11, 29)),
    ]
    figure = reviews_in_timescale({A: dues}, WINDOW, CAL)
    (outcome,) = figure.outcomes
    assert outcome.met
    assert outcome.reason.startswith("all 2 reviews due in the window held in timescale")


# --- reviews_in_timescale_by_review ---------------------------------------------------------


def test_by_review_excludes_dues_on_short_breaks_or_not_looked_after():
    dues = [
        DueFact(date(2016, 6, 1), date(2016, 6, 1), A, status_on_due="C2"),
        DueFact(date(2016, 7, 1), None, A, status_on_due="V2"),
        DueFact(date(2016, 8, 1), None, B, status_on_due="V3"),
        DueFact(date(2016, 9, 1), None, B, status_on_due="V4"),
        DueFact(date(2016, 10, 1), None, C, status_on_due=None),
        DueFact(date(2016, 3, 1), None, C, status_on_due="C2"),  # before the window
    ]
    figure = reviews_in_timescale_by_review(dues, WINDOW, CAL)
    assert (figure.numerator, figure.denominator, figure.value) == (1, 2, 50.0)
    assert [o.dates["due_by"] for o in figure.outcomes] == [date(2016, 6, 1), date(2016, 7, 1)]
    assert [o.met for o in figure.outcomes] == [True, False]


def test_by_review_a_v3_due_alone_gives_no_value():
    figure = reviews_in_timescale_by_review([DueFact(D, D, A, status_on_due="V3")], WINDOW, CAL)
    assert (figure.numerator, figure.denominator, figure.value) == (0, 0, None)


# --- participation --------------------------------------------------------------------------


def test_pn0_for_a_child_turning_4_on_d_is_excluded_from_the_denominator():
    figure = participation({A: HeldReview(D, "PN0")}, D)
    assert (figure.numerator, figure.denominator, figure.value) == (0, 0, None)


def test_pn7_for_a_child_turning_4_on_d_counts_but_did_not_participate():
    figure = participation({A: HeldReview(D, "PN7")}, D)
    assert (figure.numerator, figure.denominator) == (0, 1)
    (outcome,) = figure.outcomes
    assert not outcome.met
    assert outcome.reason == "most recent review held 2017-03-31: PN7, did not participate"


@pytest.mark.parametrize("code", ["PN1", "PN2", "PN3", "PN4", "PN5", "PN6"])
def test_pn1_to_pn6_participated(code):
    figure = participation({A: HeldReview(D, code)}, D)
    assert (figure.numerator, figure.denominator) == (1, 1)
    assert figure.outcomes[0].reason == f"most recent review held 2017-03-31: {code}, participated"


def test_participation_skips_children_without_a_coded_review_by_d():
    latest = {
        A: None,
        B: HeldReview(D, None),
        C: HeldReview(_one_day(D), "PN1"),
        E: HeldReview(D, "PN2"),
    }
    figure = participation(latest, D)
    assert (figure.numerator, figure.denominator) == (1, 1)
    assert figure.outcomes[0].child_id == E


# --- plans ----------------------------------------------------------------------------------


def test_a_care_plan_dated_exactly_6_months_before_d_is_up_to_date():
    figure = care_plan_up_to_date({A: date(2016, 9, 30)}, D)
    assert (figure.numerator, figure.denominator) == (1, 1)
    assert "up to date" in figure.outcomes[0].reason
    assert figure.outcomes[0].dates["up_to_date_from"] == date(2016, 9, 30)


def test_a_care_plan_dated_one_day_earlier_is_out_of_date():
    figure = care_plan_up_to_date({A: date(2016, 9, 29)}, D)
    assert (figure.numerator, figure.denominator) == (0, 1)
    assert figure.outcomes[0].reason == (
        "latest care plan 2016-09-29: out of date (within 6 months of 2017-03-31)"
    )


def test_a_care_plan_on_31_august_clamps_to_the_end_of_february():
    as_at = date(2017, 8, 31)
    figure = care_plan_up_to_date({A: date(2017, 2, 28), B: date(2017, 2, 27)}, as_at)
    assert [o.met for o in figure.outcomes] == [True, False]
    leap = care_plan_up_to_date({A: date(2016, 2, 29), B: date(2016, 2, 28)}, date(2016, 8, 31))
    assert [o.met for o in leap.outcomes] == [True, False]


def test_no_care_plan_is_not_up_to_date():
    figure = care_plan_up_to_date({A: None}, D)
    assert (figure.numerator, figure.denominator) == (0, 1)
    assert figure.outcomes[0].reason == "no care plan dated on or before 2017-03-31"


def test_school_year_start_is_the_1_september_on_or_before_d():
    assert school_year_start(date(2017, 3, 31)) == date(2016, 9, 1)
    assert school_year_start(date(2016, 9, 1)) == date(2016, 9, 1)
    assert school_year_start(date(2016, 8, 31)) == date(2015, 9, 1)


def test_pep_child_aged_5_on_1_september_counts_and_aged_4_then_does_not():
    plan = date(2017, 1, 1)
    children = {
        A: AgedPlan(date(2011, 9, 1), plan),  # 5 on 2016-09-01
        B: AgedPlan(date(2011, 9, 2), plan),  # 4 on 2016-09-01, 5 by D
    }
    figure = pep_up_to_date(children, D)
    assert (figure.numerator, figure.denominator) == (1, 1)
    assert figure.outcomes[0].child_id == A


def test_pep_child_aged_15_on_1_september_counts_and_aged_16_does_not():
    plan = date(2017, 1, 1)
    children = {
        A: AgedPlan(date(2001, 9, 1), plan),  # 15 on 2016-09-01
        B: AgedPlan(date(2000, 9, 2), None),  # 15 on 2016-09-01 (16 the day after)
        C: AgedPlan(date(2000, 9, 1), plan),  # 16 on 2016-09-01
    }
    figure = pep_up_to_date(children, D)
    assert (figure.numerator, figure.denominator) == (1, 2)
    assert {o.child_id: o.met for o in figure.outcomes} == {A: True, B: False}


def test_pep_on_1_september_itself_uses_that_day():
    child = {A: AgedPlan(date(2011, 9, 1), date(2016, 8, 1))}
    on_the_day = pep_up_to_date(child, date(2016, 9, 1))
    assert (on_the_day.numerator, on_the_day.denominator) == (1, 1)
    day_before = pep_up_to_date(child, date(2016, 8, 31))  # 4 on 2015-09-01
    assert day_before.denominator == 0


def test_health_assessment_for_a_child_under_5_uses_6_months():
    dob = date(2012, 4, 1)  # 4 on D, 5 the next day
    children = {
        A: HealthFacts(dob, date(2016, 1, 1), date(2016, 9, 30)),
        B: HealthFacts(dob, date(2016, 1, 1), date(2016, 9, 29)),
    }
    figure = health_assessment_up_to_date(children, D)
    assert [o.met for o in figure.outcomes] == [True, False]
    assert "within 6 months" in figure.outcomes[1].reason


def test_health_assessment_for_a_child_turning_5_on_d_uses_12_months():
    dob = date(2012, 3, 31)
    children = {
        A: HealthFacts(dob, date(2016, 1, 1), date(2016, 3, 31)),
        B: HealthFacts(dob, date(2016, 1, 1), date(2016, 3, 30)),
    }
    figure = health_assessment_up_to_date(children, D)
    assert (figure.numerator, figure.denominator) == (1, 2)
    assert [o.met for o in figure.outcomes] == [True, False]
    assert "within 12 months" in figure.outcomes[0].reason


def test_health_assessment_leaves_out_children_whose_first_review_is_not_due_by_d():
    children = {
        A: HealthFacts(date(2010, 1, 1), _one_day(D), None),
        B: HealthFacts(date(2010, 1, 1), None, None),
        C: HealthFacts(date(2010, 1, 1), D, None),
    }
    figure = health_assessment_up_to_date(children, D)
    assert (figure.numerator, figure.denominator) == (0, 1)
    assert figure.outcomes[0].child_id == C


def test_pathway_plan_applies_from_exactly_16_years_3_months_on_d():
    child = {A: AgedPlan(date(2000, 12, 31), date(2017, 1, 1))}  # 16y3m on 2017-03-31
    on_the_day = pathway_plan_up_to_date(child, D)
    assert (on_the_day.numerator, on_the_day.denominator) == (1, 1)
    day_before = pathway_plan_up_to_date(child, _one_day(D, -1))
    assert day_before.denominator == 0
    born_a_day_later = pathway_plan_up_to_date({A: AgedPlan(date(2001, 1, 1), None)}, D)
    assert born_a_day_later.denominator == 0


# --- section 20 -----------------------------------------------------------------------------


def test_section_20_is_the_share_accommodated_under_v2():
    figure = section_20({A: "V2", B: "C2", C: "V2", E: "E1"})
    assert (figure.numerator, figure.denominator, figure.value) == (2, 4, 50.0)
    assert {o.child_id: o.met for o in figure.outcomes} == {A: True, B: False, C: True, E: False}
    assert figure.outcomes[0].reason == "legal status on the day: V2"


def test_section_20_is_lower_is_better():
    assert BY_CODE["section_20"].direction is Direction.lower
    assert BY_CODE["reviews_in_timescale"].direction is Direction.higher


# --- visits ---------------------------------------------------------------------------------


def test_pre_review_visits_is_a_count_of_visits_in_the_window():
    visits = [
        Visit(A, _one_day(WINDOW.start, -1)),
        Visit(A, WINDOW.start),
        Visit(B, D),
        Visit(B, _one_day(D)),
    ]
    figure = pre_review_visits(visits, WINDOW)
    assert (figure.numerator, figure.denominator, figure.value) == (2, None, 2.0)
    assert [o.dates["on"] for o in figure.outcomes] == [WINDOW.start, D]
    assert BY_CODE["pre_review_visits"].percentage is False


REVIEW_AFTER_EASTER = date(2017, 4, 20)  # Good Friday 14 Apr, Easter Monday 17 Apr 2017
EASTER_WINDOW = Window(date(2016, 5, 1), date(2017, 4, 30))


def test_visit_deadline_around_easter_is_counted_in_working_days():
    assert CAL.subtract_working_days(REVIEW_AFTER_EASTER, 5) == date(2017, 4, 11)
    assert CAL.subtract_working_days(REVIEW_AFTER_EASTER, 4) == date(2017, 4, 12)


def test_a_visit_exactly_5_working_days_before_the_review_counts():
    visit = CAL.subtract_working_days(REVIEW_AFTER_EASTER, 5)
    review = VisitedReview(A, None, REVIEW_AFTER_EASTER, date(2017, 1, 10), False, (visit,))
    figure = pre_review_visit_in_time([review], EASTER_WINDOW, CAL)
    assert (figure.numerator, figure.denominator) == (1, 1)
    assert figure.outcomes[0].reason == (
        "review held 2017-04-20, visited 2017-04-11 (by 2017-04-11)"
    )


def test_a_visit_4_working_days_before_the_review_does_not_count():
    visit = CAL.subtract_working_days(REVIEW_AFTER_EASTER, 4)
    review = VisitedReview(A, None, REVIEW_AFTER_EASTER, date(2017, 1, 10), False, (visit,))
    figure = pre_review_visit_in_time([review], EASTER_WINDOW, CAL)
    assert (figure.numerator, figure.denominator) == (0, 1)
    assert figure.outcomes[0].reason == (
        "review held 2017-04-20: visited 2017-04-12, too late (needed by 2017-04-11)"
    )


def test_a_visit_on_the_period_start_day_counts_for_a_first_review():
    start = date(2017, 4, 3)
    review = VisitedReview(A, None, date(2017, 5, 4), start, True, (start,))
    figure = pre_review_visit_in_time([review], Window(start, date(2017, 5, 31)), CAL)
    assert (figure.numerator, figure.denominator) == (1, 1)


def test_a_visit_on_the_previous_review_day_does_not_count_for_a_later_review():
    previous = date(2017, 1, 10)
    review = VisitedReview(A, None, REVIEW_AFTER_EASTER, previous, False, (previous,))
    figure = pre_review_visit_in_time([review], EASTER_WINDOW, CAL)
    assert (figure.numerator, figure.denominator) == (0, 1)
    assert "no visit since the last review" in figure.outcomes[0].reason


def test_pre_review_visit_in_time_counts_only_reviews_held_in_the_window():
    visit = (date(2016, 1, 4),)
    reviews = [
        VisitedReview(A, None, date(2016, 3, 31), date(2016, 1, 1), True, visit),
        VisitedReview(A, None, date(2017, 4, 3), date(2017, 3, 1), False, ()),
    ]
    figure = pre_review_visit_in_time(reviews, WINDOW, CAL)
    assert (figure.numerator, figure.denominator, figure.value) == (0, 0, None)


# --- midway reviews -------------------------------------------------------------------------


def test_midpoint_is_half_the_interval_rounded_down():
    last = date(2017, 1, 10)
    assert midpoint(last, last + timedelta(days=91)) == last + timedelta(days=45)
    assert midpoint(last, last + timedelta(days=183)) == last + timedelta(days=91)


def test_a_child_whose_midpoint_is_after_d_is_not_in_the_denominator():
    last = date(2017, 3, 1)
    children = {A: MidwayFacts(last, last + timedelta(days=91), ())}  # midpoint 2017-04-15
    figure = midway_reviews(children, D)
    assert (figure.numerator, figure.denominator, figure.value) == (0, 0, None)


def test_a_child_whose_midpoint_is_d_is_in_the_denominator():
    last = D - timedelta(days=45)
    figure = midway_reviews({A: MidwayFacts(last, last + timedelta(days=91), ())}, D)
    assert (figure.numerator, figure.denominator) == (0, 1)
    assert figure.outcomes[0].dates["midpoint"] == D


def test_a_midway_visit_on_the_last_review_day_does_not_count_and_the_day_after_does():
    last = date(2016, 12, 1)
    due = last + timedelta(days=91)
    children = {
        A: MidwayFacts(last, due, (last,)),
        B: MidwayFacts(last, due, (_one_day(last),)),
        C: MidwayFacts(last, due, (_one_day(D),)),  # after D
    }
    figure = midway_reviews(children, D)
    assert (figure.numerator, figure.denominator) == (1, 3)
    assert {o.child_id: o.met for o in figure.outcomes} == {A: False, B: True, C: False}
    by_child = {o.child_id: o for o in figure.outcomes}
    assert by_child[A].reason == (
        "no midway review since the review of 2016-12-01 (midpoint 2017-01-15)"
    )
    assert by_child[B].reason == "midway review 2016-12-02 (midpoint 2017-01-15)"


def test_midway_skips_children_without_a_review_or_next_due():
    children = {A: MidwayFacts(None, None, ()), B: MidwayFacts(date(2016, 12, 1), None, ())}
    assert midway_reviews(children, D).denominator == 0


# --- rag ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(80.0, Rag.green), (95.0, Rag.green), (76.0, Rag.amber), (75.0, Rag.amber), (74.9, Rag.red)],
)
def test_rag_higher_is_better(value, expected):
    assert rag(value, 80.0, Direction.higher, 5.0) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(10.0, Rag.green), (2.0, Rag.green), (14.0, Rag.amber), (15.0, Rag.amber), (15.1, Rag.red)],
)
def test_rag_lower_is_better(value, expected):
    assert rag(value, 10.0, Direction.lower, 5.0) is expected


def test_rag_is_none_without_a_target_or_a_value():
    assert rag(None, 80.0, Direction.higher, 5.0) is None
    assert rag(80.0, None, Direction.higher, 5.0) is None
