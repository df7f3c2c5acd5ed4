"""Which aggregate each record belongs to, and each aggregate's state for its event.

Runs inside the committing transaction (iro_kit.events.tracking), on the synchronous session.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from iro_kit.events.tracking import CHANGED_KEY, FRESH, Aggregate, Publisher
from iro_kit.events.wiring import EventSpec
from iro_kit.schedule import EpisodeFacts, periods_of_care
from reviews_api.events.catalogue import (
    CATALOGUE,
    AllocationEntry,
    AllocationState,
    ChildState,
    EpisodeState,
    IroState,
    PeriodState,
    PlanDateEntry,
    PlanState,
    ReviewState,
    SecureReviewState,
    VisitState,
)
from reviews_api.models import (
    EVENT_TABLES,
    Allocation,
    Child,
    Episode,
    Iro,
    PlanDate,
    Review,
    SecurePlacement,
    SecureReview,
    Visit,
)


def classify(obj: object) -> Iterable[Aggregate]:
    if isinstance(obj, Child):
        return [("child.changed", obj.id)]
    if isinstance(obj, Episode):
        return [("child.changed", obj.child_id)]
    if isinstance(obj, Iro):
        return [("iro.changed", obj.id)]
    if isinstance(obj, Allocation):
        return [("allocation.changed", obj.child_id)]
    if isinstance(obj, Review):
        return [("review.changed", obj.id)]
    if isinstance(obj, Visit):
        return [("visit.changed", obj.id)]
    if isinstance(obj, SecureReview):
        return [("secure_review.changed", obj.id)]
    if isinstance(obj, PlanDate):
        return [("plan.changed", obj.child_id)]
    # A secure placement is not an aggregate of its own: changing it reassesses its reviews,
    # and those changes publish them.
    return []


def _child(session: Session, child_id: uuid.UUID) -> dict[str, Any] | None:
    child = session.get(Child, child_id, populate_existing=True)
    if child is None:
        return None
    episodes = list(
        session.scalars(
            select(Episode)
            .where(Episode.child_id == child_id, Episode.deleted_at.is_(None))
            .order_by(Episode.start_on)
            .execution_options(**FRESH)
        )
    )
    by_start = {e.start_on: e for e in episodes}
    periods = []
    for period in periods_of_care(
        EpisodeFacts(e.start_on, e.end_on, e.legal_status, e.reason_new_episode) for e in episodes
    ):
        members = [by_start[f.start] for f in period.episodes]
        periods.append(
            PeriodState(
                start_on=period.start,
                end_on=period.end,
                clock=period.clock.value,
                legal_status=period.legal_status,
                episodes=[EpisodeState.model_validate(e, from_attributes=True) for e in members],
            )
        )
    return ChildState.model_validate(
        {
            **{k: getattr(child, k) for k in ("id", "external_id", "given_name", "family_name")},
            "date_of_birth": child.date_of_birth,
            "sex": child.sex,
            "periods_of_care": periods,
            "version": 0,
        }
    ).model_dump(mode="json", exclude={"version"})


def _allocations(session: Session, child_id: uuid.UUID) -> dict[str, Any] | None:
    if session.get(Child, child_id) is None:  # only in a savepoint that was rolled back
        return None
    rows = session.scalars(
        select(Allocation)
        .where(Allocation.child_id == child_id, Allocation.deleted_at.is_(None))
        .order_by(Allocation.from_on)
        .execution_options(**FRESH)
    )
    entries = [AllocationEntry.model_validate(a, from_attributes=True) for a in rows]
    state = AllocationState(child_id=child_id, allocations=entries, version=0)
    return state.model_dump(mode="json", exclude={"version"})


def _review(session: Session, review_id: uuid.UUID) -> dict[str, Any] | None:
    review = session.get(Review, review_id, populate_existing=True)
    if review is None:
        return None
    state = ReviewState.model_validate(
        {**_columns(review, ReviewState), "deleted": review.deleted_at is not None, "version": 0}
    )
    return state.model_dump(mode="json", exclude={"version"})


def _visit(session: Session, visit_id: uuid.UUID) -> dict[str, Any] | None:
    visit = session.get(Visit, visit_id, populate_existing=True)
    if visit is None:
        return None
    state = VisitState.model_validate(
        {**_columns(visit, VisitState), "deleted": visit.deleted_at is not None, "version": 0}
    )
    return state.model_dump(mode="json", exclude={"version"})


def _secure_review(session: Session, review_id: uuid.UUID) -> dict[str, Any] | None:
    review = session.get(SecureReview, review_id, populate_existing=True)
    if review is None:
        return None
    placement = session.get(SecurePlacement, review.placement_id, populate_existing=True)
    assert placement is not None
    state = SecureReviewState(
        id=review.id,
        placement_id=placement.id,
        child_id=placement.child_id,
        held_on=review.held_on,
        due_by=review.due_by,
        in_timescale=review.in_timescale,
        panel_size=len(review.panel),
        independent_members=sum(1 for m in review.panel if m.get("independent")),
        deleted=review.deleted_at is not None or placement.deleted_at is not None,
        version=0,
    )
    return state.model_dump(mode="json", exclude={"version"})


def _plans(session: Session, child_id: uuid.UUID) -> dict[str, Any] | None:
    if session.get(Child, child_id) is None:  # only in a savepoint that was rolled back
        return None
    rows = session.scalars(
        select(PlanDate)
        .where(PlanDate.child_id == child_id)
        .order_by(PlanDate.kind, PlanDate.dated_on)
        .execution_options(**FRESH)
    )
    entries = [PlanDateEntry.model_validate(p, from_attributes=True) for p in rows]
    state = PlanState(child_id=child_id, plan_dates=entries, version=0)
    return state.model_dump(mode="json", exclude={"version"})


def _iro(session: Session, iro_id: uuid.UUID) -> dict[str, Any] | None:
    iro = session.get(Iro, iro_id, populate_existing=True)
    if iro is None:
        return None
    state = IroState.model_validate(
        {**_columns(iro, IroState), "fte": float(iro.fte), "version": 0}
    )
    return state.model_dump(mode="json", exclude={"version"})


def _columns(record: object, model: type[Any]) -> dict[str, Any]:
    return {name: getattr(record, name) for name in model.model_fields if hasattr(record, name)}


def state(session: Session, event_type: str, key: Any) -> dict[str, Any] | None:
    if event_type == "child.changed":
        return _child(session, key)
    if event_type == "allocation.changed":
        return _allocations(session, key)
    if event_type == "iro.changed":
        return _iro(session, key)
    if event_type == "review.changed":
        return _review(session, key)
    if event_type == "visit.changed":
        return _visit(session, key)
    if event_type == "secure_review.changed":
        return _secure_review(session, key)
    if event_type == "plan.changed":
        return _plans(session, key)
    return None


async def snapshot(session: AsyncSession) -> int:
    """Mark every aggregate changed: each is published at commit with its current state."""
    marked: set[Aggregate] = set()
    for event_type, column in (
        ("child.changed", Child.id),
        ("allocation.changed", Child.id),
        ("plan.changed", Child.id),
        ("iro.changed", Iro.id),
        ("review.changed", Review.id),
        ("visit.changed", Visit.id),
        ("secure_review.changed", SecureReview.id),
    ):
        marked.update((event_type, key) for key in await session.scalars(select(column)))
    session.info.setdefault(CHANGED_KEY, set()).update(marked)
    return len(marked)


EVENTS = EventSpec(
    tables=EVENT_TABLES,
    publisher=Publisher(classify=classify, state=state),
    catalogue=CATALOGUE,
    schema_dir=Path(__file__).resolve().parents[3] / "events",
    snapshot=snapshot,
)
