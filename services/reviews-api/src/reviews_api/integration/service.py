"""Apply a batch from a case system: each item in its own savepoint, through the same service
functions (and the same rules) as the children and episodes routes.

Order of arrival: children are applied first, then episodes, then plan dates, so one batch can
carry a child with its records in any order. An episode or plan date whose child is not known
yet (not held and not in the batch) fails with a retryable 409 `unknown-child`; the case system
sends it again after the child.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.db import id_in
from iro_kit.errors import Conflict, FieldProblem, ProblemError, problem_body
from iro_kit.schedule import ScheduleRules
from iro_kit.versioning import UNCONDITIONAL
from reviews_api.casefile import lock_children
from reviews_api.children import service as children
from reviews_api.children.schemas import ChildUpdate, EpisodeCreate, EpisodeUpdate
from reviews_api.integration.schemas import (
    BatchResult,
    ChildItem,
    EpisodeItem,
    IntegrationChildCreate,
    InvalidItem,
    ItemProblem,
    ItemResult,
    PlanDateItem,
)
from reviews_api.models import Child, Episode
from reviews_api.plans.service import record_plan_date
from reviews_api.problems import UnknownChild
from reviews_api.ranges import EPISODE

Item = ChildItem | EpisodeItem | PlanDateItem
_ORDER = {"child": 0, "episode": 1, "plan_date": 2}
_EPISODE_FIELDS = (
    "start_on",
    "end_on",
    "reason_new_episode",
    "legal_status",
    "placement",
    "reason_ended",
)


class _Context:
    def __init__(self, session: AsyncSession, rules: ScheduleRules, by: str, today: date) -> None:
        self.session, self.rules, self.by, self.today = session, rules, by, today


Handler = Callable[[_Context, Any], Awaitable[tuple[str, uuid.UUID | None]]]


async def apply_batch(
    session: AsyncSession,
    items: list[Item | InvalidItem],
    *,
    rules: ScheduleRules,
    recorded_by: str,
    today: date,
    instance: str,
) -> BatchResult:
    context = _Context(session, rules, recorded_by, today)
    await _lock_children_named(session, items)
    results: dict[int, ItemResult] = {}
    order = sorted(range(len(items)), key=lambda i: (_ORDER.get(str(items[i].type), 3), i))
    for index in order:
        results[index] = await _apply_one(context, index, items[index], instance)
    ordered = [results[i] for i in range(len(items))]
    counts = Counter({"created": 0, "updated": 0, "unchanged": 0, "failed": 0})
    counts.update(r.outcome for r in ordered)
    return BatchResult(results=ordered, counts=dict(counts))  # type: ignore[arg-type]


async def _lock_children_named(session: AsyncSession, items: list[Item | InvalidItem]) -> None:
    """Every known child the batch names, locked at once in id order before any item runs, so
    a batch never holds some children's locks while it waits for another's (no deadlock with
    an import chunk or another batch)."""
    external_ids = {
        value
        for item in items
        if isinstance(
            value := getattr(
                item, "external_id" if str(item.type) == "child" else "child_external_id", None
            ),
            str,
        )
    }
    if not external_ids:
        return
    known = await session.scalars(
        select(Child.id).where(id_in(session, Child.external_id, sorted(external_ids)))
    )
    await lock_children(session, list(known))


async def _apply_one(
    context: _Context, index: int, item: Item | InvalidItem, instance: str
) -> ItemResult:
    key = _key(item)
    if isinstance(item, InvalidItem):
        noun = "field is" if len(item.errors) == 1 else "fields are"
        detail = f"{len(item.errors)} {noun} invalid: " + ", ".join(e.pointer for e in item.errors)
        problem = problem_body(422, detail + ".", instance, errors=item.errors)
        return _failed(index, item.type, key, problem)
    handler: Handler = _HANDLERS[item.type]
    try:
        async with context.session.begin_nested():
            outcome, record_id = await handler(context, item)
    except ProblemError as exc:
        return _failed(index, item.type, key, _item_problem(exc, index, instance))
    except IntegrityError:
        detail = "The item conflicts with data already recorded; it can be sent again."
        return _failed(index, item.type, key, problem_body(409, detail, instance))
    except DBAPIError as exc:
        if not _value_refused(exc):
            raise
        # A value the validation let through but the database refused (SQLSTATE class 22):
        # its savepoint is rolled back, and it fails alone, as an invalid item does.
        detail = "The item holds a value the database cannot store."
        return _failed(index, item.type, key, problem_body(422, detail, instance))
    return ItemResult(
        index=index, type=item.type, key=key, outcome=outcome, id=record_id, problem=None
    )  # type: ignore[arg-type]


def _value_refused(exc: DBAPIError) -> bool:
    """A data exception (PostgreSQL SQLSTATE class 22: bad text, a number or date out of
    range), as opposed to a lost connection or a bug."""
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("22")


def _key(item: Item | InvalidItem) -> str | None:
    if isinstance(item, PlanDateItem):
        return f"{item.child_external_id}/{item.kind.value}/{item.dated_on.isoformat()}"
    return item.key if isinstance(item, InvalidItem) else item.external_id


def _failed(index: int, type_: str | None, key: str | None, problem: dict[str, Any]) -> ItemResult:
    return ItemResult(
        index=index,
        type=type_,
        key=key,
        outcome="failed",
        id=None,
        problem=ItemProblem.model_validate(problem),
    )


def _item_problem(exc: ProblemError, index: int, instance: str) -> dict[str, Any]:
    """The service's problem, its pointers moved inside the batch: `/held_on` becomes
    `/items/3/held_on`. A conflict that names no field names the item's own key fields."""
    errors = [
        FieldProblem(pointer=f"/items/{index}{e.pointer}", location="body", message=e.message)
        for e in exc.errors or []
    ]
    # `pointer` is ours, to name the item's field: never a member of the problem itself.
    pointer = exc.extra.pop("pointer", "")
    if not errors:
        errors = [
            FieldProblem(pointer=f"/items/{index}{pointer}", location="body", message=exc.detail)
        ]
    return problem_body(
        exc.status,
        exc.detail,
        instance,
        slug=exc.slug,
        title=exc.title,
        errors=errors,
        extra=exc.extra,
    )


async def _child(context: _Context, external_id: str) -> Child:
    child = await context.session.scalar(select(Child).where(Child.external_id == external_id))
    if child is None:
        raise UnknownChild(
            f"No child has external_id {external_id!r} yet: send the child first (or in the same "
            "batch), then send this item again.",
            extra={"pointer": "/child_external_id", "retryable": True},
        )
    return child


async def _upsert_child(context: _Context, item: ChildItem) -> tuple[str, uuid.UUID | None]:
    session = context.session
    child = await session.scalar(select(Child).where(Child.external_id == item.external_id))
    fields = item.model_dump(exclude={"type", "external_id"}, exclude_none=True)
    if child is None:
        body = IntegrationChildCreate.model_validate(item.model_dump(exclude={"type"}))
        return "created", (await children.create_child(session, body)).id
    changes = {name: value for name, value in fields.items() if getattr(child, name) != value}
    if not changes:
        return "unchanged", child.id
    await children.update_child(session, child.id, ChildUpdate(**changes), UNCONDITIONAL)
    return "updated", child.id


async def _upsert_episode(context: _Context, item: EpisodeItem) -> tuple[str, uuid.UUID | None]:
    session = context.session
    child = await _child(context, item.child_external_id)
    episode = await session.scalar(select(Episode).where(Episode.external_id == item.external_id))
    fields = {name: getattr(item, name) for name in _EPISODE_FIELDS}
    try:
        if episode is None:
            body = EpisodeCreate(external_id=item.external_id, **fields)
            created = await children.add_episode(session, child.id, body, context.rules)
            return "created", created.id
        if episode.deleted_at is not None:
            raise Conflict(
                "This episode was deleted in this service as a mistake; it is not re-created.",
                extra={"pointer": "/external_id"},
            )
        if episode.child_id != child.id:
            raise Conflict(
                "This episode belongs to another child.", extra={"pointer": "/child_external_id"}
            )
        changes = {
            name: value
            for name, value in fields.items()
            if getattr(episode, EPISODE.get(name, name)) != value
        }
        if not changes:
            return "unchanged", episode.id
        await children.update_episode(
            session, episode.id, EpisodeUpdate(**changes), context.rules, UNCONDITIONAL
        )
        return "updated", episode.id
    except Conflict as exc:
        if "overlapping_episode_id" in exc.extra:
            exc.extra["pointer"] = "/start_on"
        raise


async def _add_plan_date(context: _Context, item: PlanDateItem) -> tuple[str, uuid.UUID | None]:
    child = await _child(context, item.child_external_id)
    row, created = await record_plan_date(
        context.session,
        child,
        item.kind,
        item.dated_on,
        source="integration",
        recorded_by=context.by,
        today=context.today,
    )
    return ("created" if created else "unchanged"), row.id


_HANDLERS: dict[str, Handler] = {
    "child": _upsert_child,
    "episode": _upsert_episode,
    "plan_date": _add_plan_date,
}
