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
