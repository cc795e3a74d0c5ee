"""The CSV import pages: upload, map columns, preview (a dry run), run, and watch the progress.

Leads (into their own regions) and admins only. The preview and the import run as background
tasks in the server process after the response is sent; they write their progress to the job
row, which the page polls with htmx (and, without JavaScript, a meta refresh).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import undefer

from crm.auth.guards import requires_lead
from crm.auth.principal import Principal
from crm.db import begin_write
from crm.deps import Db, Me, PathId
from crm.directory.models import Region
from crm.directory.service import led_regions
from crm.employers import import_file
from crm.employers.import_file import COLUMNS, IGNORE, MAX_UPLOAD_BYTES, ImportFileError
from crm.employers.import_models import ImportJob, ImportStatus
from crm.employers.import_service import mark_stale_jobs, run_import
from crm.web import flash, redirect, render

log = logging.getLogger("crm.import")

_MULTIPART_SLACK = 64 * 1024  # boundaries and the other form fields around the file
_TOO_LARGE = (f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB, the upload limit. Split it into "
              "smaller files, or import it on the server with `crm import employers FILE.csv`.")
_ACCEPTED_TYPES = {"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel", "text/x-csv",
                   "application/octet-stream", ""}


_CLI_HINT = re.compile(r" \(CLI: [^)]*\)")


def _page_words(exc: ImportFileError) -> str:
    """A file's problem as the page says it: without the command line's way to fix it ("(CLI: --map ...)"),
    which the page's own mapping form does."""
    return _CLI_HINT.sub("", str(exc))


def too_large(request: Request[Any, Any, Any], _exc: RequestEntityTooLarge) -> Response[Any]:
    """413 with the upload page and a message that says what to do (the body is never read)."""
    return Template(template_name="employers/import.html", status_code=413, media_type=MediaType.HTML,
                    context={"principal": request.scope.get("user"), "flashes": [], "error": _TOO_LARGE,
                             "jobs": [], "regions": [], "values": {}, "columns": COLUMNS,
                             "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024)})  # type: ignore[return-value]


async def _job(db: AsyncSession, principal: Principal, job_id: int, content: bool = False, *,
               for_update: bool = False) -> ImportJob:
    """The job, if this user started it (admins: any); otherwise 404, not a hint that it exists.
    ``for_update``: read under its row lock in a write transaction, so that of two clicks on Preview or
    Import only one finds the job waiting and starts it."""
    stmt = select(ImportJob).where(ImportJob.id == job_id)
    if content:
        stmt = stmt.options(undefer(ImportJob.content))
    if for_update:
        await begin_write(db)
        stmt = stmt.with_for_update(of=ImportJob).execution_options(populate_existing=True)
    job = await db.scalar(stmt)
    if job is None or not (principal.is_admin or job.created_by_id == principal.id):
        raise NotFoundException(f"Import #{job_id} not found")
    return job


async def run_job(sessionmaker: async_sessionmaker[AsyncSession], job_id: int, actor: Principal,
                  dry_run: bool) -> None:
    """Background task: the preview (dry run) or the import of an uploaded file."""
    async with sessionmaker() as db:
        job = await db.scalar(select(ImportJob).where(ImportJob.id == job_id).options(undefer(ImportJob.content)))
        region = await db.scalar(select(Region.code).where(Region.id == job.region_id)) if job and job.region_id \
            else None
    if job is None or job.content is None:
        return
    error = None
    try:
        await run_import(sessionmaker, job.content, filename=job.filename, mapping=job.mapping, region=region,
                         actor=actor, dry_run=dry_run, batch_size=job.batch_size, job_id=job_id)
    except ImportFileError as exc:
        error = _page_words(exc)
    except Exception:
        log.exception("employer_import_failed", extra={"job_id": job_id})
        error = "The import stopped on an internal error; batches committed before it stay imported."
    if error is not None:
        async with sessionmaker() as db, db.begin():
            failed = await db.get(ImportJob, job_id)
            if failed is not None:
                failed.status, failed.error = ImportStatus.failed.value, error
                failed.finished_at = dt.datetime.now(dt.UTC)


class EmployerImportPages(Controller):
    path = "/employers/import"
    guards = [requires_lead]
    include_in_schema = False
    exception_handlers = {RequestEntityTooLarge: too_large}

    async def _upload_page(self, request: Request[Any, Any, Any], db: Db, principal: Me, *, error: str | None = None,
                           values: dict[str, str] | None = None, status_code: int = 200) -> Template:
        await mark_stale_jobs(db, dt.datetime.now(dt.UTC))
        stmt = select(ImportJob).order_by(ImportJob.id.desc()).limit(20)
        if not principal.is_admin:
            stmt = stmt.where(ImportJob.created_by_id == principal.id)
        return render(request, "employers/import.html", status_code=status_code, error=error,
                      jobs=list(await db.scalars(stmt)), regions=await led_regions(db, principal),
                      values=values or {}, columns=COLUMNS, max_mb=MAX_UPLOAD_BYTES // (1024 * 1024))

    @get("/")
    async def upload_form(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template:
        return await self._upload_page(request, db, principal)

    @post("/", request_max_body_size=MAX_UPLOAD_BYTES + _MULTIPART_SLACK)
    async def upload(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template | Redirect:
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}
        upload = form.get("file")

        async def refuse(message: str, status_code: int = 422) -> Template:
            return await self._upload_page(request, db, principal, error=message, values=values,
                                           status_code=status_code)

        if not isinstance(upload, UploadFile) or not upload.filename:
            return await refuse("Choose a CSV file to upload")
        name = upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        if not name.lower().endswith((".csv", ".txt")) or (upload.content_type or "").split(";")[0] \
                not in _ACCEPTED_TYPES:
            return await refuse(f"{name!r} is not a CSV file: export the sheet as \"CSV UTF-8 (.csv)\" and upload that")
        data = await upload.read()
        if len(data) > MAX_UPLOAD_BYTES:
            return await refuse(_TOO_LARGE, 413)
        region_id = None
        if code := (values.get("region") or "").strip():
            region = next((r for r in await led_regions(db, principal) if r.code == code), None)
            if region is None:  # another region's (403), or a code naming no region (422)
                known = await db.scalar(select(Region.id).where(Region.code == code.upper()))
                return await refuse(f"You may not import into region {code!r}", 403 if known is not None else 422)
            region_id = region.id
        elif not principal.is_admin:
            return await refuse("Choose the region the employers belong to")
        try:
            table = import_file.read_csv(data)
        except ImportFileError as exc:
            return await refuse(_page_words(exc))
        if not table.rows:
            return await refuse("The file has a header but no rows")
        job = ImportJob(created_by_id=principal.id, source="web", filename=name[:255],
                        file_sha256=import_file.file_sha256(data), file_size=len(data), content=data,
                        headers=table.headers, mapping=import_file.guess_mapping(table.headers), region_id=region_id,
                        total_rows=len(table.rows), status=ImportStatus.uploaded.value)
        db.add(job)
        await db.flush()
        earlier = await db.scalar(select(ImportJob.id).where(ImportJob.file_sha256 == job.file_sha256,
                                                             ImportJob.id != job.id,
                                                             ImportJob.status == ImportStatus.done.value))
        if earlier is not None:
            flash(request, f"This file was imported before (import #{earlier}); rows imported then will show as "
                           "'imported before' and change nothing.", "warn")
        return redirect(request, f"/employers/import/{job.id}")

    @get("/{job_id:int}")
    async def job_page(self, request: Request[Any, Any, Any], db: Db, principal: Me, job_id: PathId) -> Template:
        await mark_stale_jobs(db, dt.datetime.now(dt.UTC))
        job = await _job(db, principal, job_id)
        return await self._job_page(request, db, job)

    async def _job_page(self, request: Request[Any, Any, Any], db: Db, job: ImportJob, *,
                        mapping_error: str | None = None, status_code: int = 200) -> Template:
        region = await db.get(Region, job.region_id) if job.region_id else None
        return render(request, "employers/import_job.html", status_code=status_code, job=job, region=region,
                      columns=COLUMNS, ignore=IGNORE, mapping_error=mapping_error, report=job.report or {})

    @post("/{job_id:int}/preview")
    async def preview(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                      job_id: PathId) -> Template | Redirect:
        job = await _job(db, principal, job_id, for_update=True)
        if job.status not in (ImportStatus.uploaded.value, ImportStatus.previewed.value, ImportStatus.failed.value):
            return redirect(request, f"/employers/import/{job.id}")
        form = await request.form()
        mapping: dict[str, str] = {}
        for i, header in enumerate(job.headers):
            # Keyed by header: of same-named columns the last choice would win, and "ignore" there would
            # drop a column mapped above it unsaid. One not ignored keeps check_mapping's word on them.
            if mapping.get(header, IGNORE) == IGNORE:
                mapping[header] = str(form.get(f"map_{i}") or "")
        job.mapping = mapping
        try:
            import_file.check_mapping(job.headers, mapping)
        except ImportFileError as exc:
            # Nothing is saved (a 422 rolls back); the form re-renders with the user's choices.
            job.status = ImportStatus.uploaded.value
            return await self._job_page(request, db, job, mapping_error=_page_words(exc), status_code=422)
        job.status, job.error, job.processed_rows = ImportStatus.previewing.value, None, 0
        job.heartbeat_at = dt.datetime.now(dt.UTC)
        return Redirect(path=f"/employers/import/{job.id}", status_code=303, background=BackgroundTask(
            run_job, request.app.state["sessionmaker"], job.id, principal, True))

    @post("/{job_id:int}/run")
    async def run(self, request: Request[Any, Any, Any], db: Db, principal: Me, job_id: PathId) -> Redirect:
        job = await _job(db, principal, job_id, for_update=True)
        if job.status != ImportStatus.previewed.value:
            flash(request, "Preview the import first (or it is already running)", "warn")
            return redirect(request, f"/employers/import/{job.id}")
        job.status, job.processed_rows, job.dry_run = ImportStatus.running.value, 0, False
        job.heartbeat_at = dt.datetime.now(dt.UTC)
        return Redirect(path=f"/employers/import/{job.id}", status_code=303, background=BackgroundTask(
            run_job, request.app.state["sessionmaker"], job.id, principal, False))

    @get("/{job_id:int}/progress")
    async def progress(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       job_id: PathId) -> Template | Response[Any]:
        await mark_stale_jobs(db, dt.datetime.now(dt.UTC))
        job = await _job(db, principal, job_id)
        if not job.active and request.headers.get("hx-request"):
            # Finished: load the whole page, which now shows the preview or the result.
            return Response("", status_code=200, headers={"HX-Redirect": f"/employers/import/{job.id}"})
        return render(request, "employers/_import_progress.html", job=job)
