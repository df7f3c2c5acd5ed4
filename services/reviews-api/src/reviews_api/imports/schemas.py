from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from iro_kit.types import UtcTimestamp

_JOB_ID = "1b0c6a52-4d0e-4b8e-9d57-0a3a3f1f6c11"


class ImportFileRead(BaseModel):
    name: str
    kind: str | None = Field(
        default=None, description="`header`, `episodes`, `reviews`, `oc2`, another 903 file, or "
        "`unrecognised`; null until the file has been read.",
    )  # fmt: skip
    rows: int | None = Field(default=None, description="Data rows (blank lines not counted).")
    blank_lines: int | None = None
    loaded: int | None = Field(default=None, description="Rows of children loaded.")
    rejected: int | None = Field(default=None, description="Rows with a problem of their own.")
    held_back: int | None = Field(
        default=None, description="Rows of a child not loaded because of a problem in another row."
    )
    ignored: int | None = Field(default=None, description="Rows of files not needed.")
    unknown_columns: list[str] = Field(default_factory=list)
    note: str | None = None


class ImportProgress(BaseModel):
    rows_read: int
    children_total: int = Field(description="Children in the return (in any file).")
    children_done: int
    children_loaded: int
    children_rejected: int
    problems: int = Field(description="Problems found so far.")


# The counts default to 0: a summary stored without one (a return of no files, before that
# was refused) reads as the zero it was, not as a failure of every list of imports.
class RowCounts(BaseModel):
    rows: int = 0
    loaded: int = 0
    rejected: int = 0
    held_back: int = 0
    ignored: int = 0


class ChildCounts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


class RecordCounts(BaseModel):
    created: int = 0
    updated: int = 0


Severity = Literal["error", "warning"]


class RuleCount(BaseModel):
    dfe_rule: str | None = Field(description="The DfE rule (null: this service's own check).")
    code: str
    severity: Severity = Field(description="`error` (children held back) or `warning` (loaded).")
    problems: int
    children: int = Field(description="Distinct children with this problem.")
    example: str = Field(description="The first problem's message.")


class ProblemCounts(BaseModel):
    total: int = 0
    warnings: int = Field(default=0, description="Problems that did not hold a child back.")
    by_code: dict[str, int] = Field(default_factory=dict)
    by_rule: list[RuleCount] = Field(
        default_factory=list, description="The problems grouped by DfE rule and code, most first."
    )


class ImportSummary(BaseModel):
    rows: RowCounts = Field(description="Every row of every file: rows = loaded + rejected + "
                            "held_back + ignored.")  # fmt: skip
    children: ChildCounts
    episodes: RecordCounts
    reviews: RecordCounts
    outcomes: RecordCounts = Field(description="OC2 rows (annual outcomes).")
    problems: ProblemCounts


class ImportLinks(BaseModel):
    self: str
    errors: str
    errors_csv: str


class ImportJobRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": _JOB_ID,
                "kind": "ssda903",
                "status": "running",
                "created_by": "support-1",
                "created_at": "2018-05-02T09:14:03Z",
                "started_at": "2018-05-02T09:14:03Z",
                "finished_at": None,
                "year_ending": "2018-03-31",
                "collection_year": "2017/18",
                "collection_year_inferred": True,
                "progress": {
                    "rows_read": 20332,
                    "children_total": 2675,
                    "children_done": 2400,
                    "children_loaded": 300,
                    "children_rejected": 2100,
                    "problems": 6828,
                },
                "files": [{"name": "header.csv", "kind": "header", "rows": 2675, "blank_lines": 0}],
                "summary": None,
                "failure": None,
                "links": {
                    "self": f"/reviews/v1/imports/{_JOB_ID}",
                    "errors": f"/reviews/v1/imports/{_JOB_ID}/errors",
                    "errors_csv": f"/reviews/v1/imports/{_JOB_ID}/errors?format=csv",
                },
            }
        }
    )
    id: uuid.UUID
    kind: str
    status: str = Field(description="`queued`, `running`, `finished` or `failed`.")
    created_by: str
    created_at: UtcTimestamp
    started_at: UtcTimestamp | None
    finished_at: UtcTimestamp | None
    year_ending: date | None = Field(description="31 March of the collection year.")
    collection_year: str | None = Field(
        default=None, description="The collection year whose codes and DfE rules were applied."
    )
    collection_year_inferred: bool | None = Field(
        default=None,
        description="True when no collection year was named and it was read from the dates "
        "(the 31 March on or after the latest DECOM).",
    )
    progress: ImportProgress
    files: list[ImportFileRead]
    summary: ImportSummary | None = Field(description="When finished.")
    failure: str | None = Field(description="Why a failed job stopped.")
    links: ImportLinks


class ImportProblemRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "file": "episodes.csv",
                "line": 313,
                "child": "708102",
                "field": "DECOM",
                "severity": "error",
                "dfe_rule": "501",
                "code": "overlapping_episodes",
                "message": "DECOM 11/01/2018 overlaps the episode that started on 11/03/2017 "
                "(line 312), which ends on 10/03/2018.",
            }
        },
    )
    file: str | None = Field(description="The uploaded file (null for the return as a whole).")
    line: int | None = Field(description="Line in the file, as an editor counts (header = 1).")
    child: str | None = Field(description="SSDA903 CHILD.")
    field: str | None = Field(description="The column, e.g. `DECOM`.")
    severity: Severity = Field(description="`error` (the child was held back) or `warning`.")
    dfe_rule: str | None = Field(description="The DfE validation rule, e.g. `148`.")
    code: str = Field(description="A stable code, e.g. `dec_before_decom`.")
    message: str
