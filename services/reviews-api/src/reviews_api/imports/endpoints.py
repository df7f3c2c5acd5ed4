"""Routes for SSDA903 imports: upload a return, follow the job, read its error report."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import date
from operator import attrgetter
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status
from pydantic import ValidationError
from sqlalchemy import func, select

from iro_kit import audit
from iro_kit.auth import Principal, Role, require_roles
from iro_kit.dates import today
from iro_kit.db import SessionDep
from iro_kit.errors import FieldProblem, NotFound, ProblemError, invalid, problem_responses
from iro_kit.exports import Column, ExportFormat, RenderedFile, Table, file_response
from iro_kit.logging import get_logger
from iro_kit.pagination import Page, PageDep
from iro_kit.text import refused_character
from reviews_api.deps import (
    CASE_DATA_ROLES,
    READ_ROLES,
)
from reviews_api.imports import jobs
from reviews_api.imports.background import lease_settings, start_in_background
from reviews_api.imports.collection import FIRST, LAST, collection_year, year_containing
from reviews_api.imports.files import (
    READ_CHUNK,
    ArchiveLimits,
    FileKind,
    UnreadableUpload,
    Upload,
    UploadTooLarge,
    recognise,
    unpack,
)
from reviews_api.imports.leases import Lease
from reviews_api.imports.schemas import ImportFileRead, ImportJobRead, ImportProblemRead
from reviews_api.models import ImportJob, ImportProblem

router = APIRouter(prefix="/reviews/v1/imports", tags=["imports"])

VIEW_ROLES = (*READ_ROLES, Role.integration)
Uploader = Annotated[Principal, Depends(require_roles(*CASE_DATA_ROLES))]
Viewer = Annotated[Principal, Depends(require_roles(*VIEW_ROLES))]
CSV_COLUMNS = ("file", "line", "child", "field", "severity", "dfe_rule", "code", "message")
ERROR_REPORT = tuple(Column(name, attrgetter(name)) for name in CSV_COLUMNS)
_log = get_logger("reviews_api.imports")


class PayloadTooLarge(ProblemError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


NO_SSDA903_FILE = (
    "no file is an SSDA903 file: the first row of each names none of the return's column sets "
    "(Header: CHILD, SEX, DOB...; Episodes: CHILD, DECOM, RNE...)"
)


def _is_ssda903_file(upload: Upload) -> bool:
    """Whether the file's first row names an SSDA903 file's columns (read from its start only:
    the job reads the whole file)."""
    head = upload.content[:READ_CHUNK].decode("utf-8-sig", errors="replace")
    try:
        for cells in csv.reader(io.StringIO(head, newline="")):
            if any(cell.strip() for cell in cells):
                return (
                    recognise([cell.strip().upper() for cell in cells]) is not FileKind.unrecognised
                )
    except csv.Error:  # not CSV at all (a spreadsheet, a PDF)
        return False
    return False


@router.post(
    "/ssda903",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Import an SSDA903 return",
    description="Upload the CSV files of a return (several `files`, or one zip of them). Files "
    "are recognised by their columns: Header, Episodes, Reviews and OC2 are loaded; UASC, OC3, "
    "AD1, PlacedAdoption, PrevPerm, Missing, SWEpisodes and DoLo are accepted and ignored with "
    "a note. Answers at once with the job (202, `Location`); follow it with `GET` on the job. "
    "Byte-order marks, blank lines, stray spaces and unknown columns are tolerated; dates are "
    "`dd/mm/yyyy` (ISO also read). Rows are checked by the DfE's validation rules of the "
    "return's collection year (each problem names its `dfe_rule`): a child with an error in any "
    "of its own rows is not loaded at all; a warning (a rule on data this service does not use, "
    "e.g. SEX `U`, rule 232) is reported and the child loads; every other child is loaded. "
    "Children are keyed by CHILD, episodes by `903:CHILD:DECOM` "
    "(or an episode already held that starts the same day), reviews by child and date, so "
    "importing the same return again changes nothing and next year's return updates and "
    "extends; nothing the return leaves out is deleted. Reviews get their due-by date and "
    "in-timescale flag from the schedule, as when recorded through the API; a late review is "
    "imported without a late reason (`not recorded`): the return does not carry one. "
    "`collection_year` (e.g. 2018 for April 2017 to March 2018) chooses the year's codes (SEX "
    "`1`/`2` to 2023/24, `M`/`F`/`U` from 2024/25) and DfE rules, refuses dates after its 31 "
    "March and dates the OC2 rows; by default the year of the latest DECOM (the job's "
    "`collection_year_inferred`).\n\n"
    "Limits (settings, defaults shown): the request body is at most 200 MB "
    "(`REVIEWS_MAX_UPLOAD_BODY_BYTES`, the gateway's limit for this route too), else 413; "
    "the zips of one upload unpack to at most 200 MB "
    "together (`REVIEWS_IMPORT_MAX_UNPACKED_BYTES`), counted as each member is unpacked, "
    "never from the sizes the zip declares; a zip member unpacks to at most 100 times its "
    "compressed size (`REVIEWS_IMPORT_MAX_COMPRESSION_RATIO`, members under 1 MB aside); a zip "
    "holds at most 100 entries (`REVIEWS_IMPORT_MAX_ARCHIVE_MEMBERS`). Over a size or ratio "
    "limit: 413. A zip that is encrypted, damaged (a bad checksum, cut short), empty, holds "
    "another zip, has too many entries or is compressed by a method other than stored, "
    "deflate, bzip2 or LZMA: 422. Either names the file and the reason at `/files`, and no "
    "job is started. So does an upload none of whose files is an SSDA903 file by its first row "
    "(422 at `/files`); an unrecognised file beside a return's files is noted in the job.",
    responses=problem_responses(401, 403, 413, 422),
)
async def import_ssda903(
    request: Request,
    response: Response,
    principal: Uploader,
    files: Annotated[list[UploadFile], File(description="CSV files of the return, or one zip.")],
    collection_year: Annotated[
        int | None,
        Form(
            ge=FIRST,
            le=LAST,
            description=f"The year the collection ends in ({FIRST} for 2015/16 to {LAST} for "
            f"{LAST - 1}/{LAST % 100}).",
        ),
    ] = None,
) -> ImportJobRead:
    # The body as a whole is held to REVIEWS_MAX_UPLOAD_BODY_BYTES before this runs (the kit's
    # request gate), so the files together are too.
    uploads = []
    for n, upload in enumerate(files):
        content = await upload.read()
        name = upload.filename or f"file-{n + 1}.csv"
        if refused_character(name, single_line=True):
            raise invalid("/files", f"File {n + 1}'s name holds a control character.")
        uploads.append(Upload(name, content))
    limits = ArchiveLimits.from_settings(request.app.state.settings)
    try:
        # Off the event loop: unpacking up to the limit is CPU work.
        unpacked = await asyncio.to_thread(unpack, uploads, limits)
    except UploadTooLarge as exc:
        problem = FieldProblem(pointer="/files", location="body", message=str(exc))
        raise PayloadTooLarge(f"files: {exc}", errors=[problem]) from exc
    except UnreadableUpload as exc:
        raise invalid("/files", str(exc)) from exc
    del uploads  # the zips: only what they unpacked to is kept
    if not any(map(_is_ssda903_file, unpacked)):
        # Nothing to import (a stray file, a part that is not a return's file): say so now
        # rather than start a job that can only report it. One such file among a return's
        # files is noted in the job instead.
        raise invalid("/files", NO_SSDA903_FILE)
    database = request.app.state.database
    as_of, year_ending = today(), date(collection_year, 3, 31) if collection_year else None
    lease = lease_settings(request.app)
    async with database.transaction() as session:
        job = await jobs.create_job(
            session, principal.subject, unpacked, as_of=as_of, year_ending=year_ending, lease=lease
        )
    start_in_background(
        request.app,
        jobs.run_job(
            database,
            job.id,
            unpacked,
            rules=request.app.state.schedule_rules,
            today=as_of,
            year_ending=year_ending,
            lease=Lease(job.id, job.lease_owner or "", lease),
        ),
    )
    response.headers["Location"] = f"/reviews/v1/imports/{job.id}"
    return job_read(job)


@router.get(
    "",
    summary="List imports",
    description="Newest first.",
    responses=problem_responses(401, 403, 422),
)
async def list_imports(session: SessionDep, _: Viewer, page: PageDep) -> Page[ImportJobRead]:
    rows = list(
        await session.scalars(
            select(ImportJob)
            .order_by(ImportJob.created_at.desc(), ImportJob.id)
            .offset(page.offset)
            .limit(page.limit + 1)
        )
    )
    total = await session.scalar(select(func.count(ImportJob.id))) if page.count else None
    items = [job_read(job) for job in rows[: page.limit]]
    return page.page(items, has_more=len(rows) > page.limit, total=total)


# `:uuid`: only an id matches, so GET on `/imports/ssda903` is a 405, not a 422 from this
# route reading "ssda903" as an id.
@router.get(
    "/{job_id:uuid}",
    summary="An import's progress and summary",
    description="While it runs: rows read, children done, loaded and rejected, problems so far. "
    "When `finished`: a summary in which every row of every file is counted as loaded, "
    "rejected (a problem of its own), held back (its child was not loaded because of a problem "
    "in another of the child's rows) or ignored (a file not needed).",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_import(job_id: uuid.UUID, session: SessionDep, _: Viewer) -> ImportJobRead:
    return job_read(await _job(session, job_id))


@router.get(
    "/{job_id:uuid}/errors",
    summary="An import's error report",
    description="Every problem as `{file, line, child, field, severity, dfe_rule, code, "
    "message}`, in the order found (the job's `summary.problems.by_rule` counts them by rule). "
    "An `error` held its child back; a `warning` (a DfE rule on data this service does not "
    "use) was reported and the child loaded. JSON pages by default; the whole report as CSV, "
    "one row per problem, with `Accept: text/csv` or `?format=csv`. Filter by `code`, "
    "`dfe_rule`, `severity`, `child` or `file`.",
    response_model=Page[ImportProblemRead],
    responses={
        200: {
            "description": "The problems (JSON page, or the whole report as CSV).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 404, 422),
    },
)
async def list_import_errors(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    _: Viewer,
    page: PageDep,
    format: Annotated[Literal["json", "csv"] | None, Query(description="Or by Accept.")] = None,
    code: Annotated[str | None, Query(description="e.g. `overlapping_episodes`.")] = None,
    dfe_rule: Annotated[str | None, Query(description="A DfE rule number, e.g. `148`.")] = None,
    severity: Annotated[Literal["error", "warning"] | None, Query()] = None,
    child: Annotated[str | None, Query(description="SSDA903 CHILD.")] = None,
    file: Annotated[str | None, Query(description="The uploaded file's name.")] = None,
) -> Any:
    await _job(session, job_id)
    # The problems name children by their SSDA903 CHILD: reading them is audited.
    audit.touched(resource_type="import_job", resource_id=job_id)
    query = select(ImportProblem).where(ImportProblem.job_id == job_id)
    for column, value in (
        (ImportProblem.code, code),
        (ImportProblem.dfe_rule, dfe_rule),
        (ImportProblem.severity, severity),
        (ImportProblem.child, child),
        (ImportProblem.file, file),
    ):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(ImportProblem.position)
    if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
        return errors_csv(job_id, await session.scalars(query))
    total = None
    if page.count:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(await session.scalars(query.offset(page.offset).limit(page.limit + 1)))
    items = [ImportProblemRead.model_validate(row) for row in rows[: page.limit]]
    return page.page(items, has_more=len(rows) > page.limit, total=total)


def errors_csv(job_id: uuid.UUID, problems: Any) -> RenderedFile:
    """The whole report, written by the kit's export code (which keeps formulas as text: a
    file or CHILD from the upload may start with `=`)."""
    table = Table("Import errors", ERROR_REPORT, list(problems))
    filename = f"ssda903-import-{str(job_id)[:8]}-errors-{today().isoformat()}"
    return file_response(table, ExportFormat.csv, filename)


async def _job(session: Any, job_id: uuid.UUID) -> ImportJob:
    job = await session.get(ImportJob, job_id)
    if job is None:
        raise NotFound("No import has this id.")
    return job


def job_read(job: ImportJob) -> ImportJobRead:
    """The job as the API shows it. Never fails for a job already stored: one whose summary
    or files cannot be read (left by an older version) is shown without them, and logged."""
    values = _job_values(job)
    try:
        return ImportJobRead.model_validate(values)
    except ValidationError as exc:
        unread = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
        _log.warning("import_job_unreadable", job_id=str(job.id), fields=unread)
    values["summary"] = None
    values["files"] = [_file_read(entry) for entry in values["files"]]
    return ImportJobRead.model_validate(values)


def _file_read(entry: Any) -> ImportFileRead:
    try:
        return ImportFileRead.model_validate(entry)
    except ValidationError:
        name = entry.get("name") if isinstance(entry, dict) else None
        return ImportFileRead(name=name if isinstance(name, str) else "")


def _job_values(job: ImportJob) -> dict[str, Any]:
    path = f"/reviews/v1/imports/{job.id}"
    files = job.files if isinstance(job.files, list) else []
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "created_by": job.created_by,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "year_ending": job.year_ending,
        "collection_year": job.year_ending
        and collection_year(year_containing(job.year_ending)).label,
        "collection_year_inferred": (
            None if job.year_ending is None else job.requested_year_ending is None
        ),
        "progress": {
            "rows_read": job.rows_read,
            "children_total": job.children_total,
            "children_done": job.children_done,
            "children_loaded": job.children_loaded,
            "children_rejected": job.children_rejected,
            "problems": job.problem_count,
        },
        "files": [
            {k: v for k, v in f.items() if k != "bytes"} if isinstance(f, dict) else f
            for f in files
        ],
        "summary": job.summary,
        "failure": job.failure,
        "links": {
            "self": path,
            "errors": f"{path}/errors",
            "errors_csv": f"{path}/errors?format=csv",
        },
    }
