"""Every result as a table (for CSV, XLSX and the printable annual report), and the theme chart."""

from __future__ import annotations

from typing import Any

from iro_kit.exports import Column, Table
from scorecard_api import charts
from scorecard_api.scorecard.schemas import DrillDownRow, Scorecard, Target
from scorecard_api.tables.caseload import CaseloadTable
from scorecard_api.tables.escalations import EscalationsTable
from scorecard_api.tables.reviews import LateReviewsTable, ToolsTable


def scorecard_sheet(card: Scorecard) -> Table:
    columns = [Column("KPI", lambda r: r["title"], 60), Column("Code", lambda r: r["code"], 28)]
    rows: dict[str, dict[str, Any]] = {}
    for index, column in enumerate(card.columns):
        label = f"{column.as_at.isoformat()}"
        for kpi in column.kpis:
            row = rows.setdefault(kpi.code, {"code": kpi.code, "title": kpi.title})
            row[index] = kpi
        columns += [
            Column(f"{label} numerator", lambda r, i=index: r[i].numerator),
            Column(f"{label} denominator", lambda r, i=index: r[i].denominator),
            Column(f"{label} value", lambda r, i=index: r[i].value),
            Column(f"{label} target", lambda r, i=index: r[i].target),
            Column(f"{label} RAG", lambda r, i=index: r[i].rag.value if r[i].rag else None),
            Column(f"{label} change", lambda r, i=index: r[i].change),
        ]
    return Table("Scorecard", columns, list(rows.values()))


_DRILL_COLUMNS = [
    Column("Child id", lambda r: str(r.child_id), 38),
    Column("Case id", lambda r: r.external_id),
    Column("Name", lambda r: r.name, 24),
    Column("Met", lambda r: r.met, 8),
    Column("Reason", lambda r: r.reason, 70),
    Column("IRO", lambda r: r.iro.name if r.iro else None, 22),
]


def drill_down_sheet(title: str, rows: list[DrillDownRow]) -> Table:
    return Table(title[:31], _DRILL_COLUMNS, rows)


_CASELOAD_COLUMNS = [
    Column("IRO", lambda r: r.name, 24),
    Column("FTE", lambda r: r.fte, 8),
    Column("Children allocated", lambda r: r.allocated),
    Column("Caseload per FTE", lambda r: r.caseload_per_fte),
    Column("Within 50-70", lambda r: r.within_range),
]

_TOOLS_COLUMNS = [
    Column("Reviews held", lambda t: t.reviews_held),
    Column("MOMO", lambda t: t.momo),
    Column("Viewpoint", lambda t: t.viewpoint),
]


def caseload_sheet(table: CaseloadTable) -> Table:
    return Table("Caseload", _CASELOAD_COLUMNS, table.iros)


LATE_REASON_LABELS = {  # DOMAIN.md's words for the reasons a review was out of timescale
    "late_notification": "Late notification",
    "calculation_error": "Calculation error",
    "missing_report": "Missing report",
    "non_attendance_significant_person": "Non-attendance by a significant person",
    "non_attendance_social_worker": "Non-attendance by the social worker",
    "series_of_meetings": "Series of meetings",
    "other": "Other",
    "not_recorded": "Not recorded",
}


def late_reviews_sheet(table: LateReviewsTable) -> Table:
    columns = (
        [Column("Reason", lambda r: LATE_REASON_LABELS.get(r.reason, r.reason), 36)]
        + [Column(q, lambda r, q=q: r.by_quarter[q]) for q in table.quarters]
        + [Column("Total", lambda r: r.total)]
    )
    return Table("Late reviews", columns, table.reasons)


def tools_sheet(table: ToolsTable) -> Table:
    return Table("Use of tools", _TOOLS_COLUMNS, [table])


def _escalation_rows(table: EscalationsTable) -> list[tuple[str, str, float | int | None]]:
    return [
        ("Raised in the window", "", table.raised),
        *(("By theme", theme, n) for theme, n in table.by_theme.items()),
        *(("By highest stage reached", stage, n) for stage, n in table.by_highest_stage.items()),
        ("Open on the day", "", table.open),
        ("Overdue on the day", "", table.overdue),
        ("Resolved", "", table.resolved),
        ("Resolved within 20 working days", "", table.resolved_within_20_working_days),
        ("% resolved within 20 working days", "", table.resolved_within_20_working_days_percent),
    ]


_ESCALATION_COLUMNS = [
    Column("Measure", lambda r: r[0], 34),
    Column("Of", lambda r: r[1], 28),
    Column("Value", lambda r: r[2]),
]


def theme_label(code: str) -> str:
    return code.replace("_", " ").capitalize()


def themes_chart(table: EscalationsTable, fmt: charts.ChartFormat) -> bytes:
    bars = [(theme_label(theme), n) for theme, n in table.by_theme.items()]
    title = f"Disputes by theme, {table.from_.isoformat()} to {table.as_at.isoformat()}"
    return charts.bar_chart(title, bars, "Theme", "Disputes", fmt)


def escalations_sheet(table: EscalationsTable) -> Table:
    return Table("Escalations", _ESCALATION_COLUMNS, _escalation_rows(table))


_TREND_COLUMNS = [
    Column("Month end", lambda p: p.as_at),
    Column("Numerator", lambda p: p.numerator),
    Column("Denominator", lambda p: p.denominator),
    Column("Value", lambda p: p.value),
]


def trend_sheet(points: list[Any]) -> Table:
    return Table("Trend", _TREND_COLUMNS, points)


def _shown(kpi: Any) -> str:
    """A KPI value as a reader of the printed report sees it: rounded to one decimal place."""
    if kpi.denominator is None:
        return str(kpi.numerator)
    if kpi.value is None:
        return f"no value (0 of {kpi.denominator})"
    return f"{kpi.value:.1f}% ({kpi.numerator} of {kpi.denominator})"


def scorecard_summary_sheet(card: Scorecard) -> Table:
    """The printable scorecard: one narrow column per day, then the last day's target and RAG."""
    last = len(card.columns) - 1
    rows = [[column.kpis[i] for column in card.columns] for i in range(len(card.columns[0].kpis))]
    columns = [Column("KPI", lambda r: r[0].title, 60)]
    columns += [
        Column(f"{c.from_.isoformat()} to {c.as_at.isoformat()}", lambda r, i=i: _shown(r[i]), 22)
        for i, c in enumerate(card.columns)
    ]
    columns += [
        Column("Target", lambda r: r[last].target),
        Column("RAG", lambda r: r[last].rag.value if r[last].rag else None),
        Column("Change", lambda r: None if r[last].change is None else round(r[last].change, 1)),
    ]
    return Table("Scorecard", columns, rows)


_TARGET_COLUMNS = [
    Column("Code", lambda t: t.code, 28),
    Column("KPI", lambda t: t.title, 60),
    Column("Target", lambda t: t.target),
    Column("Direction", lambda t: t.direction.value),
    Column("Amber tolerance", lambda t: t.amber_tolerance),
    Column("Updated by", lambda t: t.updated_by, 20),
    Column("Updated at", lambda t: t.updated_at.isoformat() if t.updated_at else None, 26),
]


def targets_sheet(targets: list[Target]) -> Table:
    return Table("Targets", _TARGET_COLUMNS, targets)
