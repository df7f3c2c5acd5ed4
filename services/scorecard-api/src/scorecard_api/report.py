"""The annual report's pack for a financial year: the scorecard beside the previous year's
outturn, the four tables, the use of tools and the charts, as one JSON, XLSX or HTML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.exports import Chart, Table, to_html_report, to_workbook
from scorecard_api import charts, sheets
from scorecard_api.kpis.definitions import BY_CODE
from scorecard_api.kpis.formulas import Window, default_window
from scorecard_api.scorecard import service
from scorecard_api.scorecard.schemas import SCORECARD_EXAMPLE, Scorecard
from scorecard_api.scorecard.trend import month_ends
from scorecard_api.tables.caseload import CASELOAD_EXAMPLE, CaseloadTable, load_caseload
from scorecard_api.tables.escalations import (
    ESCALATIONS_EXAMPLE,
    EscalationsTable,
    load_escalations,
)
from scorecard_api.tables.reviews import (
    LATE_REVIEWS_EXAMPLE,
    TOOLS_EXAMPLE,
    LateReviewsTable,
    ToolsTable,
    load_late_reviews,
    load_tools,
)

TREND_KPI = "reviews_in_timescale"


def financial_year(year: int) -> Window:
    """1 April `year` to 31 March of the next."""
    return Window(date(year, 4, 1), date(year + 1, 3, 31))


class ReportTrendPoint(BaseModel):
    """One month end of the annual report's trend chart."""

    as_at: date
    value: float | None


# `reviews_in_timescale` at each month end of 2016/17 (children in timescale, of those due).
_TREND = (
    ("2016-04-30", 481, 503),
    ("2016-05-31", 483, 504),
    ("2016-06-30", 486, 507),
    ("2016-07-31", 484, 508),
    ("2016-08-31", 487, 510),
    ("2016-09-30", 490, 511),
    ("2016-10-31", 489, 513),
    ("2016-11-30", 492, 514),
    ("2016-12-31", 490, 516),
    ("2017-01-31", 489, 515),
    ("2017-02-28", 493, 514),
    ("2017-03-31", 498, 512),
)
ANNUAL_REPORT_EXAMPLE = {
    "year": 2016,
    "from": "2016-04-01",
    "to": "2017-03-31",
    "scorecard": SCORECARD_EXAMPLE,
    "caseload": CASELOAD_EXAMPLE,
    "late_reviews": LATE_REVIEWS_EXAMPLE,
    "escalations": ESCALATIONS_EXAMPLE,
    "tools": TOOLS_EXAMPLE,
    "trend": [{"as_at": day, "value": n / d * 100} for day, n, d in _TREND],
    "charts": {
        "disputes_by_theme": "/scorecard/v1/tables/escalations?as_at=2017-03-31&from=2016-04-01"
        "&format=svg",
        TREND_KPI: f"/scorecard/v1/kpis/{TREND_KPI}/trend?from=2016-04-01&to=2017-03-31&format=svg",
    },
}


class AnnualReport(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True, json_schema_extra={"example": ANNUAL_REPORT_EXAMPLE}
    )

    year: int = Field(description="The financial year's first year: 2016 is 2016/17.")
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    scorecard: Scorecard = Field(description="The previous year's outturn, then this year's.")
    caseload: CaseloadTable
    late_reviews: LateReviewsTable
    escalations: EscalationsTable
    tools: ToolsTable
    trend: list[ReportTrendPoint] = Field(
        description=f"`{TREND_KPI}` at each month end of the year."
    )
    charts: dict[str, str] = Field(description="Where each chart is served as SVG (or PNG).")


async def annual_report(
    session: AsyncSession, year: int, calendar: WorkingDayCalendar
) -> AnnualReport:
    window = financial_year(year)
    columns = await service.scorecard_columns(session, [financial_year(year - 1), window])
    ends = month_ends(window.start, window.end)
    trend = await service.scorecard_columns(
        session, [default_window(d) for d in ends], codes=[TREND_KPI]
    )
    day = window.end.isoformat()
    return AnnualReport(
        year=year,
        from_=window.start,
        to=window.end,
        scorecard=Scorecard(columns=columns),
        caseload=await load_caseload(session, window, calendar),
        late_reviews=await load_late_reviews(session, window),
        escalations=await load_escalations(session, window),
        tools=await load_tools(session, window),
        trend=[ReportTrendPoint(as_at=c.as_at, value=c.kpis[0].value) for c in trend],
        charts={
            "disputes_by_theme": f"/scorecard/v1/tables/escalations?as_at={day}"
            f"&from={window.start.isoformat()}&format=svg",
            TREND_KPI: f"/scorecard/v1/kpis/{TREND_KPI}/trend?from={window.start.isoformat()}"
            f"&to={day}&format=svg",
        },
    )


@dataclass(frozen=True)
class RenderedChart:
    title: str
    svg: bytes
    png: bytes


def _target(report: AnnualReport) -> float | None:
    last = report.scorecard.columns[-1]
    return next(k.target for k in last.kpis if k.code == TREND_KPI)


def render_charts(report: AnnualReport) -> list[RenderedChart]:
    """CPU work: call it off the event loop."""
    points = [charts.TrendPoint(p.as_at, p.value) for p in report.trend]
    title = BY_CODE[TREND_KPI].title
    rendered = []
    for name, draw in (
        ("Disputes by theme", lambda fmt: sheets.themes_chart(report.escalations, fmt)),
        (
            "Reviews in timescale",
            lambda fmt: charts.trend_chart(title, points, _target(report), "Per cent (%)", fmt),
        ),
    ):
        rendered.append(
            RenderedChart(name, draw(charts.ChartFormat.svg), draw(charts.ChartFormat.png))
        )
    return rendered


def _tables(report: AnnualReport, scorecard: Table | None = None) -> list[Table]:
    return [
        scorecard or sheets.scorecard_sheet(report.scorecard),
        sheets.caseload_sheet(report.caseload),
        sheets.late_reviews_sheet(report.late_reviews),
        sheets.escalations_sheet(report.escalations),
        sheets.tools_sheet(report.tools),
    ]


def _title(report: AnnualReport) -> str:
    return f"IRO service annual report {report.year}/{(report.year + 1) % 100:02d}"


def report_xlsx(report: AnnualReport, rendered: list[RenderedChart]) -> bytes:
    images = [(f"Chart - {c.title}", c.png) for c in rendered]
    return to_workbook(_title(report), _tables(report), images)


def report_html(report: AnnualReport, rendered: list[RenderedChart]) -> bytes:
    heading = [
        _title(report),
        f"1 April {report.year} to 31 March {report.year + 1}; the scorecard shows the "
        f"previous year's outturn beside this year's.",
    ]
    figures = [Chart(c.title, _inline(c.svg)) for c in rendered]
    tables = _tables(report, sheets.scorecard_summary_sheet(report.scorecard))
    return to_html_report(_title(report), heading, [*tables, *figures])


def _inline(svg: bytes) -> str:
    """The SVG element alone: the XML declaration and doctype do not belong inside HTML."""
    text = svg.decode("utf-8")
    return text[text.index("<svg") :]
