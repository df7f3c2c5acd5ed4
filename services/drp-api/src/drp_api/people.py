"""Children and IROs, as drp-api knows them.

reviews-api owns children and IROs. Until the events issue gives drp-api a local read copy of
them (from `child.changed` and `iro.changed`), a dispute takes the ids and names its request
gives. Every dispute goes through `resolve_child` and `resolve_iro`, so the local copy slots in
here alone: these will look the id up in the copy, refuse an unknown one with a 422 naming the
field, and take the name from the copy rather than the request.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession


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


async def resolve_child(session: AsyncSession, given: ChildRef) -> ChildRef:
    """The child a dispute is about. For now, as given (no local copy yet)."""
    return given


async def resolve_iro(session: AsyncSession, given: IroRef) -> IroRef:
    """The IRO who raises a dispute. For now, as given (no local copy yet)."""
    return given
