"""Which roles each drp-api route accepts: the table the app is checked against when it is
built, and that each route's description and the README's Roles section are rendered from
(iro_kit.access). A route missing here, or enforcing other roles, stops the app building."""

from __future__ import annotations

from iro_kit.access import RoleTable
from iro_kit.auth import Role

# Raising a dispute and moving it on: IROs and their managers.
ACT = (Role.iro, Role.iro_manager)
# The disputes themselves, their history, worklist and figures.
READ = (Role.iro, Role.iro_manager, Role.performance)
# The weekly tracker, and the process's rules: business support prepares the tracker too.
TRACKER = (Role.iro, Role.iro_manager, Role.business_support, Role.performance)

ROUTES: RoleTable = {
    "GET /v1/process": TRACKER,
    "POST /v1/disputes": ACT,
    "GET /v1/disputes": READ,
    "GET /v1/disputes/{dispute_id}": READ,
    "GET /v1/disputes/{dispute_id}/history": READ,
    "POST /v1/disputes/{dispute_id}/respond": ACT,
    "POST /v1/disputes/{dispute_id}/escalate": ACT,
    "POST /v1/disputes/{dispute_id}/refer-to-cafcass": ACT,
    "POST /v1/disputes/{dispute_id}/resolve": ACT,
    "POST /v1/disputes/{dispute_id}/withdraw": ACT,
    "POST /v1/disputes/{dispute_id}/reopen": ACT,
    "GET /v1/tracker": TRACKER,
    "GET /v1/worklists/stages-due": READ,
    "GET /v1/stats": READ,
}
