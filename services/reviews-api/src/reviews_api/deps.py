"""What every reviews-api route shares: roles, the schedule rules, the day asked about."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from iro_kit.auth import Principal, Role, require_roles
from iro_kit.schedule import ScheduleRules

READ_ROLES = (Role.iro, Role.iro_manager, Role.business_support, Role.performance)
RECORD_ROLES = (Role.iro, Role.iro_manager, Role.business_support)
ALLOCATE_ROLES = (Role.iro_manager,)
CASE_DATA_ROLES = (Role.integration, Role.business_support)
IRO_ADMIN_ROLES = (Role.iro_manager, Role.business_support)

Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Recorder = Annotated[Principal, Depends(require_roles(*RECORD_ROLES))]
Allocator = Annotated[Principal, Depends(require_roles(*ALLOCATE_ROLES))]
CaseDataWriter = Annotated[Principal, Depends(require_roles(*CASE_DATA_ROLES))]
IroAdmin = Annotated[Principal, Depends(require_roles(*IRO_ADMIN_ROLES))]


async def _rules(request: Request) -> ScheduleRules:
    return request.app.state.schedule_rules


RulesDep = Annotated[ScheduleRules, Depends(_rules)]
