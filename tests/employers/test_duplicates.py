"""The whole-database duplicate scan fills the review queue once, remembers decisions, and reruns cleanly."""

from __future__ import annotations

import asyncio
import datetime as dt

from click.testing import CliRunner
from sqlalchemy import select

from crm.cli import main
from crm.employers import duplicates
from crm.employers.duplicate_models import DuplicateCandidate
from crm.jobs.scheduler import JOBS, run_claimed
from tests.employers.test_merge import as_principal, do_merge


async def small_world(f):
    """Two records of ACME, two of a bakery typed differently, and unrelated employers."""
    acme = await f.employer("ACME Corporation", website="https://www.acme.com", zip="90021",
                            address_line="1200 S Alameda St", city="Los Angeles")
    acme2 = await f.employer("Acme Corp.", zip="90021", address_line="1200 S Alameda St", city="Los Angeles")
    bakery = await f.employer("Sunrise Bakery & Cafe LLC", phone="+13105550142", zip="90401", city="Santa Monica")
    bakery2 = await f.employer("Sunrise Bakery and Cafe", phone="+13105550142", zip="90401", city="Santa Monica")
    await f.employer("Golden State Logistics LLC", zip="90012", address_line="500 E 3rd St")
    await f.employer("Blue Ocean Seafood Co", zip="90731", address_line="1 Harbor Blvd")
    return acme, acme2, bakery, bakery2


async def candidates(db) -> list[DuplicateCandidate]:
    await db.rollback()
    return list(await db.scalars(select(DuplicateCandidate).order_by(DuplicateCandidate.employer_a_id)))


async def scan(sessionmaker) -> duplicates.ScanReport:
    async with sessionmaker() as s, s.begin():
        return await duplicates.scan_duplicates(s)


async def test_scan_queues_near_duplicates_with_an_explanation_and_nothing_else(world, sessionmaker, db):
    acme, acme2, bakery, bakery2 = await small_world(world.f)
    report = await scan(sessionmaker)
    assert report.employers == 6 and report.new == 2
    rows = await candidates(db)
    assert {(c.employer_a_id, c.employer_b_id) for c in rows} == {(acme.id, acme2.id), (bakery.id, bakery2.id)}
    la = await world.f.region("LA-BASIN")
    for c in rows:
        assert c.status == "open" and c.explanation and c.region_id == la.id and 0 < c.score <= 1


async def test_rerunning_the_scan_changes_nothing(world, sessionmaker, db):
    await small_world(world.f)
    await scan(sessionmaker)
    first = [(c.id, c.employer_a_id, c.employer_b_id, c.score, c.status, c.updated_at) for c in await candidates(db)]
    again = await scan(sessionmaker)
    assert (again.new, again.updated, again.dropped, again.unchanged) == (0, 0, 0, 2)
    assert [(c.id, c.employer_a_id, c.employer_b_id, c.score, c.status, c.updated_at)
            for c in await candidates(db)] == first


async def test_not_a_duplicate_is_remembered_by_later_scans(world, sessionmaker, db):
    acme, acme2, *_ = await small_world(world.f)
    await scan(sessionmaker)
    pair = next(c for c in await candidates(db) if c.employer_a_id == acme.id)
    async with sessionmaker() as s:
        await duplicates.dismiss(s, as_principal(world.users["lead"]), pair.id, "parent and its plant")
        await s.commit()
    report = await scan(sessionmaker)
    assert report.new == 0 and report.remembered == 1
    rows = {c.id: c for c in await candidates(db)}
    assert rows[pair.id].status == "dismissed" and rows[pair.id].decision_note == "parent and its plant"
    async with sessionmaker() as s:
        queue, total = await duplicates.list_candidates(s, as_principal(world.users["lead"]))
    assert total == 1 and acme.id not in {queue[0].employer_a_id, queue[0].employer_b_id}


async def test_merged_employers_are_not_scanned_and_their_pair_is_closed(world, sessionmaker, db):
    acme, acme2, *_ = await small_world(world.f)
    await scan(sessionmaker)
    await do_merge(sessionmaker, world.users["lead"], acme2.id, acme.id)
    report = await scan(sessionmaker)
    assert report.employers == 5 and report.new == 0
    pair = next(c for c in await candidates(db) if c.employer_a_id == acme.id)
    assert pair.status == "merged" and pair.decided_by_id == world.users["lead"].id


async def test_an_employer_edited_apart_drops_its_open_pair(world, sessionmaker, db):
    _, _, bakery, bakery2 = await small_world(world.f)
    await scan(sessionmaker)
    from crm.employers.models import Employer

    async with sessionmaker() as s, s.begin():
        e = await s.get(Employer, bakery2.id)
        e.legal_name, e.name_key, e.phone, e.zip = "Harbor Freight Movers", "harbor freight movers", None, "96001"
    report = await scan(sessionmaker)
    assert report.dropped == 1
    assert all(bakery.id not in (c.employer_a_id, c.employer_b_id) for c in await candidates(db))


async def test_cli_scan_duplicates_prints_a_summary_and_fills_the_queue(world, database_url, db):
    await small_world(world.f)
    result = await asyncio.to_thread(CliRunner().invoke, main, ["employers", "scan-duplicates"],
                                     env={"CRM_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "employers scanned" in result.output and "new in the review queue" in result.output
    assert len(await candidates(db)) == 2


async def test_scan_runs_daily_from_the_scheduler_once_per_slot(world, sessionmaker, db):
    await small_world(world.f)
    job = next(j for j in JOBS if j.name == "scan_duplicates")
    assert job.every == dt.timedelta(days=1)
    now = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)
    assert "new=2" in (await run_claimed(sessionmaker, job, now))
    assert await run_claimed(sessionmaker, job, now + dt.timedelta(hours=2)) is None
    assert len(await candidates(db)) == 2
