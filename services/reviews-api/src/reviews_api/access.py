"""Which roles each reviews-api route accepts: the table the app is checked against when it is
built, and that each route's description and the README's Roles section are rendered from
(iro_kit.access). A route missing here, or enforcing other roles, stops the app building."""

from __future__ import annotations

from iro_kit.access import RoleTable
from iro_kit.auth import Role

# Everyone who works with children's records reads them.
READ = (Role.iro, Role.iro_manager, Role.business_support, Role.performance)
# Reviews and visits are recorded by IROs, their managers and business support.
RECORD = (Role.iro, Role.iro_manager, Role.business_support)
# Case facts (children, episodes, secure placements) come from the case system or its keepers.
CASE_DATA = (Role.business_support, Role.integration)
# The IRO roster.
IRO_ADMIN = (Role.iro_manager, Role.business_support)
# Allocating children to IROs is a manager's decision.
ALLOCATE = (Role.iro_manager,)
# Import jobs are read by whoever reads the records, and by the case system that sent them.
IMPORTS_READ = (*READ, Role.integration)

ROUTES: RoleTable = {
    "POST /v1/children": CASE_DATA,
    "GET /v1/children": READ,
    "GET /v1/children/{child_id}": READ,
    "PATCH /v1/children/{child_id}": CASE_DATA,
    "GET /v1/children/{child_id}/episodes": READ,
    "POST /v1/children/{child_id}/episodes": CASE_DATA,
    "GET /v1/episodes/{episode_id}": READ,
    "PATCH /v1/episodes/{episode_id}": CASE_DATA,
    "DELETE /v1/episodes/{episode_id}": CASE_DATA,
    "GET /v1/children/{child_id}/periods-of-care": READ,
    "GET /v1/children/{child_id}/schedule": READ,
    "POST /v1/children/{child_id}/reviews": RECORD,
    "GET /v1/children/{child_id}/reviews": READ,
    "GET /v1/reviews/{review_id}": READ,
    "PATCH /v1/reviews/{review_id}": RECORD,
    "DELETE /v1/reviews/{review_id}": RECORD,
    "POST /v1/children/{child_id}/visits": RECORD,
    "GET /v1/children/{child_id}/visits": READ,
    "DELETE /v1/visits/{visit_id}": RECORD,
    "POST /v1/iros": IRO_ADMIN,
    "GET /v1/iros": READ,
    "GET /v1/iros/suggestion": READ,
    "GET /v1/iros/{iro_id}": READ,
    "PATCH /v1/iros/{iro_id}": IRO_ADMIN,
    "GET /v1/caseloads": READ,
    "GET /v1/iros/{iro_id}/caseload": READ,
    "POST /v1/children/{child_id}/allocations": ALLOCATE,
    "GET /v1/children/{child_id}/allocations": READ,
    "DELETE /v1/allocations/{allocation_id}": ALLOCATE,
    "POST /v1/iros/{iro_id}/reallocate": ALLOCATE,
    "POST /v1/children/{child_id}/secure-placements": CASE_DATA,
    "GET /v1/children/{child_id}/secure-placements": READ,
    "PATCH /v1/secure-placements/{placement_id}": CASE_DATA,
    "POST /v1/secure-placements/{placement_id}/reviews": RECORD,
    "GET /v1/secure-placements/{placement_id}/reviews": READ,
    "GET /v1/worklists/reviews-due": READ,
    "GET /v1/worklists/overdue-reviews": READ,
    "GET /v1/worklists/unallocated-children": READ,
    "GET /v1/worklists/pre-review-visits": READ,
    "GET /v1/worklists/midway-reviews": READ,
    "GET /v1/worklists/late-reviews-without-reason": READ,
    "GET /v1/children/{child_id}/plan-dates": READ,
    "GET /v1/children/{child_id}/annual-outcomes": READ,
    "POST /v1/integration/batches": (Role.integration,),
    "POST /v1/imports/ssda903": CASE_DATA,
    "GET /v1/imports": IMPORTS_READ,
    "GET /v1/imports/{job_id}": IMPORTS_READ,
    "GET /v1/imports/{job_id}/errors": IMPORTS_READ,
}
