"""Marking a SPOC away in the pages: the SPOC's own toggle on /queue (htmx and plain POST), the admin's on
/admin/users/{id}, and "(away)" where a lead sees the region's SPOCs (/region)."""

from __future__ import annotations

import datetime as dt
import html as htmllib

import pytest
from sqlalchemy import func, select, update

from crm.audit.models import AuditEvent
from crm.auth.models import User
from tests.factories import csrf, login

HX = {"HX-Request": "true"}
MARK_AWAY = "I'm away</button>"


async def _away(db, user) -> bool:
    await db.rollback()  # a fresh read, not the test session's last snapshot
    return bool(await db.scalar(select(User.away).where(User.id == user.id)))


async def _set_away(db, user) -> None:
    await db.execute(update(User).where(User.id == user.id).values(away=True))
    await db.commit()


def _text(page: str) -> str:
    return htmllib.unescape(page)


UNCOVERED_ONE = ("The other one has no backup: while you are away, its new touches go by the region's routing "
                 "rules, or to the unassigned queue, and its open touches stay in your queue.")


async def test_spoc_marks_themselves_away_without_javascript_and_the_queue_names_the_backup(client, world, db):
    spoc, backup = world.users["spoc"], world.users["spoc2"]
    await world.f.assign(await world.f.employer("Sunrise Family Dental"), spoc, backup_spoc_id=backup.id)
    await world.f.assign(await world.f.employer("Harbor Freight Lines"), spoc)
    await login(client, spoc.email)
    page = _text((await client.get("/queue")).text)
    assert MARK_AWAY in page and 'action="/queue/away"' in page and "You are marked away" not in page
    # Before the click: how much of the queue the backup covers, and that the rest stays here.
    before = page.split('id="away-coverage"', 1)[1].split("</p>", 1)[0]
    assert f"Your backup, Sam Ortiz, covers 1 of your 2 employers. {UNCOVERED_ONE}" in before
    assert 'aria-describedby="away-coverage"' in page.split(MARK_AWAY, 1)[0].rsplit("<button", 1)[1]
    r = await client.post("/queue/away", follow_redirects=False,
                          data={"away": "1", "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    assert await _away(db, spoc)
    page = _text((await client.get("/queue")).text)
    assert ("You are marked away: your backup covers 1 of your 2 employers; the open touches of the other one "
            "stay in your queue") in page
    away = page.split('id="away"', 1)[1].split("</section>", 1)[0]
    assert "Your backup, Sam Ortiz, covers 1 of your 2 employers." in away
    assert "<strong>Sam Ortiz</strong> gets the new touches of those employers" in away
    # Two sentences, not run together ("…open touches of them.The other one…").
    assert f"open touches of them. {UNCOVERED_ONE}" in away
    assert "I'm back" in away and MARK_AWAY not in away
    event = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "user.away"))).one()
    assert (event.actor_id, event.entity_id, event.after) == (spoc.id, spoc.id, {"away": True})


async def test_before_going_away_a_spoc_reads_how_many_employers_their_backups_cover_and_after_what_stays(
        client, world, db):
    spoc, sam = world.users["spoc"], world.users["spoc2"]
    grace = await world.f.user("grace@example.org", "Grace Kim", [("spoc", "LA-BASIN")], org=world.orgs["board"])
    await _set_away(db, grace)  # away too: the employers she backs up are not covered
    for n, backup in enumerate([sam, sam, sam, grace, None, None]):
        await world.f.assign(await world.f.employer(f"Employer {n} Co"), spoc,
                             backup_spoc_id=backup.id if backup else None)
    await login(client, spoc.email)
    page = _text((await client.get("/queue")).text)
    uncovered = ("The other 3 have no backup at work (Grace Kim, the backup of 1 employer, is away too): while you "
                 "are away, their new touches go by the region's routing rules, or to the unassigned queue, and "
                 "their open touches stay in your queue.")
    assert f"Your backup, Sam Ortiz, covers 3 of your 6 employers. {uncovered}" in page
    r = await client.post("/queue/away", headers={**HX, **csrf(client)}, data={"away": "1"})
    assert r.status_code == 200, r.text
    fragment = _text(r.text)
    status, notice = fragment.split('id="away"', 1)
    assert ("You are marked away: your backup covers 3 of your 6 employers; the open touches of the other 3 stay "
            "in your queue") in status
    assert "Your backup, Sam Ortiz, covers 3 of your 6 employers." in notice and uncovered in notice
    assert "Grace Kim</strong>" not in notice  # away herself: she gets none of them


@pytest.mark.parametrize(("backups", "said"), [
    ([], "None of your 2 employers has a backup: while you are away, their new touches go by the region's routing "
         "rules, or to the unassigned queue, and their open touches stay in your queue. Ask your lead for a backup."),
    (["spoc2", "spoc2"], "Your backup, Sam Ortiz, covers both your employers."),
    (["spoc2", "grace"], "Your backups cover both your employers (Grace Kim 1, Sam Ortiz 1)."),
])
async def test_the_coverage_a_spoc_reads_says_none_all_or_who(client, world, db, backups, said):
    grace = await world.f.user("grace@example.org", "Grace Kim", [("spoc", "LA-BASIN")], org=world.orgs["board"])
    people = {**world.users, "grace": grace}
    for n, backup in enumerate(backups or [None, None]):
        await world.f.assign(await world.f.employer(f"Employer {n} Co"), world.users["spoc"],
                             backup_spoc_id=people[backup].id if backup else None)
    await login(client, world.users["spoc"].email)
    page = _text((await client.get("/queue")).text)
    assert said == page.split('id="away-coverage">', 1)[1].split("</p>", 1)[0]


async def test_a_backup_who_can_no_longer_take_work_covers_none_as_routing_skips_them(client, world, db):
    spoc, sam = world.users["spoc"], world.users["spoc2"]
    for n in range(2):
        await world.f.assign(await world.f.employer(f"Employer {n} Co"), spoc, backup_spoc_id=sam.id)
    await db.execute(update(User).where(User.id == sam.id).values(is_active=False))  # left the board
    await db.commit()
    await login(client, spoc.email)
    said = _text((await client.get("/queue")).text)
    assert ("None of your 2 employers has a backup at work (Sam Ortiz, the backup of 2 employers, can no longer "
            "take work here)") in said
    assert "covers" not in said


async def test_a_spoc_without_employers_reads_that_nothing_needs_covering(client, world, db):
    await login(client, world.users["spoc"].email)
    page = _text((await client.get("/queue")).text)
    assert ("No employers are assigned to you, so there is nothing for a backup to cover: your open touches stay "
            "in your queue.") in page


async def test_spoc_comes_back_with_htmx_and_gets_the_notice_swapped(client, world, db):
    spoc = world.users["spoc"]
    await _set_away(db, spoc)
    await login(client, spoc.email)
    await client.get("/queue")
    r = await client.post("/queue/away", headers={**HX, **csrf(client)}, data={"away": "0"})
    assert r.status_code == 200, r.text
    fragment = _text(r.text)
    assert fragment.lstrip().startswith('<div id="queue-status" hx-swap-oob="innerHTML"')
    assert 'id="away"' in fragment and MARK_AWAY in fragment and "You are marked away" not in fragment
    assert "Welcome back" in fragment and "<html" not in fragment
    assert not await _away(db, spoc)


async def test_toggle_without_csrf_token_is_refused_and_changes_nothing(client, world, db):
    await login(client, world.users["spoc"].email)
    r = await client.post("/queue/away", data={"away": "1"}, follow_redirects=False)
    assert r.status_code == 403
    assert not await _away(db, world.users["spoc"])


async def test_a_lead_without_a_spoc_role_gets_no_toggle_and_cannot_post_one(client, world, db):
    await login(client, world.users["lead"].email)
    page = _text((await client.get("/queue")).text)
    assert MARK_AWAY not in page and 'id="away"' not in page
    r = await client.post("/queue/away", headers=csrf(client), data={"away": "1"}, follow_redirects=False)
    assert r.status_code == 403
    assert not await _away(db, world.users["lead"])


@pytest.mark.parametrize("who", ["partner", "chair"])
async def test_partner_or_chair_cannot_post_the_toggle(client, world, db, who):
    await login(client, world.users[who].email)
    r = await client.post("/queue/away", headers=csrf(client), data={"away": "1"}, follow_redirects=False)
    assert r.status_code == 403 and not await _away(db, world.users[who])


async def test_admin_marks_a_spoc_away_and_back_on_the_user_page(client, world, db):
    spoc = world.users["spoc"]
    await login(client, world.users["admin"].email)
    page = _text((await client.get(f"/admin/users/{spoc.id}")).text)
    assert f'action="/admin/users/{spoc.id}/away"' in page and "Mark away" in page
    r = await client.post(f"/admin/users/{spoc.id}/away", follow_redirects=False,
                          data={"away": "1", "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 303 and r.headers["location"] == f"/admin/users/{spoc.id}"
    assert await _away(db, spoc)
    page = _text((await client.get(f"/admin/users/{spoc.id}")).text)
    assert "Maria Lopez is marked away" in page and "Mark back" in page
    r = await client.post(f"/admin/users/{spoc.id}/away", follow_redirects=False,
                          data={"away": "0", "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 303 and not await _away(db, spoc)
    events = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "user.away")
                               .order_by(AuditEvent.id))).all()
    assert [(e.actor_id, e.before, e.after) for e in events] == [
        (world.users["admin"].id, {"away": False}, {"away": True}),
        (world.users["admin"].id, {"away": True}, {"away": False})]


async def test_admin_user_page_offers_no_away_control_for_a_user_without_a_spoc_role(client, world, db):
    partner = world.users["partner"]
    await login(client, world.users["admin"].email)
    page = _text((await client.get(f"/admin/users/{partner.id}")).text)
    assert f'action="/admin/users/{partner.id}/away"' not in page
    r = await client.post(f"/admin/users/{partner.id}/away", follow_redirects=False,
                          data={"away": "1", "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 422
    assert "holds no SPOC role" in _text(r.text)
    assert not await _away(db, partner)


async def test_a_non_admin_cannot_post_the_admin_away_form(client, world, db):
    spoc = world.users["spoc"]
    await login(client, world.users["lead"].email)
    r = await client.post(f"/admin/users/{spoc.id}/away", headers=csrf(client), data={"away": "1"},
                          follow_redirects=False)
    assert r.status_code == 403 and not await _away(db, spoc)


async def test_region_page_shows_which_spocs_are_away(client, world, db):
    await _set_away(db, world.users["spoc2"])
    await login(client, world.users["lead"].email)
    page = _text((await client.get("/region")).text)
    spocs = page.split('id="region-spocs"', 1)[1].split("</section>", 1)[0]
    assert "Sam Ortiz (away)" in spocs and "Maria Lopez (away)" not in spocs and "Maria Lopez" in spocs


async def test_lead_marks_a_spoc_of_their_region_away_and_back_on_the_region_page(client, world, db):
    spoc = world.users["spoc2"]
    await login(client, world.users["lead"].email)
    page = _text((await client.get("/region")).text)
    spocs = page.split('id="region-spocs"', 1)[1].split("</section>", 1)[0]
    assert f'action="/region/LA-BASIN/spocs/{spoc.id}/away"' in spocs
    assert f'/spocs/{world.users["lead"].id}/away' not in spocs  # a lead without a SPOC role has no queue to cover
    r = await client.post(f"/region/LA-BASIN/spocs/{spoc.id}/away", follow_redirects=False,
                          data={"away": "1", "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 303 and r.headers["location"].startswith("/region?region=LA-BASIN")
    assert await _away(db, spoc)
    assert "Sam Ortiz is marked away" in _text((await client.get("/region")).text)
    r = await client.post(f"/region/LA-BASIN/spocs/{spoc.id}/away", follow_redirects=False,
                          data={"away": "0", "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 303 and not await _away(db, spoc)
    events = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "user.away"))).all()
    assert [e.actor_id for e in events] == [world.users["lead"].id] * 2


async def test_lead_cannot_mark_a_spoc_of_another_region_away_through_their_own_region(client, world, db):
    bay_spoc = world.users["bay_spoc"]
    await login(client, world.users["lead"].email)
    r = await client.post(f"/region/LA-BASIN/spocs/{bay_spoc.id}/away", headers=csrf(client), data={"away": "1"},
                          follow_redirects=False)
    assert r.status_code == 403 and not await _away(db, bay_spoc)


async def test_back_from_away_the_spoc_takes_back_the_touches_routed_to_the_backup_not_yet_scheduled(
        client, world, db):
    from crm.notify.models import OutboxMessage
    from crm.touches.models import Touch
    from tests.api.test_touch_requests_api import body

    spoc, backup = world.users["spoc"], world.users["spoc2"]
    employers = [await world.f.employer(name) for name in ("Sunrise Family Dental", "Harbor Freight Lines",
                                                            "Golden State Logistics")]
    for e in employers:
        await world.f.assign(e, spoc, backup_spoc_id=backup.id)
    await login(client, spoc.email)
    await client.get("/queue")
    r = await client.post("/queue/away", headers={**HX, **csrf(client)}, data={"away": "1"})
    assert r.status_code == 200 and await _away(db, spoc)
    partner, lead, sam = [await world.f.auth(world.users[w]) for w in ("partner", "lead", "spoc2")]
    touches = []
    for e in employers:
        r = await client.post("/api/touch-requests", headers=partner, json=body(e.id))
        assert r.status_code == 201 and r.json()["spoc"]["name"] == "Sam Ortiz", r.text
        touches.append(r.json()["touch_id"])
    queued, scheduled, handed = touches
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(microsecond=0).isoformat()
    assert (await client.post(f"/api/touches/{scheduled}/schedule", headers=sam,
                              json={"scheduled_at": when, "channel": "call"})).status_code == 200
    for to in (world.users["lead"].id, backup.id):  # a lead gave it to Sam by hand: that stands
        assert (await client.post(f"/api/touches/{handed}/reassign", headers=lead,
                                  json={"spoc_id": to})).status_code == 200
    await db.rollback()
    before = await db.scalar(select(func.max(OutboxMessage.id)))
    await db.rollback()
    r = await client.post("/queue/away", headers={**HX, **csrf(client)}, data={"away": "0"})
    assert r.status_code == 200
    assert "1 touch routed to the backup meanwhile and not scheduled yet is back in the queue" in _text(r.text)
    await db.rollback()
    owners = dict((await db.execute(select(Touch.id, Touch.spoc_id).where(Touch.id.in_(touches)))).all())
    assert owners == {queued: spoc.id, scheduled: backup.id, handed: backup.id}
    told = dict((await db.execute(select(OutboxMessage.to_email, OutboxMessage.body)
                                  .where(OutboxMessage.id > before))).all())
    assert f"touch(es) #{queued}, routed to you while they were away" in told["spoc2@example.org"]
    assert "Maria Lopez, the employer's SPOC, is back and handles your touch" in told["partner@example.org"]
    # Away again and back with nothing routed meanwhile: nothing moves, nothing said.
    for away in ("1", "0"):
        r = await client.post("/queue/away", headers={**HX, **csrf(client)}, data={"away": away})
    assert "back in the queue" not in _text(r.text)
