"""Of several processes running the same schedule, exactly one runs each job slot."""

import asyncio
import datetime as dt

from sqlalchemy import func, select

from crm.jobs.models import JobRun
from crm.jobs.scheduler import Job, run_claimed, slot_start


async def test_concurrent_runs_of_one_slot_execute_the_job_once(sessionmaker, db):
    calls = []

    async def work(session, now):
        calls.append(now)
        return "ok"

    job = Job("test_job", dt.timedelta(minutes=15), work)
    now = dt.datetime(2026, 11, 22, 10, 7, tzinfo=dt.UTC)
    results = await asyncio.gather(*(run_claimed(sessionmaker, job, now) for _ in range(5)))
    assert results.count("ok") == 1 and results.count(None) == 4
    assert len(calls) == 1
    run = (await db.scalars(select(JobRun))).one()
    assert run.slot_start == slot_start(now, job.every) and run.finished_at is not None


async def test_next_slot_runs_again(sessionmaker, db):
    async def work(session, now):
        return "ok"

    job = Job("test_job", dt.timedelta(minutes=15), work)
    base = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)
    assert await run_claimed(sessionmaker, job, base) == "ok"
    assert await run_claimed(sessionmaker, job, base + dt.timedelta(minutes=14)) is None
    assert await run_claimed(sessionmaker, job, base + dt.timedelta(minutes=15)) == "ok"
    assert await db.scalar(select(func.count(JobRun.id))) == 2


def test_slots_align_to_fixed_boundaries():
    every = dt.timedelta(hours=1)
    assert slot_start(dt.datetime(2026, 1, 1, 5, 59, 59, tzinfo=dt.UTC), every) == dt.datetime(
        2026, 1, 1, 5, tzinfo=dt.UTC)
