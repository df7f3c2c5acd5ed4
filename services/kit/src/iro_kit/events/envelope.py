"""CloudEvents 1.0 in structured JSON mode (and batched mode for the relay)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


class CloudEvent(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "specversion": "1.0",
                "id": "6d3f0a0e-1f59-4a43-9a2e-8d1c9a0b7c11",
                "source": "/reviews-api",
                "type": "child.changed",
                "subject": "0b5c1a3e-8a52-4c8e-9d0a-6f1f7e0b2a11",
                "time": "2026-11-26T10:00:00Z",
                "datacontenttype": "application/json",
                "requestid": "4f1c...",
                "data": {"id": "0b5c1a3e-8a52-4c8e-9d0a-6f1f7e0b2a11", "version": 3},
            }
        },
    )
    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=100)
    subject: str = Field(min_length=1, max_length=200)
    time: str
    datacontenttype: Literal["application/json"] = "application/json"
    requestid: str | None = Field(default=None, description="Extension: the request id.")
    data: dict[str, Any]


def new_event(
    source: str, type_: str, subject: str, data: dict[str, Any], request_id: str | None
) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()),
        source=source,
        type=type_,
        subject=subject,
        time=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        requestid=request_id,
        data=data,
    )
