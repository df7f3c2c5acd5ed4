"""`python -m reviews_api import-903 FOLDER`: import a folder of SSDA903 CSVs, with a progress bar.

Into a running service (`--url`, `--token`: uploads the files and follows the job) or straight
into its database (`--database-url`, migrated first with `python -m reviews_api migrate`).
Either way the import is a job the service lists, with the same summary and error report.
Straight into the database, the command holds the job's lease as the service would: if it is
killed, a running service (or the next one started) finds the lease expired and resumes the job
from its last committed chunk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from reviews_api.imports.collection import FIRST, LAST
from reviews_api.imports.files import Upload

POLL_SECONDS = 0.5


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reviews_api import-903",
        description="Import an SSDA903 return: a folder of its CSV files, or a zip of them.",
    )
    parser.add_argument("folder", type=Path, help="a folder of CSV files (or one zip file)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="a running service, e.g. http://localhost:8000")
    target.add_argument("--database-url", help="load straight into this database")
    parser.add_argument(
        "--token", default=os.environ.get("REVIEWS_TOKEN"), help="bearer token (or REVIEWS_TOKEN)"
    )
    parser.add_argument(
        "--collection-year",
        type=int,
        choices=range(FIRST, LAST + 1),
        metavar=f"{FIRST}-{LAST}",
        help="the year the collection ends in, e.g. 2018 for April 2017-March 2018 (by default "
        "read from the dates)",
    )
    parser.add_argument("--errors-csv", type=Path, help="write the error report here")
    args = parser.parse_args(argv)
    uploads = _files(args.folder)
    if not uploads:
        parser.error(f"no .csv or .zip files in {args.folder}")
    if args.url:
        if not args.token:
            parser.error("--url needs --token (or REVIEWS_TOKEN)")
        job = _over_http(args, uploads)
    else:
        job = asyncio.run(_into_database(args, uploads))
    print(json.dumps({k: job[k] for k in ("id", "status", "summary", "failure")}, indent=2))
    return 0 if job["status"] == "finished" else 1


def _files(folder: Path) -> list[Upload]:
    paths = [folder] if folder.is_file() else sorted(folder.iterdir())
    return [
        Upload(p.name, p.read_bytes())
        for p in paths
        if p.is_file() and p.suffix.lower() in {".csv", ".zip"}
    ]


def _over_http(args: argparse.Namespace, uploads: list[Upload]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {args.token}"}
    form = {"collection_year": str(args.collection_year)} if args.collection_year else {}
    with httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=300) as client:
        response = client.post(
            "/reviews/v1/imports/ssda903",
            files=[("files", (u.name, u.content, "text/csv")) for u in uploads],
            data=form,
        )
        if response.status_code != 202:
            raise SystemExit(f"upload refused ({response.status_code}): {response.text}")
        location = response.headers["Location"]
        with tqdm(unit="children", desc="importing") as bar:
            while True:
                job = client.get(location).raise_for_status().json()
                _show(bar, job["progress"])
                if job["status"] in {"finished", "failed"}:
                    break
                time.sleep(POLL_SECONDS)
        if args.errors_csv:
            report = client.get(f"{location}/errors", params={"format": "csv"})
            args.errors_csv.write_bytes(report.raise_for_status().content)
    return job


def _show(bar: tqdm, progress: dict[str, int]) -> None:
    bar.total = progress["children_total"] or None
    bar.n = progress["children_done"]
    bar.set_postfix(
        rows=progress["rows_read"],
        loaded=progress["children_loaded"],
        problems=progress["problems"],
    )
    bar.refresh()


async def _into_database(args: argparse.Namespace, uploads: list[Upload]) -> dict[str, Any]:
    from iro_kit.calendar import WorkingDayCalendar
    from iro_kit.dates import today
    from iro_kit.db import Database
    from iro_kit.settings import Environment
    from reviews_api.imports import jobs
    from reviews_api.imports.endpoints import job_read
    from reviews_api.imports.files import ArchiveLimits, unpack
    from reviews_api.imports.leases import Lease, LeaseSettings, new_owner
    from reviews_api.models import ImportJob
    from reviews_api.settings import Settings

    # Only the schedule settings (REVIEWS_MONTH_RULE...) are used: no token is verified here.
    settings = Settings(environment=Environment.development, database_url=args.database_url)
    rules = settings.schedule_rules(WorkingDayCalendar(settings.extra_closure_days))
    database = Database(settings.database_url)
    files = unpack(uploads, ArchiveLimits.from_settings(settings))
    year = date(args.collection_year, 3, 31) if args.collection_year else None
    lease = LeaseSettings(settings.import_lease_seconds, settings.import_heartbeat_seconds)
    as_of = today()
    try:
        async with database.transaction() as session:
            job = await jobs.create_job(
                session,
                f"cli:{os.environ.get('USER', 'unknown')}",
                files,
                as_of=as_of,
                year_ending=year,
                lease=lease,
                owner=new_owner("cli"),
            )
        with tqdm(unit="children", desc="importing") as bar:

            def progress(row: ImportJob) -> None:
                _show(bar, job_read(row).progress.model_dump())

            await jobs.run_job(
                database,
                job.id,
                files,
                rules=rules,
                today=as_of,
                year_ending=year,
                progress=progress,
                lease=Lease(job.id, job.lease_owner or "", lease),
            )
        async with database.transaction() as session:
            finished = await session.get(ImportJob, job.id)
            assert finished is not None
            if args.errors_csv:
                await _write_errors(session, job.id, args.errors_csv)
            return job_read(finished).model_dump(mode="json")
    finally:
        await database.dispose()


async def _write_errors(session: Any, job_id: Any, path: Path) -> None:
    from sqlalchemy import select

    from reviews_api.imports.endpoints import errors_csv
    from reviews_api.models import ImportProblem

    problems = await session.scalars(
        select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(ImportProblem.position)
    )
    report = await asyncio.to_thread(errors_csv(job_id, problems).rendered)
    await asyncio.to_thread(path.write_bytes, report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
