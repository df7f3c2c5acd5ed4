"""Raising disputes and taking them through the process, one atomic versioned change at a time.

Every transition reads the dispute, checks If-Match, asks the state machine (`lifecycle`) for
the new state, then writes it with `UPDATE ... WHERE id = :id AND version = :read`: of several
requests that read the same version, exactly one changes a row, and the rest get a 412 however
their reads and writes interleave. The history entry is written in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from drp_api.disputes import history, lifecycle
from drp_api.disputes.lifecycle import (
    DisputeState,
    InvalidInput,
    ProcessRules,
    Status,
    Transition,
    TransitionRefused,
)
from drp_api.disputes.schemas import (
    CafcassReferral,
    DisputeRaise,
    Escalation,
    Reopening,
    Resolution,
    ResponseRecord,
    TransitionRequest,
    Withdrawal,
)
from drp_api.disputes.versioning import check_version, current_version, stale
from drp_api.models import Dispute, ReferenceCounter
from drp_api.people import resolve_child, resolve_iro
from iro_kit.auth import Principal
from iro_kit.errors import Conflict, FieldProblem, NotFound, invalid
from iro_kit.pagination import PageRequest

_TITLES = {
    "transition-not-allowed": "Transition not allowed",
    "dispute-closed": "Dispute is closed",
    "outcome-required": "Outcome required",
    "reopen-window-closed": "Reopen window has closed",
}


def state_of(dispute: Dispute) -> DisputeState:
    return DisputeState(
        stage=dispute.stage,
        status=Status(dispute.status),
        raised_on=dispute.raised_on,
        stage_entered_on=dispute.stage_entered_on,
        stage_due_by=dispute.stage_due_by,
        overall_due_by=dispute.overall_due_by,
        highest_stage=dispute.highest_stage,
        last_action_on=dispute.last_action_on,
        closed_on=dispute.closed_on,
        outcomes=tuple(lifecycle.Outcome(o) for o in dispute.outcomes),
    )


def _columns(state: DisputeState) -> dict[str, Any]:
    return {
        "stage": state.stage,
        "status": state.status.value,
        "stage_entered_on": state.stage_entered_on,
        "stage_due_by": state.stage_due_by,
        "overall_due_by": state.overall_due_by,
        "highest_stage": state.highest_stage,
        "last_action_on": state.last_action_on,
        "closed_on": state.closed_on,
        "outcomes": [o.value for o in state.outcomes],
    }


def _conflict(refused: TransitionRefused) -> Conflict:
    errors = None
    if refused.slug == "outcome-required":
        errors = [FieldProblem(pointer="/outcomes", location="body", message="is empty")]
    error = Conflict(
        refused.reason,
        errors=errors,
        extra={
            "current_state": refused.state.status.value,
            "current_stage": refused.state.stage,
            "allowed_transitions": [t.value for t in refused.allowed],
        },
    )
    error.slug, error.title = refused.slug, _TITLES[refused.slug]
    return error


def _invalid(bad: InvalidInput, body: TransitionRequest) -> Exception:
    field = body.date_field if bad.field == "date" else bad.field
    return invalid(f"/{field}", bad.message)


def _check_themes(themes: list[str], known: dict[str, str]) -> None:
    for index, theme in enumerate(themes):
        if theme not in known:
            raise invalid(f"/themes/{index}", f"{theme!r} is not a theme; GET /drp/v1/process")
    if len(set(themes)) != len(themes):
        raise invalid("/themes", "lists a theme twice")


async def _next_reference(session: AsyncSession, year: int) -> str:
    """`DRP-<year>-<sequence>`: a counter row per year, incremented under its row lock."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    counters = ReferenceCounter.__table__
    await session.execute(
        dialect.insert(counters)
        .values(year=year, last_sequence=0)
        .on_conflict_do_nothing(index_elements=["year"])
    )
    sequence = await session.scalar(
        update(counters)
        .where(counters.c.year == year)
        .values(last_sequence=counters.c.last_sequence + 1)
        .returning(counters.c.last_sequence)
    )
    return f"DRP-{year}-{sequence:04d}"


async def raise_dispute(
    session: AsyncSession,
    body: DisputeRaise,
    rules: ProcessRules,
    themes: dict[str, str],
    by: Principal,
    today: date,
) -> Dispute:
    _check_themes(body.themes, themes)
    child = await resolve_child(session, body.child_id)
    iro = await resolve_iro(session, body.iro_id)
    raised_on = body.raised_on or today
    try:
        state = lifecycle.raise_dispute(rules, raised_on=raised_on, today=today, stage=body.stage)
    except InvalidInput as bad:
        raise _invalid(bad, body) from bad
    dispute = Dispute(
        id=uuid.uuid4(),
        reference=await _next_reference(session, raised_on.year),
        child_id=child.id,
        child_external_id=child.external_id,
        child_name=child.name,
        iro_id=iro.id,
        iro_name=iro.name,
        category=body.category.value,
        themes=list(body.themes),
        issue=body.issue,
        outcome_sought=body.outcome_sought,
        raised_on=raised_on,
        version=1,
        created_by=by.subject,
        **_columns(state),
    )
    session.add(dispute)
    await session.flush()
    await history.append(
        session,
        dispute_id=dispute.id,
        version=1,
        transition=Transition.raise_dispute,
        happened_on=raised_on,
        state=state,
        details=body.details(),
        by=by,
    )
    return dispute


async def get_dispute(session: AsyncSession, dispute_id: uuid.UUID) -> Dispute:
    dispute = await session.get(Dispute, dispute_id)
    if dispute is None:
        raise NotFound("No dispute has this id.")
    return dispute


def _step(
    body: TransitionRequest, state: DisputeState, rules: ProcessRules, on: date, today: date
) -> tuple[Transition, DisputeState]:
    """The transition a request asks for, applied by the state machine."""
    match body:
        case ResponseRecord():
            return Transition.respond, lifecycle.respond(state, rules, on=on, today=today)
        case Escalation(to_stage=to_stage):
            after = lifecycle.escalate(state, rules, on=on, today=today, to_stage=to_stage)
            return Transition.escalate, after
        case CafcassReferral():
            after = lifecycle.refer_to_cafcass(state, rules, on=on, today=today)
            return Transition.refer_to_cafcass, after
        case Resolution(outcomes=outcomes):
            after = lifecycle.resolve(state, rules, outcomes=outcomes, on=on, today=today)
            return Transition.resolve, after
        case Withdrawal():
            return Transition.withdraw, lifecycle.withdraw(state, rules, on=on, today=today)
        case Reopening():
            return Transition.reopen, lifecycle.reopen(state, rules, on=on, today=today)
    raise TypeError(f"not a transition: {type(body).__name__}")


async def take_transition(
    session: AsyncSession,
    dispute_id: uuid.UUID,
    if_match: frozenset[int] | None,
    body: TransitionRequest,
    rules: ProcessRules,
    by: Principal,
    today: date,
) -> Dispute:
    dispute = await get_dispute(session, dispute_id)
    read_version = dispute.version
    check_version(read_version, if_match)
    on = body.happened_on() or today
    try:
        transition, after = _step(body, state_of(dispute), rules, on, today)
    except TransitionRefused as refused:
        raise _conflict(refused) from refused
    except InvalidInput as bad:
        raise _invalid(bad, body) from bad
    changed = await session.execute(
        update(Dispute)
        .where(Dispute.id == dispute_id, Dispute.version == read_version)
        .values(**_columns(after), version=read_version + 1, updated_at=datetime.now(UTC))
        .execution_options(synchronize_session="evaluate")
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        now = await current_version(session, Dispute, dispute_id)
        raise stale(read_version if now is None else now)
    await history.append(
        session,
        dispute_id=dispute_id,
        version=read_version + 1,
        transition=transition,
        happened_on=on,
        state=after,
        details=body.details(),
        by=by,
    )
    return dispute


class DisputeSort(StrEnum):
    raised_on = "raised_on"
    raised_on_desc = "-raised_on"
    reference = "reference"
    reference_desc = "-reference"


_ORDER = {
    DisputeSort.raised_on: (Dispute.raised_on, Dispute.reference),
    DisputeSort.raised_on_desc: (Dispute.raised_on.desc(), Dispute.reference.desc()),
    DisputeSort.reference: (Dispute.reference,),
    DisputeSort.reference_desc: (Dispute.reference.desc(),),
}


async def list_disputes(
    session: AsyncSession, page: PageRequest, sort: DisputeSort, **filters: Any
) -> tuple[list[Dispute], bool, int | None]:
    query = select(Dispute)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(Dispute, name) == getattr(value, "value", value))
    total = None
    if page.count:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(
        await session.scalars(
            query.order_by(*_ORDER[sort], Dispute.id).offset(page.offset).limit(page.limit + 1)
        )
    )
    return rows[: page.limit], len(rows) > page.limit, total
