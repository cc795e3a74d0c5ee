"""Held requests decided again when the pacing rules change: a lead's region policy or an employer's contact
preferences. Loosened rules release them now; stricter ones move their day; a SPOC's hold is left alone."""

import datetime as dt

from sqlalchemy import select, update

from crm import clock
from crm.notify.models import OutboxMessage
from crm.touches.models import TouchRequest
from crm.touches.requests import cancelled_hold
from tests.touches.test_intake import logged_touch, submit


def day(n: int) -> dt.date:
    return clock.today() + dt.timedelta(days=n)


async def _held(world, sessionmaker, db):
    """Two requests for an employer whose default budget (2 touches in 30 days) is used up: held to day 20."""
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    await logged_touch(db, e, day(-10))
    await logged_touch(db, e, day(-2))
    ids = []
    for user, purpose in (("partner", "hiring"), ("partner2", "event")):
        r = await submit(sessionmaker, world.users[user], today=clock.today(), now=clock.now(), employer_id=e.id,
                         purpose=purpose, window_start=day(0), window_end=day(5))
        assert (r.body.status, r.body.release_on) == ("held", day(20))
        ids.append(r.body.id)
    return e, ids


async def _requests(db, ids):
    await db.rollback()
    return [(r.status, r.release_on) for r in await db.scalars(
        select(TouchRequest).where(TouchRequest.id.in_(ids)).order_by(TouchRequest.id)
        .execution_options(populate_existing=True))]


async def test_a_looser_region_policy_releases_the_requests_the_old_one_held(client, world, sessionmaker, db):
    e, ids = await _held(world, sessionmaker, db)
    r = await client.put("/api/regions/LA-BASIN/policy", headers=await world.f.auth(world.users["lead"]),
                         json={"max_touches": 4, "period_days": 30, "min_gap_days": 1})
    assert r.status_code == 200, r.text
    assert r.json()["held"] == {"released": 2, "moved": 0, "declined": 0}
    assert [s for s, _ in await _requests(db, ids)] == ["queued", "queued"]
    told = list(await db.scalars(select(OutboxMessage.body).where(OutboxMessage.to_email == "partner@example.org")))
    assert any("LA-BASIN's pacing policy changed: released from hold into touch #" in b for b in told), told
    spoc = list(await db.scalars(select(OutboxMessage.body).where(OutboxMessage.to_email == "spoc@example.org")))
    assert any("2 requests released when LA-BASIN's pacing policy changed joined touch #" in b for b in spoc), spoc
    # Saving the same policy again decides nothing anew.
    r = await client.put("/api/regions/LA-BASIN/policy", headers=await world.f.auth(world.users["lead"]),
                         json={"max_touches": 4, "period_days": 30, "min_gap_days": 1})
    assert r.json()["held"] is None


async def test_a_stricter_region_policy_moves_their_day_and_tells_the_requesters(client, world, sessionmaker, db):
    e, ids = await _held(world, sessionmaker, db)
    r = await client.put("/api/regions/LA-BASIN/policy", headers=await world.f.auth(world.users["lead"]),
                         json={"max_touches": 2, "period_days": 60, "min_gap_days": 7})
    assert r.json()["held"] == {"released": 0, "moved": 2, "declined": 0}, r.text
    assert await _requests(db, ids) == [("held", day(50)), ("held", day(50))]
    told = list(await db.scalars(select(OutboxMessage.body).where(OutboxMessage.to_email == "partner2@example.org")))
    assert any(f"now held until {day(50).day} " in b for b in told), told


async def test_a_request_a_spoc_held_after_cancelling_its_touch_keeps_its_day(client, world, sessionmaker, db):
    e, ids = await _held(world, sessionmaker, db)
    await db.execute(update(TouchRequest).where(TouchRequest.id == ids[0]).values(
        hold_reason=cancelled_hold(7, "the owner is travelling"), release_on=day(12)))
    await db.commit()
    r = await client.put("/api/regions/LA-BASIN/policy", headers=await world.f.auth(world.users["lead"]),
                         json={"max_touches": 4, "period_days": 30, "min_gap_days": 1})
    assert r.json()["held"] == {"released": 1, "moved": 0, "declined": 0}, r.text
    assert await _requests(db, ids) == [("held", day(12)), ("queued", None)]


async def test_an_employer_lifting_its_blackout_days_releases_the_requests_they_held(client, world, sessionmaker,
                                                                                    db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    spoc = await world.f.auth(world.users["spoc"])
    blackout = {"starts_on": day(0).isoformat(), "ends_on": day(30).isoformat()}
    assert (await client.put(f"/api/employers/{e.id}/preferences", headers=spoc,
                             json={"blackouts": [blackout]})).status_code == 200
    r = await submit(sessionmaker, world.users["partner"], today=clock.today(), now=clock.now(), employer_id=e.id,
                     window_start=day(0), window_end=day(5))
    assert (r.body.status, r.body.release_on) == ("held", day(31))
    held_id = r.body.id
    r = await client.put(f"/api/employers/{e.id}/preferences", headers=spoc, json={"blackouts": []})
    assert r.status_code == 200 and r.json()["held"] == {"released": 1, "moved": 0, "declined": 0}, r.text
    assert [s for s, _ in await _requests(db, [held_id])] == ["queued"]


async def test_the_policy_page_says_what_became_of_the_held_requests(client, world, sessionmaker, db):
    from tests.factories import csrf, login

    await _held(world, sessionmaker, db)
    await login(client, world.users["lead"].email)
    r = await client.post("/region/LA-BASIN/policy", headers={"HX-Request": "true", **csrf(client)},
                          data={"max_touches": "2", "period_days": "60", "min_gap_days": "7"})
    assert r.status_code == 200 and "<html" not in r.text, r.text
    assert "7 days apart. 2 held requests now held to another day.</p>" in r.text  # in the policy card
    r = await client.post("/region/LA-BASIN/policy", headers=csrf(client),
                          data={"max_touches": "4", "period_days": "30", "min_gap_days": "1"})
    assert r.status_code == 200, r.text
    assert "Pacing policy of LA-BASIN saved; 2 held requests released onto a touch" in r.text
