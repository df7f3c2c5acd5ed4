"""Route: one KPI at every month end between two days, as JSON, CSV, XLSX or a chart."""

from __future__ import annotations

import calendar as months
from datetime import date
from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict

from iro_kit.dates import Day
from iro_kit.db import SessionDep
from iro_kit.errors import FieldProblem, Unprocessable, problem_responses
from iro_kit.exports import ExportFormat, file_content
from scorecard_api import charts, sheets
from scorecard_api.deps import (
    FRESHNESS_TEXT,
    READ_AND_RECORD_FRESHNESS,
    ChartOrTableFormat,
    as_json_or_file,
    chart_response,
    check_day,
)
from scorecard_api.kpis.definitions import BY_CODE, Direction
from scorecard_api.kpis.formulas import default_window
from scorecard_api.scorecard import service

MAX_POINTS = 60  # five years of month ends: bounded work per request

router = APIRouter(
    prefix="/scorecard/v1", tags=["scorecard"], dependencies=READ_AND_RECORD_FRESHNESS
)


class TrendPoint(BaseModel):
    as_at: date
    numerator: int
    denominator: int | None
    value: float | None


class Trend(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "code": "reviews_in_timescale",
                "title": BY_CODE["reviews_in_timescale"].title,
                "target": 95.0,
                "direction": "higher",
                "points": [
                    {"as_at": day, "numerator": n, "denominator": d, "value": n / d * 100}
                    for day, n, d in (
                        ("2017-01-31", 489, 515),
                        ("2017-02-28", 493, 514),
                        ("2017-03-31", 498, 512),
                    )
                ],
            }
        }
    )
    code: str
    title: str
    target: float | None
    direction: Direction
    points: list[TrendPoint]


def month_ends(first: date, last: date) -> list[date]:
    """Every month end on or after `first` and on or before `last`."""
    ends, year, month = [], first.year, first.month
    while True:
        end = date(year, month, months.monthrange(year, month)[1])
        if end > last:
            return ends
        if end >= first:
            ends.append(end)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _days(first: date, last: date) -> list[date]:
    check_day(first, "from")
    check_day(last, "to")
    ends = month_ends(first, last)
    if not ends or len(ends) > MAX_POINTS:
        raise Unprocessable(
            f"from/to: must span between 1 and {MAX_POINTS} month ends.",
            errors=[FieldProblem(pointer="/to", location="query", message="range")],
        )
    return ends


@router.get(
    "/kpis/{code}/trend",
    summary="A KPI at every month end between two days",
    description="The KPI as at each month end from `from` to `to` (at most 60), each over the "
    "12 months ending on it: as JSON, CSV or XLSX, or as a chart with its title, labelled axes "
    "and the target line (`Accept: image/svg+xml` or `image/png`, or `?format=svg|png`; "
    "800 x 400)." + FRESHNESS_TEXT,
    response_model=Trend,
    responses={
        **file_content(ExportFormat.csv, ExportFormat.xlsx, ExportFormat.svg, ExportFormat.png),
        **problem_responses(401, 403, 404, 406, 422),
    },
)
async def kpi_trend(
    code: str,
    request: Request,
    session: SessionDep,
    chosen: ChartOrTableFormat,
    first: Annotated[Day, Query(alias="from", description="The first day.")],
    last: Annotated[Day, Query(alias="to", description="The last day.")],
) -> Any:
    kpi = service.kpi_or_404(code)
    windows = [default_window(d) for d in _days(first, last)]
    columns = await service.scorecard_columns(session, windows, codes=[code])
    figures = [c.kpis[0] for c in columns]
    trend = Trend(
        code=code,
        title=kpi.title,
        target=figures[0].target,
        direction=figures[0].direction,
        points=[
            TrendPoint(
                as_at=c.as_at, numerator=f.numerator, denominator=f.denominator, value=f.value
            )
            for c, f in zip(columns, figures, strict=True)
        ],
    )
    name = f"{code}-trend-{last}"
    if chosen not in (ExportFormat.svg, ExportFormat.png):
        return as_json_or_file(chosen, trend, partial(sheets.trend_sheet, trend.points), name)
    fmt = charts.ChartFormat(chosen.value)
    points = [charts.TrendPoint(p.as_at, p.value) for p in trend.points]
    y_label = "Per cent (%)" if kpi.percentage else "Count"
    # Rendering is CPU work: off the event loop, so other requests are not held up.
    content = await anyio.to_thread.run_sync(
        charts.trend_chart, kpi.title, points, trend.target, y_label, fmt
    )
    return chart_response(content, fmt, name)
