"""Routes for case systems pushing case data in batches."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from iro_kit import audit
from iro_kit.auth import Principal, Role, require_roles
from iro_kit.dates import today
from iro_kit.db import SessionDep
from iro_kit.errors import problem_responses
from reviews_api.deps import RulesDep
from reviews_api.integration.schemas import MAX_ITEMS, BatchResult, IntegrationBatch
from reviews_api.integration.service import apply_batch

router = APIRouter(prefix="/reviews/v1/integration", tags=["integration"])
Integrator = Annotated[Principal, Depends(require_roles(Role.integration))]


@router.post(
    "/batches",
    summary="Push a batch of case data",
    description=f"Upserts up to {MAX_ITEMS:,} items: children (by `external_id`), episodes "
    "(by `external_id`, linked to their child by `child_external_id`) and plan dates (care plan "
    "updated, PEP reviewed, health assessment completed, pathway plan updated, leaving care "
    "assessment started; kept as history). An item carries the record's current state in the "
    "case system; sending it again is `unchanged`. Each item is applied in its own savepoint "
    "and gets its own result, `created`, `updated`, `unchanged` or `failed` with an RFC 9457 "
    "problem naming the field (`/items/3/date_of_birth`); a failed item never undoes another. "
    "Items go through the same rules as the children and episodes routes (overlapping "
    "episodes, dates before birth...). **Order of arrival:** children are applied before "
    "episodes and plan dates, so a batch may carry a child and its records in any order; an "
    "episode or plan date whose child is not known yet fails alone with a 409 `unknown-child` "
    "(`retryable: true`): send it again after the child. Nothing is parked. **Retries:** with "
    "an `Idempotency-Key` header the first response is stored, and a retry with the same key "
    "and body gets it again (header `Idempotent-Replayed: true`) without applying anything; "
    "the same key with another body is a 422 `idempotency-key-reused`. A child's names may be "
    "omitted (null: kept as held).",
    response_model=BatchResult,
    responses=problem_responses(401, 403, 409, 422),
)
async def push_batch(
    body: IntegrationBatch,
    request: Request,
    session: SessionDep,
    principal: Integrator,
    rules: RulesDep,
    # Idempotency-Key: handled for every POST by iro_kit.idempotency (documented there).
) -> Any:
    result = await apply_batch(
        session,
        body.items,  # type: ignore[arg-type]
        rules=rules,
        recorded_by=principal.subject,
        today=today(),
        instance=request.url.path,
    )
    if isinstance(result, BatchResult):
        audit.touched(child_ids=[r.id for r in result.results if r.type == "child"])
    return result
