"""What every drp-api route shares: roles, the process rules, today and the day asked about."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request

from drp_api.disputes.lifecycle import ProcessRules
from drp_api.settings import Settings
from iro_kit.auth import Principal, Role, require_roles, roles_text

ACT_ROLES = (Role.iro, Role.iro_manager)
READ_ROLES = (Role.iro, Role.iro_manager, Role.performance)
TRACKER_ROLES = (Role.iro, Role.iro_manager, Role.performance, Role.business_support)

Actor = Annotated[Principal, Depends(require_roles(*ACT_ROLES))]
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
TrackerReader = Annotated[Principal, Depends(require_roles(*TRACKER_ROLES))]

ACT_TEXT = roles_text(*ACT_ROLES)
READ_TEXT = roles_text(*READ_ROLES)
TRACKER_TEXT = roles_text(*TRACKER_ROLES)

_ENGLAND = ZoneInfo("Europe/London")


def today() -> date:
    """Today in England. Dates here are calendar dates in Europe/London."""
    return datetime.now(_ENGLAND).date()


def _as_at(
    as_at: Annotated[
        date | None,
        Query(description="The day to report on (default today); replays a past day exactly."),
    ] = None,
) -> date:
    return as_at or today()


AsAt = Annotated[date, Depends(_as_at)]


def _rules(request: Request) -> ProcessRules:
    return request.app.state.process_rules


def _settings(request: Request) -> Settings:
    return request.app.state.settings


RulesDep = Annotated[ProcessRules, Depends(_rules)]
SettingsDep = Annotated[Settings, Depends(_settings)]
