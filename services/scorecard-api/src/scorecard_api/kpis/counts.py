"""The scorecard's numerators and denominators, counted by the database in one statement.

A scorecard or a trend needs only the counts, not the children behind them, so here the
database counts them: the children looked after on D (P(D)) are worked out once, and each KPI
is a count over them. Every date rule is turned into a constant first (the day 6 months before
D, the last birthday that makes a child 16 years 3 months on D...) by the same pure functions
the formulas use, so SQLite and PostgreSQL answer alike and no date arithmetic happens in SQL.

The drill-down keeps the formulas (`scorecard_api.kpis.formulas`), which also say why each
child is in or out; `tests/test_kpi_counts.py` checks that both give the same figures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Date, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.schedule import MonthRule, add_months
from scorecard_api.kpis.formulas import Window, months_before, school_year_start

_POPULATION = """
ranked AS (
  SELECT child_id, legal_status, period_start_on,
         ROW_NUMBER() OVER (PARTITION BY child_id ORDER BY start_on DESC) AS n
  FROM episode
  WHERE start_on <= :d AND (end_on IS NULL OR end_on > :d)
),
pop AS (
  SELECT child_id, legal_status, period_start_on FROM ranked
  WHERE n = 1 AND legal_status NOT IN ('V3', 'V4')
)"""


def _held_in_time(row: str) -> str:
    """Held by D, on or before its due date."""
    return f"{row}.held_on IS NOT NULL AND {row}.held_on <= :d AND {row}.held_on <= {row}.due_by"


def _has_plan(kind: str, since: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM plan_date pd WHERE pd.child_id = x.child_id "  # noqa: S608
        f"AND pd.kind = '{kind}' AND pd.dated_on >= {since} AND pd.dated_on <= :d)"
    )


@dataclass(frozen=True)
class _Count:
    """A KPI as SQL: common table expressions it needs, and its numerator and denominator
    as counts over a relation `x`."""

    ctes: tuple[str, ...]
    over: str  # the relation counted (one row per member of the denominator)
    met: str  # the condition on `x` for the numerator
    percentage: bool = True


_KPIS: dict[str, _Count] = {
    "reviews_in_timescale": _Count(
        (
            f"rit AS (SELECT r.child_id, MIN(CASE WHEN {_held_in_time('r')} THEN 1 ELSE 0 END)"  # noqa: S608
            " AS ok FROM pop p JOIN review_due r ON r.child_id = p.child_id"
            " AND r.period_start_on = p.period_start_on"
            " WHERE r.due_by >= :s AND r.due_by <= :d GROUP BY r.child_id)",
        ),
        "rit",
        "x.ok = 1",
    ),
    "reviews_in_timescale_by_review": _Count(
        (
            "rbr AS (SELECT held_on, due_by FROM review_due WHERE due_by >= :s AND due_by <= :d"
            " AND status_on_due IS NOT NULL AND status_on_due NOT IN ('V3', 'V4'))",
        ),
        "rbr",
        _held_in_time("x"),
    ),
    "participation": _Count(
        (
            "lr AS (SELECT rv.participation_code AS code, ROW_NUMBER() OVER ("
            "PARTITION BY rv.child_id ORDER BY rv.held_on DESC, rv.id DESC) AS n"
            " FROM pop p JOIN review rv ON rv.child_id = p.child_id"
            " WHERE rv.held_on >= p.period_start_on AND rv.held_on <= :d)",
            "lr1 AS (SELECT code FROM lr WHERE n = 1"
            " AND code IN ('PN1', 'PN2', 'PN3', 'PN4', 'PN5', 'PN6', 'PN7'))",
        ),
        "lr1",
        "x.code <> 'PN7'",
    ),
    "care_plan_up_to_date": _Count((), "pop", _has_plan("care_plan_updated", ":cut6")),
    "pep_up_to_date": _Count(
        (
            "pep AS (SELECT p.child_id FROM pop p JOIN child c ON c.id = p.child_id"
            " WHERE c.date_of_birth > :pep_born_after AND c.date_of_birth <= :pep_born_by)",
        ),
        "pep",
        _has_plan("pep_reviewed", ":cut6"),
    ),
    "section_20": _Count((), "pop", "x.legal_status = 'V2'"),
    "pre_review_visits": _Count(
        (
            "prc AS (SELECT v.child_id FROM visit v JOIN child c ON c.id = v.child_id"
            " WHERE v.kind = 'pre_review' AND v.visited_on >= :s AND v.visited_on <= :d)",
        ),
        "prc",
        "1 = 1",
        percentage=False,
    ),
    "pre_review_visit_in_time": _Count(
        (
            "prv AS (SELECT child_id, ordinal, anchor_on, visit_by FROM review_due"
            " WHERE held_on >= :s AND held_on <= :d"
            " AND (status_on_due IS NULL OR status_on_due NOT IN ('V3', 'V4')))",
        ),
        "prv",
        "EXISTS (SELECT 1 FROM visit v WHERE v.child_id = x.child_id AND v.kind = 'pre_review'"
        " AND v.visited_on <= x.visit_by AND (v.visited_on > x.anchor_on"
        " OR (x.ordinal = 0 AND v.visited_on = x.anchor_on)))",
    ),
    "midway_reviews": _Count(
        (
            "mw AS (SELECT r.child_id, r.anchor_on FROM pop p JOIN review_due r"
            " ON r.child_id = p.child_id AND r.period_start_on = p.period_start_on"
            " WHERE r.ordinal > 0 AND r.anchor_on <= :d AND (r.held_on IS NULL OR r.held_on > :d)"
            " AND r.midpoint_on <= :d)",
        ),
        "mw",
        "EXISTS (SELECT 1 FROM visit v WHERE v.child_id = x.child_id AND v.kind = 'midway'"
        " AND v.visited_on > x.anchor_on AND v.visited_on <= :d)",
    ),
    "health_assessment_up_to_date": _Count(
        (
            "ha AS (SELECT p.child_id, c.date_of_birth FROM pop p"
            " JOIN child c ON c.id = p.child_id JOIN review_due r ON r.child_id = p.child_id"
            " AND r.period_start_on = p.period_start_on AND r.ordinal = 0 WHERE r.due_by <= :d)",
        ),
        "ha",
        _has_plan(
            "health_assessment_completed",
            "(CASE WHEN x.date_of_birth > :under_5_born_after THEN :cut6 ELSE :cut12 END)",
        ),
    ),
    "pathway_plan_up_to_date": _Count(
        (
            "pw AS (SELECT p.child_id FROM pop p JOIN child c ON c.id = p.child_id"
            " WHERE c.date_of_birth <= :pathway_born_by)",
        ),
        "pw",
        _has_plan("pathway_plan_updated", ":cut6"),
    ),
}

CODES = tuple(_KPIS)


def _last_born_on(as_at: date, months: int) -> date:
    """The latest date of birth that makes a child `months` old (calendar months) by D."""
    born = add_months(as_at, -months, MonthRule.calendar)
    while add_months(born + timedelta(days=1), months, MonthRule.calendar) <= as_at:
        born += timedelta(days=1)
    return born


def _constants(window: Window) -> dict[str, date]:
    d = window.end
    september = school_year_start(d)
    return {
        "d": d,
        "s": window.start,
        "cut6": months_before(d, 6),
        "cut12": months_before(d, 12),
        # Aged 5 to 15 on the 1 September on or before D.
        "pep_born_after": date(september.year - 16, 9, 1),
        "pep_born_by": date(september.year - 5, 9, 1),
        # Under 5 on D: born after the day 5 years before D.
        "under_5_born_after": months_before(d, 60),
        # 16 years 3 months or more on D.
        "pathway_born_by": _last_born_on(d, 16 * 12 + 3),
    }


@dataclass(frozen=True, slots=True)
class Count:
    numerator: int
    denominator: int | None  # None for a count

    @property
    def value(self) -> float | None:
        if self.denominator is None:
            return float(self.numerator)
        return self.numerator / self.denominator * 100 if self.denominator else None


def _statement(codes: Sequence[str]) -> str:
    ctes = [_POPULATION.strip()]
    columns = []
    for code in codes:
        kpi = _KPIS[code]
        ctes.extend(c for c in kpi.ctes if c not in ctes)
        # Only this module's own SQL fragments are put together; every value is a bind parameter.
        columns.append(f"(SELECT count(*) FROM {kpi.over} x WHERE {kpi.met}) AS {code}_n")  # noqa: S608
        columns.append(f"(SELECT count(*) FROM {kpi.over} x) AS {code}_d")  # noqa: S608
    return "WITH " + ",\n".join(ctes) + "\nSELECT " + ",\n".join(columns)


async def counts(
    session: AsyncSession, window: Window, codes: Sequence[str] = CODES
) -> dict[str, Count]:
    """Every KPI in `codes` as at the window's end, in one statement."""
    sql = _statement(codes)
    used = {
        name: value for name, value in _constants(window).items() if re.search(f":{name}\\b", sql)
    }
    statement = text(sql).bindparams(
        *(bindparam(name, value, type_=Date) for name, value in used.items())
    )
    row = (await session.execute(statement)).one()._mapping
    return {
        code: Count(
            int(row[f"{code}_n"]),
            int(row[f"{code}_d"]) if _KPIS[code].percentage else None,
        )
        for code in codes
    }
