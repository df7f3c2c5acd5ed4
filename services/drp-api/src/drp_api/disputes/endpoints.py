"""Routes for disputes: raise, read, list, history, and one POST per transition."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from drp_api.deps import (
    Actor,
    Reader,
    RulesDep,
    SettingsDep,
    TrackerReader,
)
from drp_api.disputes import examples, history, reads, service
from drp_api.disputes.lifecycle import Category, Outcome, ProcessRules, Status
from drp_api.disputes.schemas import (
    ActionRead,
    CafcassReferral,
    DisputeRaise,
    DisputeRead,
    DisputeSummary,
    Escalation,
    ProcessRead,
    ProcessStage,
    Reopening,
    Resolution,
    ResponseRecord,
    TransitionRequest,
    Withdrawal,
)
from drp_api.disputes.service import DisputeSort
from drp_api.disputes.versioning import IF_MATCH_REQUIRED, IfMatch, etag
from drp_api.models import Dispute
from iro_kit import audit
from iro_kit.auth import Principal
from iro_kit.dates import today
from iro_kit.db import SessionDep
from iro_kit.errors import problem_responses
from iro_kit.exports import ExportFormat, file_content, file_response, format_dependency
from iro_kit.pagination import Page, PageDep

router = APIRouter(prefix="/drp/v1", tags=["disputes"])

_ETAG = {
    "ETag": {"description": 'The dispute\'s version, e.g. `"3"`.', "schema": {"type": "string"}}
}
READ_ERRORS = problem_responses(401, 403, 404, 422)
_TRANSITION_ERRORS = problem_responses(401, 403, 404, 409, 412, 422, 428)
_TRANSITION_ERRORS[409]["description"] = (
    "Not allowed in the dispute's state (`transition-not-allowed`, `dispute-closed`, "
    "`outcome-required`, `reopen-window-closed`). The problem adds `current_state` (the "
    "status), `current_stage` and `allowed_transitions`."
)
TRANSITION_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The dispute after the transition.", "headers": _ETAG},
    **_TRANSITION_ERRORS,
}


def _returns(transition: str, status_code: int = 200) -> dict[int | str, dict[str, Any]]:
    """The route's success response: its example dispute, with the ETag that dispute carries."""
    dispute = examples.DISPUTES[transition]
    header = {"ETag": {**_ETAG["ETag"], "example": f'"{dispute["version"]}"'}}
    return {
        status_code: {
            "headers": header,
            "content": {"application/json": {"example": dispute}},
        }
    }


def _transition_responses(transition: str) -> dict[int | str, dict[str, Any]]:
    returns = _returns(transition)[200]
    return {**TRANSITION_RESPONSES, 200: {**TRANSITION_RESPONSES[200], **returns}}


_RAISE_ERRORS = problem_responses(401, 403, 404, 422)
_RAISE_ERRORS[404]["description"] = (
    "`not-found`: drp-api's copy of reviews-api's children and IROs has no child with "
    "`child_id` (or it was deleted) or no IRO with `iro_id`; `errors` names the field."
)
_RAISE_ERRORS[422]["description"] = (
    "`validation-error`: a field is missing or invalid, or the body carries a field the route "
    "does not take (a child's or IRO's name or case id: they come from the copy); `errors` "
    "names each field."
)

_RULES = (
    " Needs `If-Match` with the dispute's ETag (428 without it; 412 when the dispute has changed "
    "since it was read) and returns the new ETag. The date defaults to today (Europe/London) and "
    "may be neither in the future nor before the dispute's previous action (422 naming the "
    "field), so a backlog can be entered with its real dates. A transition the dispute's state "
    "does not allow is a 409 naming the current state and the allowed transitions."
)


def _with_etag(response: Response, dispute: Dispute) -> None:
    response.headers["ETag"] = etag(dispute.version)


async def _read(
    session: SessionDep, dispute: Dispute, rules: ProcessRules, response: Response
) -> DisputeRead:
    _with_etag(response, dispute)
    audit.touched(child_ids=[dispute.child_id], resource_type="dispute", resource_id=dispute.id)
    actions = await history.actions_of(session, dispute.id)
    return reads.dispute_read(dispute, actions, rules, today())


async def _transition(
    session: SessionDep,
    dispute_id: uuid.UUID,
    if_match: frozenset[int] | None,
    body: TransitionRequest,
    rules: ProcessRules,
    principal: Principal,
    response: Response,
) -> DisputeRead:
    dispute = await service.take_transition(
        session, dispute_id, if_match, body, rules, principal, today()
    )
    return await _read(session, dispute, rules, response)


@router.get(
    "/process",
    summary="Stages, themes and outcomes",
    description="The process as this deployment configures it (DOMAIN.md, DRP): stage names and "
    "deadlines in working days, the overall timescale, the reopen window, theme codes and "
    "labels, outcomes and categories.",
    responses=problem_responses(401, 403),
)
async def get_process(_: TrackerReader, rules: RulesDep, settings: SettingsDep) -> ProcessRead:
    return ProcessRead(
        stages=[
            ProcessStage(
                number=s.number,
                name=s.name,
                working_days=s.working_days,
                cafcass=s.number == rules.cafcass_stage,
            )
            for s in rules.stages
        ],
        overall_working_days=rules.overall_working_days,
        reopen_window_working_days=rules.reopen_window_working_days,
        themes=settings.themes,
        outcomes=list(Outcome),
        categories=list(Category),
    )


@router.post(
    "/disputes",
    status_code=status.HTTP_201_CREATED,
    summary="Raise a dispute",
    description="An IRO raises a dispute about a looked after child (`lac`) or a child "
    "protection case (`cp`), at stage 1 or, bypassing earlier stages, at a higher stage inside "
    "the authority. It gets a reference `DRP-<year raised>-<sequence>`, a stage deadline and an "
    "overall deadline of 20 working days (both configurable, counted in England's working "
    "days). `raised_on` defaults to today and may not be in the future. Themes come from the "
    "configured list (GET /drp/v1/process). The child and the IRO are named by id only "
    "(`child_id`, `iro_id`): their case id and names come from drp-api's copy of reviews-api's "
    "children and IROs, kept from its events; a child or IRO it has never heard of is a 404 "
    "naming the field, and a name or case id in the request is a 422 naming it. Returns the "
    "dispute with its ETag.",
    responses={**_returns("raise", 201), **_RAISE_ERRORS},
)
async def raise_dispute(
    body: DisputeRaise,
    session: SessionDep,
    principal: Actor,
    rules: RulesDep,
    settings: SettingsDep,
    response: Response,
) -> DisputeRead:
    dispute = await service.raise_dispute(session, body, rules, settings.themes, principal, today())
    response.headers["Location"] = f"/drp/v1/disputes/{dispute.id}"
    return await _read(session, dispute, rules, response)


@router.get(
    "/disputes",
    summary="List disputes",
    description="Newest first by default (`sort`: `raised_on`, `-raised_on`, `reference`, "
    "`-reference`). Filters match the current state.",
    responses=READ_ERRORS,
)
async def list_disputes(
    session: SessionDep,
    _: Reader,
    rules: RulesDep,
    page: PageDep,
    status: Status | None = None,
    category: Category | None = None,
    stage: Annotated[int | None, Query(ge=1, le=50)] = None,
    child_id: uuid.UUID | None = None,
    child_external_id: Annotated[str | None, Query(description="The case system's id.")] = None,
    iro_id: Annotated[uuid.UUID | None, Query(description="The IRO who raised it.")] = None,
    reference: Annotated[str | None, Query(examples=["DRP-2017-0042"])] = None,
    sort: DisputeSort = DisputeSort.raised_on_desc,
) -> Page[DisputeSummary]:
    rows, more, total = await service.list_disputes(
        session,
        page,
        sort,
        status=status,
        category=category,
        stage=stage,
        child_id=child_id,
        child_external_id=child_external_id,
        iro_id=iro_id,
        reference=reference,
    )
    audit.touched(child_ids=[d.child_id for d in rows])
    day = today()
    return page.page(
        [reads.dispute_summary(d, rules, day) for d in rows], has_more=more, total=total
    )


@router.get(
    "/disputes/{dispute_id}",
    summary="Get a dispute",
    description="The dispute with every stage it has been at (who was asked, their responses) "
    "and the transitions allowed today. The `ETag` header carries its version.",
    responses={**_returns("escalate"), **READ_ERRORS},
)
async def get_dispute(
    dispute_id: uuid.UUID, session: SessionDep, _: Reader, rules: RulesDep, response: Response
) -> DisputeRead:
    return await _read(session, await service.get_dispute(session, dispute_id), rules, response)


_TIMELINE = format_dependency(
    ExportFormat.json, ExportFormat.csv, ExportFormat.xlsx, ExportFormat.html
)


@router.get(
    "/disputes/{dispute_id}/history",
    summary="A dispute's history",
    description="Every action on the dispute, oldest first, with the day it happened, who "
    "recorded it and what it said. The history is append-only: nothing changes or removes an "
    "entry. As JSON, or as a printable timeline: HTML (`text/html`), CSV or XLSX by `Accept` "
    "or `?format=`.",
    response_model=list[ActionRead],
    responses={
        200: {
            "content": {
                "application/json": {"example": examples.HISTORY},
                **file_content(ExportFormat.csv, ExportFormat.xlsx, ExportFormat.html)[200][
                    "content"
                ],
            }
        },
        **problem_responses(401, 403, 404, 406, 422),
    },
)
async def get_history(
    dispute_id: uuid.UUID,
    session: SessionDep,
    _: Reader,
    rules: RulesDep,
    chosen: Annotated[ExportFormat, Depends(_TIMELINE)],
) -> Any:
    dispute = await service.get_dispute(session, dispute_id)
    audit.touched(child_ids=[dispute.child_id], resource_type="dispute", resource_id=dispute.id)
    entries = reads.actions_read(await history.actions_of(session, dispute_id), rules)
    if chosen is ExportFormat.json:
        return entries
    printed_on = today()
    return file_response(
        reads.timeline(dispute, entries),
        chosen,
        f"{dispute.reference}-history-{printed_on}",
        reads.timeline_heading(dispute, rules, printed_on),
    )


@router.post(
    "/disputes/{dispute_id}/respond",
    summary="Record a response",
    description="A response at the dispute's current stage, recorded on behalf of the person "
    "who gave it (`responder`). The stage and its deadline do not change." + _RULES,
    responses=_transition_responses("respond"),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def respond(
    dispute_id: uuid.UUID,
    body: ResponseRecord,
    session: SessionDep,
    principal: Actor,
    if_match: IfMatch,
    rules: RulesDep,
    response: Response,
) -> DisputeRead:
    return await _transition(session, dispute_id, if_match, body, rules, principal, response)


@router.post(
    "/disputes/{dispute_id}/escalate",
    summary="Escalate a dispute",
    description="To the next stage, or any higher stage inside the authority (`to_stage`; "
    "skipping stages is allowed). The new stage's deadline counts its working days (default 5) "
    "from `escalated_on`. The last stage is the referral to Cafcass: use refer-to-cafcass; from "
    "the last internal stage escalation is a 409." + _RULES,
    responses=_transition_responses("escalate"),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def escalate(
    dispute_id: uuid.UUID,
    body: Escalation,
    session: SessionDep,
    principal: Actor,
    if_match: IfMatch,
    rules: RulesDep,
    response: Response,
) -> DisputeRead:
    return await _transition(session, dispute_id, if_match, body, rules, principal, response)


@router.post(
    "/disputes/{dispute_id}/refer-to-cafcass",
    summary="Refer a dispute to Cafcass",
    description="From any stage: the dispute moves to the last stage (referral to Cafcass, "
    "outside the authority, no internal deadline) and ends with status `referred_to_cafcass` "
    "(IRO Handbook: the IRO may refer to Cafcass at any point)." + _RULES,
    responses=_transition_responses("refer_to_cafcass"),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def refer_to_cafcass(
    dispute_id: uuid.UUID,
    body: CafcassReferral,
    session: SessionDep,
    principal: Actor,
    if_match: IfMatch,
    rules: RulesDep,
    response: Response,
) -> DisputeRead:
    return await _transition(session, dispute_id, if_match, body, rules, principal, response)


@router.post(
    "/disputes/{dispute_id}/resolve",
    summary="Resolve a dispute",
    description="Resolved at its current stage with one or more `outcomes` and a `summary`. "
    "Resolving without an outcome is refused like any transition the state does not allow "
    "(409 `outcome-required`)." + _RULES,
    responses=_transition_responses("resolve"),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def resolve(
    dispute_id: uuid.UUID,
    body: Resolution,
    session: SessionDep,
    principal: Actor,
    if_match: IfMatch,
    rules: RulesDep,
    response: Response,
) -> DisputeRead:
    return await _transition(session, dispute_id, if_match, body, rules, principal, response)


@router.post(
    "/disputes/{dispute_id}/withdraw",
    summary="Withdraw a dispute",
    description="The IRO withdraws the dispute, giving a `reason`." + _RULES,
    responses=_transition_responses("withdraw"),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def withdraw(
    dispute_id: uuid.UUID,
    body: Withdrawal,
    session: SessionDep,
    principal: Actor,
    if_match: IfMatch,
    rules: RulesDep,
    response: Response,
) -> DisputeRead:
    return await _transition(session, dispute_id, if_match, body, rules, principal, response)


@router.post(
    "/disputes/{dispute_id}/reopen",
    summary="Reopen a dispute",
    description="A resolved or withdrawn dispute opens again at the stage it closed at, within "
    "the reopen window (default 20 working days after it closed; 409 `reopen-window-closed` "
    "after). The stage deadline restarts from `reopened_on`; the overall deadline still runs "
    "from the day it was raised. A referral to Cafcass is not reopened." + _RULES,
    responses=_transition_responses("reopen"),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def reopen(
    dispute_id: uuid.UUID,
    body: Reopening,
    session: SessionDep,
    principal: Actor,
    if_match: IfMatch,
    rules: RulesDep,
    response: Response,
) -> DisputeRead:
    return await _transition(session, dispute_id, if_match, body, rules, principal, response)
