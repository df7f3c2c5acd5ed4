"""Children and IROs, as drp-api knows them.

reviews-api owns children and IROs; drp-api keeps a read copy of them from `child.changed` and
`iro.changed` (drp_api.events). Every dispute goes through `resolve_child` and `resolve_iro`:
with the copy in use (`DRP_PEOPLE_FROM_EVENTS`, the default) they look the id up in it, refuse
an unknown one with a 404 naming the field, and take the name from the copy; without it, they
take the ids and names the request gives.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from drp_api.models import ChildCopy, IroCopy
from iro_kit.errors import FieldProblem, NotFound


class ChildRef(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "id": "3f1c2a5e-8d4b-4c1e-9a7f-2b6d0e9c4a11",
                "external_id": "LCS-100234",
                "name": "Sam Taylor",
            }
        },
    )
    id: uuid.UUID = Field(description="The child's id in reviews-api.")
    external_id: str = Field(min_length=1, max_length=100, description="The case system's id.")
    name: str = Field(min_length=1, max_length=200)


class IroRef(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"id": "9b2e4f70-1c3d-4e5f-8a6b-7c8d9e0f1a2b", "name": "Alex Morgan"}
        },
    )
    id: uuid.UUID = Field(description="The IRO's id in reviews-api.")
    name: str = Field(min_length=1, max_length=200)


async def resolve_child(session: AsyncSession, given: ChildRef, from_copy: bool) -> ChildRef:
    """The child a dispute is about: from the read copy when in use, else as given."""
    if not from_copy:
        return given
    copy = await session.get(ChildCopy, given.id)
    if copy is None or copy.deleted:
        raise NotFound(
            "reviews-api has no child with this id (drp-api's copy is kept from its events).",
            errors=[FieldProblem(pointer="/child/id", location="body", message="unknown child")],
        )
    return ChildRef(id=copy.id, external_id=copy.external_id, name=copy.name or given.name)


async def resolve_iro(session: AsyncSession, given: IroRef, from_copy: bool) -> IroRef:
    """The IRO who raises a dispute: from the read copy when in use, else as given."""
    if not from_copy:
        return given
    copy = await session.get(IroCopy, given.id)
    if copy is None:
        raise NotFound(
            "reviews-api has no IRO with this id (drp-api's copy is kept from its events).",
            errors=[FieldProblem(pointer="/raised_by/id", location="body", message="unknown IRO")],
        )
    return IroRef(id=copy.id, name=copy.name)
