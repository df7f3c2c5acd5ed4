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
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.db import id_in
from iro_kit.schedule import ScheduleRules
from reviews_api.casefile import CaseFile, load_casefiles, lock_children
from reviews_api.imports.dates import format_date
from reviews_api.imports.plan import ChildPlan, EpisodePlan, ImportIssue
from reviews_api.models import AnnualOutcome, Child, Episode, Review
from reviews_api.reviews.chain import assess_chain

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
    found = await session.scalars(
        select(Child.id).where(id_in(session, Child.external_id, [p.external_id for p in plans]))
    )
    await lock_children(session, list(found))
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
    found = await session.execute(
        select(Child.external_id, Child.id).where(
            id_in(session, Child.external_id, [p.external_id for p in plans])
        )
    )
    ids = {external_id: child_id for external_id, child_id in found}
    casefiles = await load_casefiles(session, ids.values(), for_update=True)
    outcomes = await _outcomes_of(session, list(ids.values()), settings.year_ending)
    results, accepted = [], []
    for plan in plans:
        casefile = casefiles.get(ids[plan.external_id]) if plan.external_id in ids else None
        result = ChildLoaded(plan.external_id, "created" if casefile is None else "unchanged")
        results.append(result)
        try:
            _check_against_held(plan, casefile)
        except _Refused as refused:
            result.outcome = "rejected"
            result.issues.append(refused.issue)
            continue
        if casefile is None:
            casefile = _new_child(session, plan)
        accepted.append((plan, casefile, result))
    await session.flush()  # children first: their records refer to them
    for plan, casefile, result in accepted:
        _apply_records(session, plan, casefile, result, settings)
        _apply_outcome(session, plan, casefile.child.id, outcomes, result, settings)
        assess_chain(casefile, settings.rules)
        if result.outcome == "unchanged" and result.changes:
            result.outcome = "updated"
    await session.flush()
    return results


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
