"""Routes for IROs, allocations and caseloads."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Response, status
from sqlalchemy import select

from iro_kit import audit
from iro_kit.dates import AsAt
from iro_kit.db import SessionDep
from iro_kit.errors import NotFound, problem_responses
from iro_kit.pagination import Page, PageDep
from iro_kit.versioning import IfMatch
from reviews_api.children.schemas import Deletion
from reviews_api.deps import (
    Allocator,
    IroAdmin,
    Reader,
)
from reviews_api.iros import service
from reviews_api.iros.schemas import (
    AllocationCreate,
    AllocationRead,
    Caseload,
    CaseloadSummary,
    IroCreate,
    IroRead,
    IroUpdate,
    Reallocation,
    ReallocationLetter,
)
from reviews_api.models import Allocation, Iro
from reviews_api.versions import (
    IF_MATCH_REQUIRED,
    changed_responses,
    created_responses,
    deleted_responses,
    read_responses,
    with_etag,
)

router = APIRouter(prefix="/reviews/v1", tags=["iros"])
READ_ERRORS = problem_responses(401, 403, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)


@router.post(
    "/iros",
    status_code=status.HTTP_201_CREATED,
    summary="Add an IRO",
    description="An IRO with their FTE and the dates they are in post.",
    responses=created_responses("IRO", WRITE_ERRORS),
)
async def create_iro(
    body: IroCreate, session: SessionDep, _: IroAdmin, response: Response
) -> IroRead:
    iro = await service.create_iro(session, body)
    response.headers["Location"] = f"/reviews/v1/iros/{iro.id}"
    with_etag(response, iro)
    return IroRead.model_validate(iro)


@router.get("/iros", summary="List IROs", description="By name. ", responses=READ_ERRORS)
async def list_iros(session: SessionDep, _: Reader, page: PageDep) -> Page[IroRead]:
    rows = list(
        await session.scalars(
            select(Iro).order_by(Iro.name, Iro.id).offset(page.offset).limit(page.limit + 1)
        )
    )
    items = [IroRead.model_validate(i) for i in rows[: page.limit]]
    return page.page(items, has_more=len(rows) > page.limit)


@router.get(
    "/iros/suggestion",
    summary="The IRO with most room for a new child",
    description="Among IROs in post on `as_at`, the one furthest below the handbook maximum of "
    "70 children per full-time IRO (70 x FTE - allocated children).",
    responses=READ_ERRORS,
)
async def suggest_iro(session: SessionDep, _: Reader, as_at: AsAt) -> Caseload:
    best = service.most_room(await service.caseloads(session, as_at))
    if best is None:
        raise NotFound("No IRO is in post on that day.")
    return best


# `:uuid`: only an id matches, so another method on `/iros/suggestion` is a 405, not a 422
# from this route reading "suggestion" as an id.
@router.get(
    "/iros/{iro_id:uuid}",
    summary="Get an IRO",
    responses=read_responses("IRO", READ_ERRORS),
)
async def get_iro(iro_id: uuid.UUID, session: SessionDep, _: Reader, response: Response) -> IroRead:
    iro = await service.get_iro(session, iro_id)
    with_etag(response, iro)
    return IroRead.model_validate(iro)


@router.patch(
    "/iros/{iro_id:uuid}",
    summary="Change an IRO's details",
    description="Set `end_on` when an IRO leaves, then reallocate their children. Needs "
    "`If-Match` with the IRO's ETag.",
    responses=changed_responses("IRO", WRITE_ERRORS),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_iro(
    iro_id: uuid.UUID,
    body: IroUpdate,
    session: SessionDep,
    _: IroAdmin,
    if_match: IfMatch,
    response: Response,
) -> IroRead:
    iro = await service.update_iro(session, iro_id, body, if_match)
    with_etag(response, iro)
    return IroRead.model_validate(iro)


@router.get(
    "/caseloads",
    summary="Caseloads of every IRO in post",
    description="Looked after children (V3/V4 short breaks left out) allocated to each IRO on "
    "`as_at`, their FTE, caseload per FTE and whether it is inside the IRO Handbook's 50-70; "
    "and the service's average caseload (children / total FTE).",
    responses=READ_ERRORS,
)
async def get_caseloads(session: SessionDep, _: Reader, as_at: AsAt) -> CaseloadSummary:
    return await service.caseloads(session, as_at)


@router.get(
    "/iros/{iro_id:uuid}/caseload",
    summary="One IRO's caseload",
    responses=READ_ERRORS,
)
async def get_caseload(iro_id: uuid.UUID, session: SessionDep, _: Reader, as_at: AsAt) -> Caseload:
    iro = await service.get_iro(session, iro_id)
    summary = await service.caseloads(session, as_at)
    found = next((c for c in summary.iros if c.iro_id == iro_id), None)
    return found or Caseload(
        iro_id=iro.id,
        name=iro.name,
        fte=float(iro.fte),
        children=0,
        short_break_children=0,
        caseload_per_fte=None,
        within_handbook_range=None,
        room=0,
    )


@router.post(
    "/children/{child_id}/allocations",
    status_code=status.HTTP_201_CREATED,
    summary="Allocate a child to an IRO",
    description="From `start_on`; the previous allocation ends the day before, and the history is "
    "kept. An IRO should be allocated within 5 working days of the child becoming looked after.",
    responses=created_responses("allocation", WRITE_ERRORS),
)
async def allocate(
    child_id: uuid.UUID,
    body: AllocationCreate,
    session: SessionDep,
    principal: Allocator,
    response: Response,
) -> AllocationRead:
    allocation, _ = await service.allocate(session, child_id, body, principal.subject)
    audit.touched(resource_type="allocation", resource_id=allocation.id)
    response.headers["Location"] = f"/reviews/v1/children/{child_id}/allocations"
    with_etag(response, allocation)
    return AllocationRead.model_validate(allocation)


@router.get(
    "/children/{child_id}/allocations",
    summary="A child's allocation history",
    description="Oldest first.",
    responses=READ_ERRORS,
)
async def allocation_history(
    child_id: uuid.UUID, session: SessionDep, _: Reader
) -> list[AllocationRead]:
    rows = await service.allocation_history(session, child_id)
    return [AllocationRead.model_validate(a) for a in rows]


@router.delete(
    "/allocations/{allocation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a mistaken allocation",
    description="Who deleted it and why are kept. Needs `If-Match` with the allocation's ETag.",
    responses=deleted_responses(WRITE_ERRORS),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def delete_allocation(
    allocation_id: uuid.UUID,
    body: Annotated[Deletion, Body()],
    session: SessionDep,
    principal: Allocator,
    if_match: IfMatch,
) -> None:
    await service.delete_allocation(
        session, allocation_id, body.reason, principal.subject, if_match
    )
    deleted = await session.get(Allocation, allocation_id)  # still in the session: no query
    audit.touched(child_ids=[deleted.child_id if deleted else None])


@router.post(
    "/iros/{iro_id:uuid}/reallocate",
    summary="Reallocate an IRO's children",
    description="When an IRO leaves: every child allocated to them on `start_on` moves to the IRO "
    "named in `assignments`, or else to the IRO with most room at that moment. Returns, for "
    "each child, the new IRO's name for the letter to the child.",
    responses=WRITE_ERRORS,
)
async def reallocate(
    iro_id: uuid.UUID, body: Reallocation, session: SessionDep, principal: Allocator
) -> list[ReallocationLetter]:
    letters = await service.reallocate(session, iro_id, body, principal.subject)
    audit.touched(child_ids=[letter.child_id for letter in letters])
    return letters
