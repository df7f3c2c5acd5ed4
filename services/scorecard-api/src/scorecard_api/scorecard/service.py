"""The scorecard's columns, drill-downs and targets, from the facts as at each day."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.errors import NotFound
from scorecard_api.kpis.counts import counts
from scorecard_api.kpis.definitions import BY_CODE, KPIS, Direction, Kpi, rag
from scorecard_api.kpis.facts import Facts, allocated_iros
from scorecard_api.kpis.formulas import Figure, Window
from scorecard_api.models import child, target, target_change
from scorecard_api.scorecard.schemas import (
    AllocatedIro,
    DrillDownRow,
    KpiFigure,
    ScorecardColumn,
    Target,
    TargetChange,
    TargetHistoryRow,
)

DEFAULT_TOLERANCE = 5.0


def kpi_or_404(code: str) -> Kpi:
    kpi = BY_CODE.get(code)
    if kpi is None:
        raise NotFound(f"No KPI has the code {code!r}. Codes: " + ", ".join(BY_CODE))
    return kpi


async def targets(session: AsyncSession) -> list[Target]:
    stored = {r.code: r for r in await session.execute(select(target))}
    listed = []
    for kpi in KPIS:
        row = stored.get(kpi.code)
        listed.append(
            Target(
                code=kpi.code,
                title=kpi.title,
                target=row.target if row else None,
                direction=Direction(row.direction) if row else kpi.direction,
                amber_tolerance=row.amber_tolerance if row else DEFAULT_TOLERANCE,
                updated_by=row.updated_by if row else None,
                updated_at=row.updated_at if row else None,
            )
        )
    return listed


async def set_target(session: AsyncSession, code: str, change: TargetChange, who: str) -> Target:
    kpi = kpi_or_404(code)
    now = datetime.now(UTC)
    old = (await session.execute(select(target).where(target.c.code == code))).first()
    new = {
        "target": change.target,
        "direction": (change.direction or kpi.direction).value,
        "amber_tolerance": change.amber_tolerance,
    }
    if old is None:
        await session.execute(
            insert(target).values(code=code, updated_by=who, updated_at=now, **new)
        )
    else:
        await session.execute(
            update(target)
            .where(target.c.code == code)
            .values(updated_by=who, updated_at=now, **new)
        )
    previous = (
        {k: getattr(old, k) for k in ("target", "direction", "amber_tolerance")} if old else None
    )
    await session.execute(
        insert(target_change).values(
            id=uuid.uuid4(), code=code, changed_by=who, changed_at=now, old=previous, new=new
        )
    )
    return next(t for t in await targets(session) if t.code == code)


async def target_history(session: AsyncSession, code: str) -> list[TargetHistoryRow]:
    kpi_or_404(code)
    rows = await session.execute(
        select(target_change)
        .where(target_change.c.code == code)
        .order_by(target_change.c.changed_at.desc(), target_change.c.id)
    )
    return [
        TargetHistoryRow(changed_by=r.changed_by, changed_at=r.changed_at, old=r.old, new=r.new)
        for r in rows
    ]


async def scorecard_columns(
    session: AsyncSession, windows: Sequence[Window], codes: Sequence[str] | None = None
) -> list[ScorecardColumn]:
    """Each window's figures, counted by the database (`kpis.counts`)."""
    by_code = {t.code: t for t in await targets(session)}
    chosen = [BY_CODE[c] for c in codes] if codes else list(KPIS)
    columns: list[ScorecardColumn] = []
    previous: dict[str, float | None] = {}
    for window in windows:
        counted = await counts(session, window, [kpi.code for kpi in chosen])
        figures = []
        for kpi in chosen:
            figure = counted[kpi.code]
            value = figure.value
            setting = by_code[kpi.code]
            before = previous.get(kpi.code)
            figures.append(
                KpiFigure(
                    code=kpi.code,
                    title=kpi.title,
                    numerator=figure.numerator,
                    denominator=figure.denominator,
                    value=value,
                    target=setting.target,
                    direction=setting.direction,
                    rag=rag(value, setting.target, setting.direction, setting.amber_tolerance),
                    change=value - before if value is not None and before is not None else None,
                )
            )
            previous[kpi.code] = value
        columns.append(ScorecardColumn(as_at=window.end, from_=window.start, kpis=figures))
    return columns


async def drill_down(
    session: AsyncSession,
    code: str,
    window: Window,
    calendar: WorkingDayCalendar,
    iro_id: uuid.UUID | None,
    met: bool | None,
) -> tuple[Figure, list[DrillDownRow]]:
    kpi_or_404(code)
    facts = await Facts.on(session, window, calendar)
    figure = await facts.figure(code)
    ids = {o.child_id for o in figure.outcomes}
    people = await _children(session, ids)
    iros = await allocated_iros(session, window.end, ids)
    rows = []
    for outcome in figure.outcomes:
        allocated = iros.get(outcome.child_id)
        if iro_id is not None and (allocated is None or allocated[0] != iro_id):
            continue
        if met is not None and outcome.met is not met:
            continue
        external_id, name = people.get(outcome.child_id, (None, None))
        rows.append(
            DrillDownRow(
                child_id=outcome.child_id,
                external_id=external_id,
                name=name,
                met=outcome.met,
                reason=outcome.reason,
                dates=dict(outcome.dates),
                review_id=outcome.review_id,
                iro=AllocatedIro(id=allocated[0], name=allocated[1]) if allocated else None,
            )
        )
    # Failing cases first (what a manager acts on), then by name, stably.
    rows.sort(key=lambda r: (r.met, r.name or "", str(r.child_id)))
    return figure, rows


async def _children(
    session: AsyncSession, ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str | None]]:
    if not ids:
        return {}
    found: dict[uuid.UUID, tuple[str, str | None]] = {}
    listed = sorted(ids)
    for start in range(0, len(listed), 5000):
        chunk = listed[start : start + 5000]
        rows = await session.execute(
            select(child.c.id, child.c.external_id, child.c.name).where(child.c.id.in_(chunk))
        )
        found.update({i: (e, n) for i, e, n in rows})
    return found
