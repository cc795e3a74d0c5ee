"""In-process APScheduler 3 with database slot claims.

APScheduler 3 cannot share a job store between processes, so every process runs the same
in-memory schedule and each run first claims its slot in ``job_run`` (unique job+slot):
of several processes exactly one runs each slot, and a rerun of a claimed slot is a no-op.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.auth.models import LoginFailure
from crm.auth.store import SessionRecord
from crm.db import begin_write
from crm.employers.duplicates import scan_job as scan_duplicates
from crm.jobs.models import JobRun
from crm.notify.service import deliver_outbox
from crm.settings import Settings
from crm.touches.release import release_due_requests
from crm.touches.reminders import remind_waiting_hand_offs, tell_leads_what_waits

log = logging.getLogger("crm.jobs")

JobFn = Callable[[AsyncSession, dt.datetime], Awaitable[str]]


@dataclass(frozen=True)
class Job:
    name: str
    every: dt.timedelta
    fn: JobFn


async def purge_expired(db: AsyncSession, now: dt.datetime) -> str:
    """Drop expired sessions and login failures older than a day."""
    sessions = await db.execute(delete(SessionRecord).where(SessionRecord.expires_at < now))
    failures = await db.execute(delete(LoginFailure).where(LoginFailure.created_at < now - dt.timedelta(days=1)))
    return f"sessions={sessions.rowcount} login_failures={failures.rowcount}"  # type: ignore[attr-defined]


# Domains append their jobs here (held-request release, outbox delivery, duplicate scan, hand-off reminders).
JOBS: list[Job] = [Job("purge_expired", dt.timedelta(hours=1), purge_expired)]
JOBS.append(Job("release_held_requests", dt.timedelta(minutes=15), release_due_requests))
JOBS.append(Job("deliver_outbox", dt.timedelta(minutes=1), deliver_outbox))
JOBS.append(Job("scan_duplicates", dt.timedelta(days=1), scan_duplicates))
JOBS.append(Job("remind_hand_offs", dt.timedelta(days=1), remind_waiting_hand_offs))
JOBS.append(Job("tell_leads_what_waits", dt.timedelta(days=1), tell_leads_what_waits))


def slot_start(now: dt.datetime, every: dt.timedelta) -> dt.datetime:
    """The start of the fixed-size slot containing ``now`` (slots aligned to the epoch)."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    step = int(every.total_seconds())
    return epoch + dt.timedelta(seconds=(int((now - epoch).total_seconds()) // step) * step)


async def run_claimed(sessionmaker: async_sessionmaker[AsyncSession], job: Job,
                      now: dt.datetime | None = None) -> str | None:
    """Run ``job`` for the slot containing ``now`` unless another run claimed it; None if skipped."""
    now = now or dt.datetime.now(dt.UTC)
    slot = slot_start(now, job.every)
    async with sessionmaker() as db:
        try:
            async with db.begin():
                db.add(JobRun(job_name=job.name, slot_start=slot))
        except IntegrityError:
            return None
    async with sessionmaker() as db:
        try:
            # Jobs read then write; on SQLite take the write lock first so concurrent jobs queue
            # behind each other instead of failing with "database is locked".
            await begin_write(db)
            result = await job.fn(db, now)
            run = await db.scalar(select(JobRun).where(JobRun.job_name == job.name, JobRun.slot_start == slot))
            if run is not None:
                run.finished_at = dt.datetime.now(dt.UTC)
                run.result = result[:500]
            await db.commit()
        except Exception:
            await db.rollback()
            log.exception("job_failed", extra={"job": job.name, "slot": slot.isoformat()})
            raise
    log.info("job_done", extra={"job": job.name, "slot": slot.isoformat(), "result": result})
    return result


def start_scheduler(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=dt.UTC)
    start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    for index, job in enumerate(JOBS):
        scheduler.add_job(
            run_claimed, "interval", args=[sessionmaker, job], seconds=int(job.every.total_seconds()),
            id=job.name, replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=300,
            # Staggered first runs: at start-up every job would otherwise fire in the same second.
            next_run_time=start + dt.timedelta(seconds=20 * index),
        )
    scheduler.start()
    return scheduler
