"""`/api/touches` queue visibility and filters, the authorization matrix, and `/api/employers/{id}/timeline`."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from crm.auth.models import User
from crm.touches.models import HandOff, Touch
from tests.touches.conftest import today


async def _ids(client, headers, **params):
    r = await client.get("/api/touches", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()["items"]]


async def test_spoc_queue_holds_own_touches_and_those_backed_up_for_an_away_spoc(client, world, desk, db):
    mine_e, theirs_e, backed_e = [await world.f.employer(n) for n in ("Mine Co", "Theirs Co", "Backed Co")]
    mine = await desk.touch(mine_e, world.users["spoc"])
    await desk.touch(theirs_e, world.users["spoc2"])
    backed = await desk.touch(backed_e, world.users["spoc2"])
    await world.f.assign(backed_e, world.users["spoc2"], backup_spoc_id=world.users["spoc"].id)
    await desk.touch(await world.f.employer("Nobody Co"))  # unassigned
    spoc = await world.f.auth(world.users["spoc"])
    assert await _ids(client, spoc) == [mine.id]
    await db.execute(update(User).where(User.id == world.users["spoc2"].id).values(away=True))
    await db.commit()
    assert sorted(await _ids(client, spoc)) == [mine.id, backed.id]


async def test_lead_queue_is_the_whole_region_including_unassigned(client, world, desk):
    a = await desk.touch(await world.f.employer("A Co"), world.users["spoc"], planned_in=2)
    b = await desk.touch(await world.f.employer("B Co"), world.users["spoc2"], planned_in=1)
    u = await desk.touch(await world.f.employer("U Co"), planned_in=3)
    await desk.touch(await world.f.employer("Bay Co", county="San Mateo"), world.users["bay_spoc"],
                     region="BAY-PENINSULA")
    lead = await world.f.auth(world.users["lead"])
    assert await _ids(client, lead) == [b.id, a.id, u.id]  # soonest planned first
    assert await _ids(client, lead, unassigned="true") == [u.id]


async def test_open_touches_come_soonest_first_and_closed_ones_latest_first(client, world, desk):
    e = await world.f.employer("A Co")
    spoc = world.users["spoc"]
    soon, later = await desk.touch(e, spoc, planned_in=2), await desk.touch(e, spoc, planned_in=9)
    old = await desk.touch(e, spoc, status="completed", planned_in=-40)
    recent = await desk.touch(e, spoc, status="completed", planned_in=-5)
    headers = await world.f.auth(spoc)
    assert await _ids(client, headers) == [soon.id, later.id]
    assert await _ids(client, headers, status="completed") == [recent.id, old.id]


async def test_queue_filters_status_employer_and_due_dates(client, world, desk):
    e = await world.f.employer("A Co")
    soon = await desk.touch(e, world.users["spoc"], planned_in=1)
    later = await desk.touch(e, world.users["spoc"], planned_in=20, status="scheduled")
    done = await desk.touch(await world.f.employer("B Co"), world.users["spoc"], planned_in=-5, status="completed")
    spoc = await world.f.auth(world.users["spoc"])
    assert await _ids(client, spoc, status="scheduled") == [later.id]
    assert await _ids(client, spoc, status="completed") == [done.id]
    assert await _ids(client, spoc, employer_id=e.id) == [soon.id, later.id]
    cut = (today() + dt.timedelta(days=7)).isoformat()
    assert await _ids(client, spoc, due_before=cut) == [soon.id]
    assert await _ids(client, spoc, due_after=cut) == [later.id]
    r = await client.get("/api/touches", headers=spoc, params={"limit": 1, "offset": 1})
    assert r.json()["total"] == 2 and [t["id"] for t in r.json()["items"]] == [later.id]


@pytest.mark.parametrize(("params", "field"), [({"status": "lost"}, "status"), ({"region": "NOWHERE"}, "region"),
                                               ({"limit": 0}, "limit"), ({"due_before": "soon"}, "due_before")])
async def test_bad_queue_filters_are_4xx_naming_the_field(client, world, params, field):
    r = await client.get("/api/touches", headers=await world.f.auth(world.users["spoc"]), params=params)
    assert 400 <= r.status_code < 500 and field in r.text


ACTIONS = [("schedule", {"scheduled_at": "2099-01-05T10:00:00Z", "channel": "call"}),
           ("complete", {"outcomes": []}), ("cancel", {"reason": "x"}), ("reassign", {"spoc_id": 1})]


@pytest.mark.parametrize("who", ["partner", "chair", "bay_spoc", "bay_lead"])
@pytest.mark.parametrize(("action", "body"), ACTIONS)
async def test_only_staff_of_the_touch_region_may_work_it(client, world, desk, db, who, action, body):
    t = await desk.touch(await world.f.employer("A Co"), world.users["spoc"])
    r = await client.post(f"/api/touches/{t.id}/{action}", headers=await world.f.auth(world.users[who]), json=body)
    assert r.status_code == 403, r.text
    assert (await client.get(f"/api/touches/{t.id}", headers=await world.f.auth(world.users["lead"]))
            ).json()["status"] == "queued"


@pytest.mark.parametrize("who", ["partner", "chair"])
async def test_partners_and_chairs_get_403_on_the_queue_and_logging(client, world, db, who):
    headers = await world.f.auth(world.users[who])
    e = await world.f.employer("A Co")
    assert (await client.get("/api/touches", headers=headers)).status_code == 403
    r = await client.post("/api/touches", headers=headers,
                          json={"employer_id": e.id, "channel": "call", "occurred_on": today().isoformat(),
                                "hand_offs": [{"to_org_id": world.orgs["college"].id, "need": "welders"}]})
    assert r.status_code == 403
    assert await db.scalar(select(func.count(Touch.id))) == await db.scalar(select(func.count(HandOff.id))) == 0


async def test_spoc_of_another_region_cannot_log_a_touch_there(client, world):
    e = await world.f.employer("A Co")
    r = await client.post("/api/touches", headers=await world.f.auth(world.users["bay_spoc"]),
                          json={"employer_id": e.id, "channel": "call", "occurred_on": today().isoformat()})
    assert r.status_code == 403


async def test_a_logged_touch_sent_again_with_its_idempotency_key_is_logged_once(client, world, db):
    e = await world.f.employer("A Co")
    headers = {**await world.f.auth(world.users["spoc"]), "Idempotency-Key": "call-42"}
    body = {"employer_id": e.id, "channel": "call", "occurred_on": today().isoformat(), "notes": "asked for interns"}
    first = await client.post("/api/touches", headers=headers, json=body)
    again = await client.post("/api/touches", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.employer_id == e.id)) == 1
    other = await client.post("/api/touches", headers=headers, json={**body, "channel": "visit"})
    assert other.status_code == 422 and other.json()["error"]["fields"][0]["field"] == "Idempotency-Key"
    await db.rollback()
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.employer_id == e.id)) == 1
    without_key = {k: v for k, v in headers.items() if k != "Idempotency-Key"}
    assert (await client.post("/api/touches", headers=without_key, json=body)).status_code == 201
    await db.rollback()
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.employer_id == e.id)) == 2


async def test_spoc_of_another_region_does_not_see_the_touch(client, world, desk):
    t = await desk.touch(await world.f.employer("A Co"), world.users["spoc"])
    bay = await world.f.auth(world.users["bay_spoc"])
    assert await _ids(client, bay) == []
    assert (await client.get(f"/api/touches/{t.id}", headers=bay)).status_code == 403
    assert await _ids(client, await world.f.auth(world.users["bay_lead"])) == []


async def test_timeline_shows_every_partner_newest_first_but_hides_other_orgs_notes(client, world, desk):
    e = await world.f.employer("Golden State Logistics LLC")
    done = await desk.touch(e, world.users["spoc"], status="completed", planned_in=-10, notes="owner is gruff",
                            channel="visit")
    mine = await desk.request(done, world.users["partner"], purpose="hiring", summary="college's plan",
                              status="completed")
    open_touch = await desk.touch(e, world.users["spoc"], planned_in=5)
    theirs = await desk.request(open_touch, world.users["partner2"], purpose="apprenticeship",
                                summary="board's secret plan")
    partner = (await client.get(f"/api/employers/{e.id}/timeline",
                                headers=await world.f.auth(world.users["partner"]))).json()
    assert [(i["kind"], i["id"]) for i in partner["items"]][:2] == [("touch", open_touch.id), ("request", theirs.id)]
    by = {(i["kind"], i["id"]): i for i in partner["items"]}
    assert by[("request", mine.id)]["summary"] == "college's plan"
    other = by[("request", theirs.id)]
    assert set(other) == {"kind", "id", "on", "at", "status", "purposes", "region"}
    assert other["purposes"] == ["apprenticeship"] and other["status"] == "queued"
    assert "owner is gruff" not in str(partner) and "board's secret plan" not in str(partner)
    assert by[("touch", done.id)]["spoc"] == "Maria Lopez" and "channel" not in by[("touch", done.id)]
    assert partner["budget"][0]["region"] == "LA-BASIN"
    spoc = await world.f.auth(world.users["spoc"])
    staff = (await client.get(f"/api/employers/{e.id}/timeline", headers=spoc)).json()
    assert "owner is gruff" in str(staff) and "board's secret plan" in str(staff)


async def test_timeline_is_refused_to_chairs_and_404_for_unknown_employers(client, world):
    e = await world.f.employer("A Co")
    assert (await client.get(f"/api/employers/{e.id}/timeline",
                             headers=await world.f.auth(world.users["chair"]))).status_code == 403
    assert (await client.get("/api/employers/999999/timeline",
                             headers=await world.f.auth(world.users["spoc"]))).status_code == 404


async def test_scheduling_through_the_api_refuses_a_stale_seen_and_still_works_without_one(client, world, desk):
    t = await desk.touch(await world.f.employer("Golden State Logistics"), world.users["spoc"])
    spoc, lead = await world.f.auth(world.users["spoc"]), await world.f.auth(world.users["lead"])
    read = (await client.get(f"/api/touches/{t.id}", headers=spoc)).json()
    when = f"{(today() + dt.timedelta(days=4)).isoformat()}T10:00:00"
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=lead, json={
        "scheduled_at": when, "channel": "visit", "seen": read["seen"]})
    assert r.status_code == 200 and r.json()["seen"] != read["seen"]
    later = f"{(today() + dt.timedelta(days=9)).isoformat()}T10:00:00"
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=spoc, json={
        "scheduled_at": later, "channel": "call", "seen": read["seen"]})
    assert r.status_code == 409 and "scheduled meanwhile by Lee Lead" in r.json()["error"]["message"]
    # Clients that never send it schedule as before.
    r = await client.post(f"/api/touches/{t.id}/schedule", headers=spoc, json={"scheduled_at": later,
                                                                                 "channel": "call"})
    assert r.status_code == 200 and r.json()["channel"] == "call"


async def test_a_touch_logged_by_someone_else_is_told_to_the_employers_spoc(client, world, db):
    """A colleague reached Maria's employer: Maria learns it (it spends her employer's budget); her own
    logging tells nobody."""
    from crm.notify.models import OutboxMessage

    e = await world.f.employer("Golden State Logistics")
    await world.f.assign(e, world.users["spoc"])
    body = {"employer_id": e.id, "channel": "call", "occurred_on": today().isoformat(), "notes": "asked about interns"}
    r = await client.post("/api/touches", json=body, headers=await world.f.auth(world.users["spoc2"]))
    assert r.status_code == 201, r.text
    r = await client.post("/api/touches", json={**body, "channel": "email"},
                          headers=await world.f.auth(world.users["spoc"]))
    assert r.status_code == 201, r.text
    await db.rollback()
    told = (await db.execute(select(OutboxMessage.to_email, OutboxMessage.subject, OutboxMessage.body))).all()
    assert [(to, subject) for to, subject, _ in told] == [
        ("spoc@example.org", "Sam Ortiz logged a call with Golden State Logistics")]
    assert "asked about interns" in told[0][2]
