"""Children and IROs, as drp-api knows them.

reviews-api owns children and IROs; drp-api keeps a read copy of them from `child.changed` and
`iro.changed` (drp_api.events). A new dispute names its child and IRO by id only: `resolve_child`
and `resolve_iro` look the id up in the copy, refuse an unknown one with a 404 naming the field,
and take the case id and name from the copy, so a dispute never carries a name typed by hand.
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
    # Given and family names of up to 200 characters each, as reviews-api holds them.
    name: str = Field(min_length=1, max_length=401)


class IroRef(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"id": "9b2e4f70-1c3d-4e5f-8a6b-7c8d9e0f1a2b", "name": "Alex Morgan"}
        },
    )
    id: uuid.UUID = Field(description="The IRO's id in reviews-api.")
    name: str = Field(min_length=1, max_length=200)


def _child_name(copy: ChildCopy) -> str:
    """As reviews-api names a child: given and family name, else `Child <case id>` (a child
    from an SSDA903 return may have no name)."""
    return copy.name or f"Child {copy.external_id}"


async def resolve_child(session: AsyncSession, child_id: uuid.UUID) -> ChildRef:
    """The child a dispute is about, from the read copy (404 naming `/child_id` if unknown)."""
    copy = await session.get(ChildCopy, child_id)
    if copy is None or copy.deleted:
        raise NotFound(
            "reviews-api has no child with this id (drp-api's copy is kept from its events).",
            errors=[FieldProblem(pointer="/child_id", location="body", message="unknown child")],
        )
    return ChildRef(id=copy.id, external_id=copy.external_id, name=_child_name(copy))


async def resolve_iro(session: AsyncSession, iro_id: uuid.UUID) -> IroRef:
    """The IRO who raises a dispute, from the read copy (404 naming `/iro_id` if unknown)."""
    copy = await session.get(IroCopy, iro_id)
    if copy is None:
        raise NotFound(
            "reviews-api has no IRO with this id (drp-api's copy is kept from its events).",
            errors=[FieldProblem(pointer="/iro_id", location="body", message="unknown IRO")],
        )
    return IroRef(id=copy.id, name=copy.name)
