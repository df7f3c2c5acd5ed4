"""Apply children's load plans to the database; one child's failure never undoes another's.

A child is matched by its external id (SSDA903 CHILD), an episode by its deterministic external
id or its start date, a review by its date, an OC2 row by its collection year: loading the same
return twice changes nothing, and next year's return updates and extends. Nothing is deleted:
an episode or review the return does not mention stays as recorded. Held reviews get their
due-by dates and in-timescale flags from `assess_chain`, the code `reassess_reviews` runs for a
review recorded through the API.

Each child is checked against what is already held before anything of it is changed, so a
refused child leaves nothing behind. A chunk of accepted children is then written in one
savepoint; if the database still refuses it (a concurrent import, an episode deleted as a
mistake), the chunk is written again a child at a time, each in its own savepoint, and only the
children the database refuses are reported.

A child not yet held (a first load) is written without ORM objects: its rows go in with one
`COPY` per table on PostgreSQL (a Core executemany elsewhere) per chunk, its reviews assessed
by the same `assess_chain`, and its aggregates marked changed for the events published at
commit, as the ORM's flush would have marked them. Children already held take the ORM path.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

import asyncpg
from sqlalchemy import ARRAY, String, Table, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.db import id_in
from iro_kit.events.tracking import CHANGED_KEY, PUBLISHER_KEY, Aggregate
from iro_kit.schedule import ScheduleRules
from reviews_api.casefile import CaseFile, load_casefiles, lock_children
from reviews_api.imports.dates import format_date
from reviews_api.imports.plan import OUTCOME_FLAGS, ChildPlan, EpisodePlan, ImportIssue
from reviews_api.models import AnnualOutcome, Child, Episode, Review
from reviews_api.reviews.chain import assess_chain

_CHILD = cast(Table, Child.__table__)
_EPISODE = cast(Table, Episode.__table__)
_REVIEW = cast(Table, Review.__table__)
_OUTCOME = cast(Table, AnnualOutcome.__table__)
_EPISODE_FIELDS = ("end_on", "reason_new_episode", "legal_status", "placement", "reason_ended")


@dataclass(slots=True)
class ChildLoaded:
    external_id: str
    outcome: str  # created | updated | unchanged | rejected
    issues: list[ImportIssue] = field(default_factory=list)
    changes: Counter[str] = field(default_factory=Counter)  # e.g. "episodes.created": 2


class _Refused(Exception):
    def __init__(self, issue: ImportIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


@dataclass(frozen=True, slots=True)
class LoadSettings:
    rules: ScheduleRules
    year_ending: date
    recorded_by: str


async def load_children(
    session: AsyncSession, plans: list[ChildPlan], settings: LoadSettings
) -> list[ChildLoaded]:
    # Locked here, outside the savepoints, so that rolling one back keeps the locks: the retry
    # below never re-takes them one at a time in plan order (a deadlock with another writer).
    found = await _held(session, [p.external_id for p in plans])
    await lock_children(session, list(found.values()))
    try:
        async with session.begin_nested():
            return await _load_together(session, plans, settings)
    except IntegrityError:
        pass  # written again one child at a time, below
    results = []
    for plan in plans:
        try:
            async with session.begin_nested():
                results.extend(await _load_together(session, [plan], settings))
        except IntegrityError:
            results.append(ChildLoaded(plan.external_id, "rejected", [_conflict(plan)]))
    return results


async def _load_together(
    session: AsyncSession, plans: list[ChildPlan], settings: LoadSettings
) -> list[ChildLoaded]:
    ids = await _held(session, [p.external_id for p in plans])
    casefiles = await load_casefiles(session, ids.values(), for_update=True)
    outcomes = await _outcomes_of(session, list(ids.values()), settings.year_ending)
    results, accepted, new = [], [], []
    for plan in plans:
        casefile = casefiles.get(ids[plan.external_id]) if plan.external_id in ids else None
        result = ChildLoaded(plan.external_id, "created" if casefile is None else "unchanged")
        results.append(result)
        if casefile is None and _bulk_ok(plan):
            new.append((plan, result))
            continue
        try:
            _check_against_held(plan, casefile)
        except _Refused as refused:
            result.outcome = "rejected"
            result.issues.append(refused.issue)
            continue
        if casefile is None:
            casefile = _new_child(session, plan)
        accepted.append((plan, casefile, result))
    if accepted:
        await session.flush()  # children first: their records refer to them
        for plan, casefile, result in accepted:
            _apply_records(session, plan, casefile, result, settings)
            _apply_outcome(session, plan, casefile.child.id, outcomes, result, settings)
            assess_chain(casefile, settings.rules)
            if result.outcome == "unchanged" and result.changes:
                result.outcome = "updated"
        await session.flush()
    if new:
        await _insert_new(session, new, settings)
    return results


async def _held(session: AsyncSession, external_ids: list[str]) -> dict[str, uuid.UUID]:
    """The ids of the children already held, by external id. On PostgreSQL a join to the list
    unnested: `external_id = ANY(:ids)` is planned as a scan of the whole table while it has no
    statistics (a first load), 500 comparisons a row, each chunk slower than the last."""
    if session.get_bind().dialect.name != "postgresql":
        query = select(Child.external_id, Child.id).where(Child.external_id.in_(external_ids))
    else:
        wanted = (
            func.unnest(bindparam(None, external_ids, type_=ARRAY(String)))
            .table_valued("external_id")
            .render_derived()
        )
        query = select(Child.external_id, Child.id).join(
            wanted, Child.external_id == wanted.c.external_id
        )
    return {external_id: child_id for external_id, child_id in await session.execute(query)}


def _bulk_ok(plan: ChildPlan) -> bool:
    """A new child whose rows can be written with bulk inserts: one episode per start date and
    one review per date, as the reader ensures (anything else takes the ORM path, which matches
    a second episode or review of a date to the first)."""
    starts = {e.start_on for e in plan.episodes}
    held = {r.held_on for r in plan.reviews}
    return len(starts) == len(plan.episodes) and len(held) == len(plan.reviews)


@dataclass(slots=True)
class _NewEpisode:
    """What `assess_chain` reads of an episode not yet written."""

    start_on: date
    end_on: date | None
    legal_status: str
    reason_new_episode: str


@dataclass(slots=True)
class _NewReview:
    """What `assess_chain` reads and sets of a review not yet written."""

    id: uuid.UUID
    held_on: date
    series_started_on: date | None = None
    period_started_on: date | None = None
    sequence: str | None = None
    due_by: date | None = None
    in_timescale: bool | None = None
    late_reason: str | None = None
    late_reason_text: str | None = None


_CHILD_COLUMNS = ("id", "external_id", "date_of_birth", "sex", "version")
_EPISODE_COLUMNS = (
    "id",
    "child_id",
    "external_id",
    "start_on",
    "end_on",
    "reason_new_episode",
    "legal_status",
    "placement",
    "reason_ended",
    "version",
)
_REVIEW_COLUMNS = (
    "id",
    "child_id",
    "held_on",
    "participation_code",
    "created_by",
    "version",
    "period_started_on",
    "sequence",
    "due_by",
    "in_timescale",
)
_OUTCOME_COLUMNS = ("id", "child_id", "year_ending", "sdq_score", "sdq_reason", *OUTCOME_FLAGS)
_STAMPS = ("created_at", "updated_at")


async def _insert_new(
    session: AsyncSession, new: list[tuple[ChildPlan, ChildLoaded]], settings: LoadSettings
) -> None:
    """Write children not yet held a table at a time (a `COPY` on PostgreSQL, a Core
    executemany elsewhere), not as ORM objects: the rows the ORM path would write, their
    reviews assessed by the same `assess_chain`, and the same aggregates marked changed for the
    events published at commit (iro_kit.events.tracking)."""
    now = datetime.now(UTC)  # the models' created_at and updated_at, set in Python as they are
    stamps = (now, now)
    children: list[tuple[Any, ...]] = []
    episodes: list[tuple[Any, ...]] = []
    reviews: list[tuple[Any, ...]] = []
    outcomes: list[tuple[Any, ...]] = []
    changed: list[Aggregate] = []
    recorded_by, year_ending = settings.recorded_by, settings.year_ending
    for plan, result in new:
        child_id = uuid.uuid4()
        child = plan.external_id
        children.append((child_id, child, plan.date_of_birth, plan.sex, 1, *stamps))
        changed.append(("child.changed", child_id))
        facts = []
        for e in plan.episodes:
            episodes.append(
                (
                    uuid.uuid4(),
                    child_id,
                    e.external_id(child),
                    e.start_on,
                    e.end_on,
                    e.reason_new_episode,
                    e.legal_status,
                    e.placement,
                    e.reason_ended,
                    1,
                    *stamps,
                )
            )
            facts.append(_NewEpisode(e.start_on, e.end_on, e.legal_status, e.reason_new_episode))
        if plan.episodes:
            result.changes["episodes.created"] += len(plan.episodes)
        held = [_NewReview(uuid.uuid4(), r.held_on) for r in plan.reviews]
        if held:
            result.changes["reviews.created"] += len(held)
        casefile = CaseFile(cast(Child, None), cast(list[Episode], facts), cast(list[Review], held))
        assess_chain(casefile, settings.rules)  # the pure schedule, as on the ORM path
        for review, planned in zip(held, plan.reviews, strict=True):
            reviews.append(
                (
                    review.id,
                    child_id,
                    review.held_on,
                    planned.participation_code,
                    recorded_by,
                    1,
                    review.period_started_on,
                    review.sequence,
                    review.due_by,
                    review.in_timescale,
                    *stamps,
                )
            )
            changed.append(("review.changed", review.id))
        if plan.outcome is not None:
            outcome = plan.outcome
            flags = [outcome.flags.get(name) for name in OUTCOME_FLAGS]
            outcomes.append(
                (
                    uuid.uuid4(),
                    child_id,
                    year_ending,
                    outcome.sdq_score,
                    outcome.sdq_reason,
                    *flags,
                    *stamps,
                )
            )
            result.changes["outcomes.created"] += 1
    for table, columns, rows in (
        (_CHILD, _CHILD_COLUMNS, children),  # children first: their records refer to them
        (_EPISODE, _EPISODE_COLUMNS, episodes),
        (_REVIEW, _REVIEW_COLUMNS, reviews),
        (_OUTCOME, _OUTCOME_COLUMNS, outcomes),
    ):
        if rows:
            await _write_rows(session, table, (*columns, *_STAMPS), rows)
    if session.info.get(PUBLISHER_KEY) is not None:  # as the flush hook marks ORM objects
        session.info.setdefault(CHANGED_KEY, set()).update(changed)


async def _write_rows(
    session: AsyncSession, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Insert rows in the session's transaction (its open savepoint). A refusal by the database
    is an IntegrityError, whichever way the rows went, for `load_children` to retry."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await connection.execute(
            insert(table), [dict(zip(columns, row, strict=True)) for row in rows]
        )
        return
    raw = (await connection.get_raw_connection()).driver_connection
    try:
        await raw.copy_records_to_table(table.name, records=rows, columns=list(columns))
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(f"COPY {table.name}", None, exc) from exc


async def _outcomes_of(
    session: AsyncSession, child_ids: list[uuid.UUID], year_ending: date
) -> dict[uuid.UUID, AnnualOutcome]:
    if not child_ids:
        return {}
    rows = await session.scalars(
        select(AnnualOutcome).where(
            id_in(session, AnnualOutcome.child_id, child_ids),
            AnnualOutcome.year_ending == year_ending,
        )
    )
    return {row.child_id: row for row in rows}


def _matching(casefile: CaseFile, child: str, planned: EpisodePlan) -> Episode | None:
    external_id = planned.external_id(child)
    for episode in casefile.episodes:
        if episode.external_id == external_id:
            return episode
    for episode in casefile.episodes:
        if episode.start_on == planned.start_on:
            return episode
    return None


def _check_against_held(plan: ChildPlan, casefile: CaseFile | None) -> None:
    """Refuse the child if the return contradicts what is held; nothing is changed here."""
    if casefile is None:
        return
    matched = {_matching(casefile, plan.external_id, e) for e in plan.episodes} - {None}
    others = [e for e in casefile.episodes if e not in matched]
    recorded = [e.start_on for e in others] + [
        r.held_on for r in casefile.reviews if r.held_on is not None
    ]
    if recorded and min(recorded) < plan.date_of_birth:
        raise _Refused(
            _issue(
                plan,
                plan.file,
                plan.line,
                "DOB",
                "records_before_birth",
                f"DOB {format_date(plan.date_of_birth)} is after the child's first record "
                f"already held, {format_date(min(recorded))}.",
            )
        )
    for planned in plan.episodes:
        for other in others:  # the rule of children.service for an episode added by the API
            if (other.end_on is None or planned.start_on < other.end_on) and (
                planned.end_on is None or planned.end_on > other.start_on
            ):
                raise _Refused(
                    _issue(
                        plan,
                        planned.file,
                        planned.line,
                        "DECOM",
                        "overlaps_recorded_episode",
                        f"The episode from {format_date(planned.start_on)} overlaps an episode "
                        f"already held for the child, from {format_date(other.start_on)} "
                        f"(id {other.id}).",
                    )
                )


def _new_child(session: AsyncSession, plan: ChildPlan) -> CaseFile:
    child = Child(
        id=uuid.uuid4(),
        external_id=plan.external_id,
        date_of_birth=plan.date_of_birth,
        sex=plan.sex,
        version=1,
    )
    session.add(child)
    return CaseFile(child)


def _apply_records(
    session: AsyncSession,
    plan: ChildPlan,
    casefile: CaseFile,
    result: ChildLoaded,
    settings: LoadSettings,
) -> None:
    child = casefile.child
    if result.outcome != "created" and (child.date_of_birth, child.sex) != (
        plan.date_of_birth,
        plan.sex,
    ):
        child.date_of_birth, child.sex = plan.date_of_birth, plan.sex
        child.version += 1
        result.changes["children.updated"] += 1
    for planned in plan.episodes:
        _apply_episode(session, plan, casefile, planned, result)
    reviews = {r.held_on: r for r in casefile.reviews if r.held_on is not None}
    for planned_review in plan.reviews:
        review = reviews.get(planned_review.held_on)
        if review is None:
            review = Review(
                id=uuid.uuid4(),
                child_id=casefile.child.id,
                held_on=planned_review.held_on,
                participation_code=planned_review.participation_code,
                created_by=settings.recorded_by,
                version=1,
            )
            session.add(review)
            casefile.reviews.append(review)
            result.changes["reviews.created"] += 1
        elif review.participation_code != planned_review.participation_code:
            review.participation_code = planned_review.participation_code
            review.version += 1
            result.changes["reviews.updated"] += 1


def _apply_episode(
    session: AsyncSession,
    plan: ChildPlan,
    casefile: CaseFile,
    planned: EpisodePlan,
    result: ChildLoaded,
) -> None:
    episode = _matching(casefile, plan.external_id, planned)
    values = {name: getattr(planned, name) for name in _EPISODE_FIELDS}
    if episode is None:
        episode = Episode(
            id=uuid.uuid4(),
            child_id=casefile.child.id,
            external_id=planned.external_id(plan.external_id),
            start_on=planned.start_on,
            **values,
        )
        session.add(episode)
        casefile.episodes.append(episode)
        result.changes["episodes.created"] += 1
    elif any(getattr(episode, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(episode, name, value)
        episode.version += 1
        result.changes["episodes.updated"] += 1


def _apply_outcome(
    session: AsyncSession,
    plan: ChildPlan,
    child_id: uuid.UUID,
    outcomes: dict[uuid.UUID, AnnualOutcome],
    result: ChildLoaded,
    settings: LoadSettings,
) -> None:
    if plan.outcome is None:
        return
    values = {
        "sdq_score": plan.outcome.sdq_score,
        "sdq_reason": plan.outcome.sdq_reason,
        **plan.outcome.flags,
    }
    existing = outcomes.get(child_id)
    if existing is None:
        session.add(
            AnnualOutcome(
                id=uuid.uuid4(), child_id=child_id, year_ending=settings.year_ending, **values
            )
        )
        result.changes["outcomes.created"] += 1
    elif any(getattr(existing, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(existing, name, value)
        result.changes["outcomes.updated"] += 1


def _issue(
    plan: ChildPlan, file: str, line: int, column: str, code: str, message: str
) -> ImportIssue:
    return ImportIssue(file, line, plan.external_id, column, code, message)


def _conflict(plan: ChildPlan) -> ImportIssue:
    return _issue(
        plan,
        plan.file,
        plan.line,
        "CHILD",
        "conflict",
        "The child's records conflict with records already held (for example an episode "
        "deleted as a mistake, or an import of the same child running at the same time); "
        "import the return again to retry.",
    )
