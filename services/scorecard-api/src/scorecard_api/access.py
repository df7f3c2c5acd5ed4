"""Which roles each scorecard-api route accepts: the table the app is checked against when it
is built, and that each route's description and the README's Roles section are rendered from
(iro_kit.access). A route missing here, or enforcing other roles, stops the app building."""

from __future__ import annotations

from iro_kit.access import RoleTable
from iro_kit.auth import Role

# The figures, their drill-downs and the annual report.
READ = (Role.iro, Role.iro_manager, Role.performance, Role.admin)
# Setting a KPI's target: the service's manager, or an administrator.
SET_TARGETS = (Role.iro_manager, Role.admin)

ROUTES: RoleTable = {
    "GET /v1/scorecard": READ,
    "GET /v1/kpis/{code}/children": READ,
    "GET /v1/kpis/{code}/trend": READ,
    "GET /v1/freshness": READ,
    "GET /v1/tables/caseload": READ,
    "GET /v1/tables/late-reviews": READ,
    "GET /v1/tables/tools": READ,
    "GET /v1/tables/escalations": READ,
    "GET /v1/annual-report": READ,
    "GET /v1/targets": READ,
    "PUT /v1/targets/{code}": SET_TARGETS,
    "GET /v1/targets/{code}/history": READ,
    "POST /admin/rebuild": (Role.admin,),
}
