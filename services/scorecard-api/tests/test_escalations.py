"""Table 4 (case escalations) as at a day, from each dispute's history: pure cases."""

from __future__ import annotations

import uuid
from datetime import date

from scorecard_api.kpis.formulas import Window
from scorecard_api.tables.escalations import Action, DisputeFacts, escalations_table

WINDOW = Window(date(2016, 4, 1), date(2017, 3, 31))
D = WINDOW.end


def dispute(raised: str, *actions: tuple[str, int, str, str | None], themes=("contact",)):
    """`actions`: (happened_on, stage, status, stage_due_by), the raise first."""
    history = tuple(
        Action(
            date.fromisoformat(on), version, stage, status, date.fromisoformat(due) if due else None
        )
        for version, (on, stage, status, due) in enumerate(actions, start=1)
    )
    raised_on = date.fromisoformat(raised)
    # 20 working days after raising; tests pick dates well either side of it.
    return DisputeFacts(
        uuid.uuid4(),
        tuple(themes),
        raised_on,
        date.fromordinal(raised_on.toordinal() + 28),
        history,
    )


def test_a_dispute_with_two_themes_counts_once_in_each() -> None:
    table = escalations_table(
        WINDOW,
        [
            dispute(
                "2016-06-01",
                ("2016-06-01", 1, "open", "2016-06-08"),
                themes=("contact", "placement"),
            ),
            dispute("2016-07-01", ("2016-07-01", 1, "open", "2016-07-08"), themes=("contact",)),
        ],
    )
    assert table.raised == 2
    assert table.by_theme == {"contact": 2, "placement": 1}


def test_a_dispute_still_open_at_stage_4_on_d_is_open_and_overdue_after_its_stage_due_date() -> (
    None
):
    open_at_4 = dispute(
        "2017-02-01",
        ("2017-02-01", 1, "open", "2017-02-08"),
        ("2017-02-09", 2, "open", "2017-02-16"),
        ("2017-03-01", 4, "open", "2017-03-08"),  # skipped stage 3
    )
    table = escalations_table(WINDOW, [open_at_4])
    assert (table.open, table.overdue) == (1, 1)
    assert table.by_highest_stage == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    on_time = escalations_table(Window(WINDOW.start, date(2017, 3, 8)), [open_at_4])
    assert (on_time.open, on_time.overdue) == (1, 0)  # due on the day itself: not yet overdue


def test_the_state_on_d_is_the_last_action_dated_on_or_before_d() -> None:
    resolved_later = dispute(
        "2017-03-20", ("2017-03-20", 1, "open", "2017-03-27"), ("2017-04-03", 1, "resolved", None)
    )
    table = escalations_table(WINDOW, [resolved_later])
    assert (table.open, table.resolved) == (1, 0)
    after = escalations_table(Window(WINDOW.start, date(2017, 4, 3)), [resolved_later])
    assert (after.open, after.resolved, after.resolved_within_20_working_days) == (0, 1, 1)


def test_resolved_within_20_working_days_is_a_share_of_those_resolved() -> None:
    quick = dispute(
        "2016-05-02", ("2016-05-02", 1, "open", "2016-05-09"), ("2016-05-10", 1, "resolved", None)
    )
    slow = dispute(
        "2016-05-02",
        ("2016-05-02", 1, "open", "2016-05-09"),
        ("2016-05-10", 2, "open", "2016-05-17"),
        ("2016-07-01", 2, "resolved", None),
    )
    withdrawn = dispute(
        "2016-05-02", ("2016-05-02", 1, "open", None), ("2016-05-03", 1, "withdrawn", None)
    )
    table = escalations_table(WINDOW, [quick, slow, withdrawn])
    assert (table.resolved, table.resolved_within_20_working_days) == (2, 1)
    assert table.resolved_within_20_working_days_percent == 50.0
    assert table.open == 0


def test_a_referral_to_cafcass_is_closed_and_reaches_stage_5() -> None:
    referred = dispute(
        "2016-09-01",
        ("2016-09-01", 1, "open", "2016-09-08"),
        ("2016-09-05", 5, "referred_to_cafcass", None),
    )
    table = escalations_table(WINDOW, [referred])
    assert (table.open, table.overdue, table.by_highest_stage["5"]) == (0, 0, 1)
    assert table.resolved_within_20_working_days_percent is None


def test_a_dispute_raised_before_the_window_is_open_on_d_but_not_counted_as_raised() -> None:
    old = dispute("2015-12-01", ("2015-12-01", 3, "open", "2015-12-08"))
    reopened = dispute(
        "2016-10-03",
        ("2016-10-03", 1, "open", "2016-10-10"),
        ("2016-10-05", 1, "resolved", None),
        ("2016-10-20", 1, "open", "2016-10-27"),  # reopened: open again on D
    )
    table = escalations_table(WINDOW, [old, reopened])
    assert (table.raised, table.open, table.overdue, table.resolved) == (1, 2, 2, 0)
