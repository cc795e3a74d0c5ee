"""The held-requests job, called directly with a `now`: release into one touch, idempotent, re-held, declined."""

import datetime as dt

from sqlalchemy import func, select, update

from crm.audit.models import AuditEvent
from crm.employers.models import Employer
from crm.jobs.scheduler import JOBS, run_claimed
from crm.notify.models import OutboxMessage
from crm.touches.models import EmployerBlackout, Touch, TouchRequest
from crm.touches.release import release_due_requests
from tests.touches.test_intake import TODAY, day, logged_touch, submit


def at(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(9, 0), tzinfo=dt.UTC)


async def run_job(sessionmaker, d: dt.date) -> str:
    async with sessionmaker() as s, s.begin():
        return await release_due_requests(s, at(d))


async def two_held_requests(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    await logged_touch(db, e, day(-10))
    await logged_touch(db, e, day(-2))
    a = await submit(sessionmaker, world.users["partner"], employer_id=e.id, window_start=TODAY, window_end=day(5))
    b = await submit(sessionmaker, world.users["partner2"], employer_id=e.id, purpose="event",
                     window_start=day(1), window_end=day(6))
    assert a.body.status == b.body.status == "held" and a.body.release_on == day(20)
    return e, a.body.id, b.body.id


async def test_due_held_requests_of_an_employer_are_released_into_one_touch(world, sessionmaker, db):
    e, a, b = await two_held_requests(world, sessionmaker, db)
    assert await run_job(sessionmaker, day(19)) == "nothing due"
    assert await run_job(sessionmaker, day(20)) == "new_touch=1"
    reqs = list(await db.scalars(select(TouchRequest).order_by(TouchRequest.id)))
    assert [(r.status, r.release_on) for r in reqs] == [("queued", None), ("queued", None)]
    assert reqs[0].touch_id == reqs[1].touch_id is not None
    touch = await db.get_one(Touch, reqs[0].touch_id)
    assert (touch.planned_on, touch.spoc_id, touch.status) == (day(20), world.users["spoc"].id, "queued")
    released = await db.scalar(select(func.count()).where(AuditEvent.action == "touch_request.release",
                                                          AuditEvent.employer_id == e.id))
    assert released == 2
    mail = set(await db.scalars(select(OutboxMessage.to_email).where(OutboxMessage.subject.contains("released"))))
    assert mail == {"spoc@example.org"}


async def test_running_the_release_again_changes_nothing(world, sessionmaker, db):
    await two_held_requests(world, sessionmaker, db)
    await run_job(sessionmaker, day(20))
    snapshot = [(await db.scalar(select(func.count()).select_from(m))) for m in (Touch, AuditEvent, OutboxMessage)]
    assert await run_job(sessionmaker, day(20)) == "nothing due"
    assert [(await db.scalar(select(func.count()).select_from(m))) for m in (Touch, AuditEvent, OutboxMessage)] \
        == snapshot


async def test_held_requests_that_still_cannot_be_served_move_their_release_date(world, sessionmaker, db):
    e, a, b = await two_held_requests(world, sessionmaker, db)
    # Meanwhile the employer asked for no contact during the next two months.
    db.add(EmployerBlackout(employer_id=e.id, starts_on=day(15), ends_on=day(75)))
    await db.commit()
    assert await run_job(sessionmaker, day(20)) == "held=1"
    reqs = list(await db.scalars(select(TouchRequest).order_by(TouchRequest.id)))
    assert [(r.status, r.release_on) for r in reqs] == [("held", day(76)), ("held", day(76))]
    assert await db.scalar(select(func.count()).select_from(Touch)) == 2
    assert await run_job(sessionmaker, day(76)) == "new_touch=1"


async def test_a_logged_touch_meanwhile_pushes_the_released_touch_later(world, sessionmaker, db):
    e, a, b = await two_held_requests(world, sessionmaker, db)
    await logged_touch(db, e, day(18))  # the employer called in: that touch counts too
    assert await run_job(sessionmaker, day(20)) == "new_touch=1"
    touch = await db.scalar(select(Touch).where(Touch.source == "routed"))
    # Not day 20 (gap to day 18) nor 25 (three in the period since day -2): day -2 leaves it on day 28.
    assert touch.planned_on == day(28)


async def test_held_requests_of_an_employer_now_do_not_contact_are_declined(world, sessionmaker, db):
    e, a, b = await two_held_requests(world, sessionmaker, db)
    await db.execute(update(Employer).where(Employer.id == e.id).values(do_not_contact=True))
    await db.commit()
    assert await run_job(sessionmaker, day(20)) == "declined=1"
    statuses = set(await db.scalars(select(TouchRequest.status)))
    assert statuses == {"declined"}


async def test_two_processes_running_the_same_release_slot_run_it_once(world, sessionmaker, db):
    await two_held_requests(world, sessionmaker, db)
    job = next(j for j in JOBS if j.name == "release_held_requests")
    first = await run_claimed(sessionmaker, job, now=at(day(20)))
    second = await run_claimed(sessionmaker, job, now=at(day(20)) + dt.timedelta(minutes=1))
    assert first == "new_touch=1" and second is None
    assert await db.scalar(select(func.count()).select_from(Touch)) == 3


async def test_a_request_held_by_a_cancelled_touch_is_released_into_its_own_days(world, sessionmaker, db):
    """The touch was called off five weeks before the days the partner asked for: a week later the job
    plans the new touch in those days, not on the release day."""
    from crm.touches import workflow
    from crm.touches.touch_schemas import CancelIn
    from tests.touches.test_intake import as_principal

    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    a = await submit(sessionmaker, world.users["partner"], employer_id=e.id, window_start=day(40), window_end=day(60))
    assert (a.body.status, a.body.planned_date) == ("queued", day(40))
    spoc = await as_principal(sessionmaker, world.users["spoc"])
    async with sessionmaker() as s:
        await workflow.cancel(s, spoc, a.body.touch_id, CancelIn(reason="SPOC out sick that week"), at(TODAY))
        await s.commit()
    held = await db.get_one(TouchRequest, a.body.id)
    assert (held.status, held.release_on) == ("held", day(7))
    assert await run_job(sessionmaker, day(7)) == "new_touch=1"
    await db.rollback()  # read what the job committed
    held = await db.get_one(TouchRequest, a.body.id)
    touch = await db.get_one(Touch, held.touch_id)
    assert (touch.planned_on, touch.window_start, touch.window_end) == (day(40), day(40), day(60))
    assert held.hold_reason is None  # released: no longer held for the cancel
