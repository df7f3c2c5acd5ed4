"""Routes for children, episodes, periods of care and the schedule."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from iro_kit import audit
from iro_kit.dates import AsAt
from iro_kit.db import SessionDep
from iro_kit.errors import problem_responses
from iro_kit.pagination import Page, PageDep
from iro_kit.versioning import IfMatch
from reviews_api.casefile import load_casefile
from reviews_api.children import service
from reviews_api.children.schemas import (
    ChildCreate,
    ChildRead,
    ChildUpdate,
    Deletion,
    EpisodeCreate,
    EpisodeRead,
    EpisodeUpdate,
    PeriodOfCareRead,
    ScheduleRead,
)
from reviews_api.deps import (
    CaseDataWriter,
    Reader,
    RulesDep,
)
from reviews_api.models import Episode
from reviews_api.versions import (
    IF_MATCH_REQUIRED,
    changed_responses,
    created_responses,
    deleted_responses,
    read_responses,
    with_etag,
)

router = APIRouter(prefix="/reviews/v1", tags=["children"])
READ_ERRORS = problem_responses(401, 403, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)


@router.post(
    "/children",
    status_code=status.HTTP_201_CREATED,
    summary="Add a child",
    description="Adds a child from the case system; `external_id` is unique.",
    responses=created_responses("child", WRITE_ERRORS),
)
async def create_child(
    body: ChildCreate, session: SessionDep, _: CaseDataWriter, response: Response
) -> ChildRead:
    child = await service.create_child(session, body)
    audit.touched(child_ids=[child.id])
    response.headers["Location"] = f"/reviews/v1/children/{child.id}"
    with_etag(response, child)
    return ChildRead.model_validate(child)


@router.get(
    "/children",
    summary="List children",
    description="Sorted by family name. Filter by the case system's id, or by the IRO currently "
    "allocated.",
    responses=READ_ERRORS,
)
async def list_children(
    session: SessionDep,
    _: Reader,
    page: PageDep,
    external_id: Annotated[str | None, Query(description="The case system's id.")] = None,
    iro_id: Annotated[uuid.UUID | None, Query(description="Currently allocated IRO.")] = None,
) -> Page[ChildRead]:
    rows, more, total = await service.list_children(
        session, page, external_id=external_id, iro_id=iro_id
    )
    audit.touched(child_ids=[c.id for c in rows])
    return page.page([ChildRead.model_validate(c) for c in rows], has_more=more, total=total)


@router.get(
    "/children/{child_id}",
    summary="Get a child",
    responses=read_responses("child", READ_ERRORS),
)
async def get_child(
    child_id: uuid.UUID, session: SessionDep, _: Reader, response: Response
) -> ChildRead:
    child = await service.get_child(session, child_id)
    with_etag(response, child)
    return ChildRead.model_validate(child)


@router.patch(
    "/children/{child_id}",
    summary="Correct a child's details",
    description="Needs `If-Match` with the child's ETag.",
    responses=changed_responses("child", WRITE_ERRORS),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_child(
    child_id: uuid.UUID,
    body: ChildUpdate,
    session: SessionDep,
    _: CaseDataWriter,
    if_match: IfMatch,
    response: Response,
) -> ChildRead:
    child = await service.update_child(session, child_id, body, if_match)
    with_etag(response, child)
    return ChildRead.model_validate(child)


@router.get(
    "/children/{child_id}/episodes",
    summary="A child's episodes of care",
    description="Oldest first; deleted (mistaken) episodes are left out.",
    responses=READ_ERRORS,
)
async def list_episodes(child_id: uuid.UUID, session: SessionDep, _: Reader) -> list[EpisodeRead]:
    casefile = await load_casefile(session, child_id)
    return [EpisodeRead.model_validate(e) for e in casefile.episodes]


@router.post(
    "/children/{child_id}/episodes",
    status_code=status.HTTP_201_CREATED,
    summary="Add an episode of care",
    description="An episode (SSDA903 DECOM/DEC/RNE/LS). Overlapping another episode of the same "
    "child is a 409. Held reviews are reassessed against the new periods of care.",
    responses=created_responses("episode", WRITE_ERRORS),
)
async def add_episode(
    child_id: uuid.UUID,
    body: EpisodeCreate,
    session: SessionDep,
    _: CaseDataWriter,
    rules: RulesDep,
    response: Response,
) -> EpisodeRead:
    episode = await service.add_episode(session, child_id, body, rules)
    audit.touched(resource_type="episode", resource_id=episode.id)
    response.headers["Location"] = f"/reviews/v1/episodes/{episode.id}"
    with_etag(response, episode)
    return EpisodeRead.model_validate(episode)


@router.get(
    "/episodes/{episode_id}",
    summary="Get an episode",
    responses=read_responses("episode", READ_ERRORS),
)
async def get_episode(
    episode_id: uuid.UUID, session: SessionDep, _: Reader, response: Response
) -> EpisodeRead:
    episode = await service.get_episode(session, episode_id)
    audit.touched(child_ids=[episode.child_id])
    with_etag(response, episode)
    return EpisodeRead.model_validate(episode)


@router.patch(
    "/episodes/{episode_id}",
    summary="Correct or end an episode",
    description="Set `end_on` and `reason_ended` when the episode ends. Needs `If-Match` with "
    "the episode's ETag.",
    responses=changed_responses("episode", WRITE_ERRORS),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_episode(
    episode_id: uuid.UUID,
    body: EpisodeUpdate,
    session: SessionDep,
    _: CaseDataWriter,
    rules: RulesDep,
    if_match: IfMatch,
    response: Response,
) -> EpisodeRead:
    episode = await service.update_episode(session, episode_id, body, rules, if_match)
    audit.touched(child_ids=[episode.child_id])
    with_etag(response, episode)
    return EpisodeRead.model_validate(episode)


@router.delete(
    "/episodes/{episode_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a mistaken episode",
    description="Only for a record entered by mistake; the deletion, who made it and why are "
    "kept. Needs `If-Match` with the episode's ETag.",
    responses=deleted_responses(WRITE_ERRORS),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def delete_episode(
    episode_id: uuid.UUID,
    body: Annotated[Deletion, Body()],
    session: SessionDep,
    principal: CaseDataWriter,
    rules: RulesDep,
    if_match: IfMatch,
) -> None:
    await service.delete_episode(
        session, episode_id, body.reason, principal.subject, rules, if_match
    )
    deleted = await session.get(Episode, episode_id)  # still in the session: no query
    audit.touched(child_ids=[deleted.child_id if deleted else None])


@router.get(
    "/children/{child_id}/periods-of-care",
    summary="A child's periods of care",
    description="Episodes grouped into periods of care: each episode that starts on the day the "
    "previous one ended continues the period; RNE `S` starts a new one.",
    responses=READ_ERRORS,
)
async def list_periods(
    child_id: uuid.UUID, session: SessionDep, _: Reader
) -> list[PeriodOfCareRead]:
    casefile = await load_casefile(session, child_id)
    return [
        PeriodOfCareRead(
            start_on=p.start,
            end_on=p.end,
            clock=p.clock,
            legal_status=p.legal_status,
            episode_ids=casefile.episode_ids_of(p),
        )
        for p in casefile.periods()
    ]


@router.get(
    "/children/{child_id}/schedule",
    summary="A child's review schedule",
    description="The next review's due-by date and sequence, the last working day on or before "
    "it, the plan-by date (20 working days before), the pre-review visit window, the midway "
    "review date and a status, each date with the rule that produced it and the date it was "
    "counted from (Care Planning Regulations 2010 reg 33; reg 48 for short breaks). Computed as "
    "at `as_at` from records dated on or before it.",
    responses=READ_ERRORS,
)
async def get_schedule(
    child_id: uuid.UUID, session: SessionDep, _: Reader, rules: RulesDep, as_at: AsAt
) -> ScheduleRead:
    casefile = await load_casefile(session, child_id)
    schedule = casefile.schedule(rules, as_at)
    return ScheduleRead.model_validate(service.schedule_body(casefile, schedule, rules))
