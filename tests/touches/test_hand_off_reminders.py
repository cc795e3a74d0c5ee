"""The daily reminder of hand-offs a partner left unanswered for a week: once each, to whom it names (while
active) or its organization's partners, shown on the SPOC's Hand-offs tab and in the API."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from crm.auth.models import User
from crm.jobs.scheduler import JOBS, run_claimed
from crm.notify.models import OutboxMessage
from crm.touches.models import HandOff
from tests.factories import login

NOW = dt.datetime.now(dt.UTC)
JOB = next(j for j in JOBS if j.name == "remind_hand_offs")


async def _reminders(db) -> list[tuple[str, str]]:
    await db.rollback()
    rows = await db.execute(select(OutboxMessage.to_email, OutboxMessage.body)
                            .where(OutboxMessage.subject.like("Reminder: hand-off%")).order_by(OutboxMessage.id))
    return [(to, body) for to, body in rows]


async def test_a_hand_off_unanswered_for_a_week_is_brought_back_to_its_partner_once(world, desk, db, sessionmaker):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"], status="completed",
                         planned_in=-9)
    college, board = world.orgs["college"].id, world.orgs["board"].id
    week_old = await desk.hand_off(t, world.users["spoc"], college, "5 welders", created_at=NOW - dt.timedelta(days=8))
    named = await desk.hand_off(t, world.users["spoc"], board, "night classes", to_user_id=world.users["partner2"].id,
                                created_at=NOW - dt.timedelta(days=7, hours=1))
    await desk.hand_off(t, world.users["spoc"], college, "too new", created_at=NOW - dt.timedelta(days=5))
    await desk.hand_off(t, world.users["spoc"], college, "answered", status="accepted", responded_at=NOW,
                        created_at=NOW - dt.timedelta(days=20))

    assert await run_claimed(sessionmaker, JOB, NOW) == "reminded=2"
    sent = await _reminders(db)
    assert [to for to, _ in sent] == ["partner@example.org", "partner2@example.org"]
    assert "Maria Lopez handed you a need of Golden State Logistics" in sent[0][1] and "8 days ago" in sent[0][1]
    assert "5 welders" in sent[0][1] and "My requests page" in sent[0][1]
    assert {h.id: h.reminded_at is not None for h in await db.scalars(select(HandOff))} == {
        week_old.id: True, named.id: True, week_old.id + 2: False, week_old.id + 3: False}
    # The next day's run finds them reminded already: no second e-mail.
    assert await run_claimed(sessionmaker, JOB, NOW + dt.timedelta(days=1)) == "reminded=0"
    assert len(await _reminders(db)) == 2


async def test_a_named_person_who_left_is_replaced_by_the_organizations_partners(world, desk, db, sessionmaker):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"], status="completed",
                         planned_in=-9)
    await desk.hand_off(t, world.users["spoc"], world.orgs["college"].id, to_user_id=world.users["partner"].id,
                        created_at=NOW - dt.timedelta(days=8))
    colleague = await world.f.user("colleague@example.org", "Col League", [("partner", None)],
                                   org=world.orgs["college"])
    async with sessionmaker() as s, s.begin():
        await s.execute(update(User).where(User.id == world.users["partner"].id).values(is_active=False))
    assert await run_claimed(sessionmaker, JOB, NOW) == "reminded=1"
    assert [to for to, _ in await _reminders(db)] == [colleague.email]


async def test_the_spoc_sees_when_the_partner_was_reminded(client, world, desk, sessionmaker):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"], status="completed",
                         planned_in=-9)
    h = await desk.hand_off(t, world.users["spoc"], world.orgs["college"].id, created_at=NOW - dt.timedelta(days=8))
    await run_claimed(sessionmaker, JOB, NOW)
    await login(client, world.users["spoc"].email)
    row = (await client.get("/queue/hand-offs")).text.split(f'id="made-{h.id}"', 1)[1].split("</tr>", 1)[0]
    assert "reminded by e-mail on" in row
    api = (await client.get("/api/hand-offs", headers=await world.f.auth(world.users["spoc"]))).json()
    assert api["items"][0]["reminded_at"] is not None


LEADS_JOB = next(j for j in JOBS if j.name == "tell_leads_what_waits")


async def _told_leads(db) -> list[tuple[str, str, str]]:
    await db.rollback()
    rows = await db.execute(select(OutboxMessage.to_email, OutboxMessage.subject, OutboxMessage.body)
                            .where(OutboxMessage.subject.like("%waiting for staff")).order_by(OutboxMessage.id))
    return [tuple(r) for r in rows]


async def test_each_lead_is_told_once_a_day_what_waits_for_staff_in_their_region(world, desk, db, sessionmaker):
    await desk.request(None, world.users["partner"], status="needs_match")  # LA-BASIN, employer unknown
    await desk.request(None, world.users["partner2"], status="needs_match")
    await desk.touch(await world.f.employer("Golden State Logistics"), None)  # no SPOC
    await desk.touch(await world.f.employer("Assigned Co"), world.users["spoc"])  # has one: not waiting
    await desk.touch(await world.f.employer("Done Co"), None, status="completed", planned_in=-3)  # closed
    assert await run_claimed(sessionmaker, LEADS_JOB, NOW) == "told=1"
    [(to, subject, body)] = await _told_leads(db)
    assert (to, subject) == ("lead@example.org", "LA-BASIN: 2 requests and 1 touch waiting for staff")
    assert "2 requests waiting for a SPOC to confirm the employer meant; 1 touch waiting without a SPOC" in body
    assert body.endswith("Open it: {onedoor}/queue?who=unassigned&region=LA-BASIN")
    assert await run_claimed(sessionmaker, LEADS_JOB, NOW) is None  # the day's run is done: once a day


async def test_no_lead_is_told_when_nothing_waits_and_an_inactive_lead_never(world, desk, db, sessionmaker):
    await desk.touch(await world.f.employer("Assigned Co"), world.users["spoc"])
    assert await run_claimed(sessionmaker, LEADS_JOB, NOW) == "told=0"
    await desk.touch(await world.f.employer("Harbor Biologics", county="San Mateo"), None, region="BAY-PENINSULA")
    async with sessionmaker() as s, s.begin():
        await s.execute(update(User).where(User.id == world.users["bay_lead"].id).values(is_active=False))
    assert await run_claimed(sessionmaker, LEADS_JOB, NOW + dt.timedelta(days=1)) == "told=0"
    assert await _told_leads(db) == []
