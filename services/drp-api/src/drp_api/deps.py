"""What every drp-api route shares: roles, the process rules, today and the day asked about."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from drp_api.disputes.lifecycle import ProcessRules
from drp_api.settings import Settings
from iro_kit.auth import Principal, Role, require_roles

ACT_ROLES = (Role.iro, Role.iro_manager)
READ_ROLES = (Role.iro, Role.iro_manager, Role.performance)
TRACKER_ROLES = (Role.iro, Role.iro_manager, Role.performance, Role.business_support)

Actor = Annotated[Principal, Depends(require_roles(*ACT_ROLES))]
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
TrackerReader = Annotated[Principal, Depends(require_roles(*TRACKER_ROLES))]


async def _rules(request: Request) -> ProcessRules:
    return request.app.state.process_rules


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


RulesDep = Annotated[ProcessRules, Depends(_rules)]
SettingsDep = Annotated[Settings, Depends(_settings)]
