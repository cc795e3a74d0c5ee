"""A declined hand-off's need passed on to another partner, or let go, by the SPOC who made it (or the lead)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.notify.models import OutboxMessage
from crm.touches.models import HandOff
from tests.factories import csrf, login

HX = {"HX-Request": "true"}


@pytest.fixture
async def declined(world, desk):
    """Maria's completed touch with Golden State Logistics, whose hand-off to the college was declined."""
    e = await world.f.employer("Golden State Logistics LLC")
    t = await desk.touch(e, world.users["spoc"], status="completed", planned_in=-3)
    h = await desk.hand_off(t, world.users["spoc"], world.orgs["college"].id, status="declined",
                            response_note="try the adult school", responded_at=dt.datetime.now(dt.UTC))
    return e, t, h


async def _fresh(db, hand_off_id):
    await db.rollback()
    return await db.get(HandOff, hand_off_id)


async def test_the_spoc_passes_a_declined_need_on_to_another_partner_who_is_told(client, world, db, declined):
    e, t, h = declined
    spoc = await world.f.auth(world.users["spoc"])
    waiting = (await client.get("/api/hand-offs", params={"to_settle": "true"}, headers=spoc)).json()
    assert [i["id"] for i in waiting["items"]] == [h.id] and waiting["total"] == 1
    r = await client.post(f"/api/hand-offs/{h.id}/pass-on", headers=spoc, json={"to_org_id": world.orgs["board"].id})
    assert r.status_code == 201, r.text
    new = r.json()
    assert (new["previous_id"], new["to_org"]["id"], new["need"], new["status"], new["touch_id"]) == (
        h.id, world.orgs["board"].id, "hiring 5 welders", "pending", t.id)
    assert (await _fresh(db, h.id)).settled_at is not None
    assert (await client.get("/api/hand-offs", params={"to_settle": "true"}, headers=spoc)).json()["total"] == 0
    # The board's partner is asked, as for any hand-off, and the passing on is audited on the declined one.
    told = (await db.execute(select(OutboxMessage.to_email, OutboxMessage.body))).all()
    assert [(to, "hiring 5 welders" in body) for to, body in told] == [("partner2@example.org", True)]
    actions = set(await db.scalars(select(AuditEvent.action).where(AuditEvent.employer_id == e.id)))
    assert {"hand_off.pass_on", "hand_off.create"} <= actions
    inbox = (await client.get("/api/hand-offs", headers=await world.f.auth(world.users["partner2"]))).json()
    assert [i["id"] for i in inbox["items"]] == [new["id"]]


async def test_a_reworded_need_is_passed_on_as_reworded(client, world, db, declined):
    _, _, h = declined
    r = await client.post(f"/api/hand-offs/{h.id}/pass-on", headers=await world.f.auth(world.users["lead"]),
                          json={"to_org_id": world.orgs["board"].id, "need": "  5 welders, evening classes "})
    assert r.status_code == 201, r.text
    assert r.json()["need"] == "5 welders, evening classes"


@pytest.mark.parametrize(("body", "field", "said"), [
    ({"to_org_id": "college"}, "to_org_id", "declined it: choose another partner organization"),
    ({"to_org_id": 999999}, "to_org_id", "organization #999999 does not exist"),
    ({"to_org_id": "board", "need": "   "}, "need", "is required"),
    ({"to_org_id": "board", "need": "x" * 2001}, "need", "2000"),
])
async def test_a_bad_pass_on_is_422_naming_the_field_and_changes_nothing(client, world, db, declined, body, field,
                                                                          said):
    _, _, h = declined
    body = {**body, "to_org_id": world.orgs[body["to_org_id"]].id if isinstance(body["to_org_id"], str)
            else body["to_org_id"]}
    r = await client.post(f"/api/hand-offs/{h.id}/pass-on", headers=await world.f.auth(world.users["spoc"]), json=body)
    assert r.status_code == 422, r.text
    assert field in r.text and said in r.text
    assert (await _fresh(db, h.id)).settled_at is None
    assert await db.scalar(select(func.count(HandOff.id))) == 1


@pytest.mark.parametrize("status", ["pending", "accepted"])
async def test_only_a_declined_hand_off_is_passed_on_or_let_go(client, world, desk, db, declined, status):
    _, t, _ = declined
    h = await desk.hand_off(t, world.users["spoc"], world.orgs["board"].id, status=status)
    spoc = await world.f.auth(world.users["spoc"])
    for path, body in (("pass-on", {"to_org_id": world.orgs["college"].id}), ("let-go", None)):
        r = await client.post(f"/api/hand-offs/{h.id}/{path}", headers=spoc, json=body)
        assert r.status_code == 409 and f"is {status}: only a declined hand-off" in r.text, r.text
    assert (await _fresh(db, h.id)).settled_at is None


async def test_a_settled_hand_off_says_how_it_was_settled(client, world, desk, declined):
    _, t, h = declined
    spoc = await world.f.auth(world.users["spoc"])
    passed = (await client.post(f"/api/hand-offs/{h.id}/pass-on", headers=spoc,
                                json={"to_org_id": world.orgs["board"].id})).json()
    r = await client.post(f"/api/hand-offs/{h.id}/let-go", headers=spoc)
    assert r.status_code == 409 and f"already passed on to LA Basin WDB (hand-off #{passed['id']})" in r.text
    other = await desk.hand_off(t, world.users["spoc"], world.orgs["board"].id, status="declined")
    assert (await client.post(f"/api/hand-offs/{other.id}/let-go", headers=spoc)).status_code == 200
    r = await client.post(f"/api/hand-offs/{other.id}/pass-on", headers=spoc,
                          json={"to_org_id": world.orgs["college"].id})
    assert r.status_code == 409 and "was already let go" in r.text


@pytest.mark.parametrize("who", ["spoc2", "bay_spoc", "bay_lead", "partner", "partner2", "chair"])
async def test_only_its_maker_a_lead_of_its_region_or_an_admin_may_settle_a_declined_hand_off(
        client, world, db, declined, who):
    _, _, h = declined
    auth = await world.f.auth(world.users[who])
    for path, body in (("pass-on", {"to_org_id": world.orgs["board"].id}), ("let-go", None)):
        r = await client.post(f"/api/hand-offs/{h.id}/{path}", headers=auth, json=body)
        assert r.status_code == 403, (who, r.text)
    listed = await client.get("/api/hand-offs", params={"to_settle": "true"}, headers=auth)
    assert listed.status_code == 403 if who == "chair" else listed.json()["total"] == 0
    assert (await _fresh(db, h.id)).settled_at is None
    assert await db.scalar(select(func.count(HandOff.id))) == 1


async def test_the_queue_lists_declined_hand_offs_and_passes_one_on_in_place(client, world, db, declined):
    _, _, h = declined
    await login(client, world.users["spoc"].email)
    page = (await client.get("/queue")).text
    section = page.split('id="declined-hand-offs"', 1)[1].split("</section>", 1)[0]
    assert "East LA College</strong> declined" in section and "try the adult school" in section
    r = await client.post(f"/queue/hand-offs/{h.id}/pass-on", headers={**HX, **csrf(client)},
                          data={"to_org": "Nobody Such", "need": "5 welders, nights"})
    assert r.status_code == 422 and "no partner organization is named &#39;Nobody Such&#39;" in r.text
    assert "5 welders, nights</textarea>" in r.text and 'value="Nobody Such"' in r.text  # what was typed stays
    r = await client.post(f"/queue/hand-offs/{h.id}/pass-on", headers={**HX, **csrf(client)},
                          data={"to_org": "la basin wdb", "need": "5 welders, nights"})
    assert r.status_code == 200, r.text
    assert f"Hand-off #{h.id} passed on to LA Basin WDB" in r.text
    assert 'id="declined-hand-offs" aria-labelledby="declined-title" hidden' in r.text  # none left to settle
    passed = await db.scalar(select(HandOff).where(HandOff.previous_id == h.id))
    assert (passed.to_org_id, passed.need) == (world.orgs["board"].id, "5 welders, nights")


async def test_letting_a_declined_hand_off_go_from_the_queue_without_javascript(client, world, db, declined):
    _, _, h = declined
    await login(client, world.users["lead"].email)
    await client.get("/queue")
    r = await client.post(f"/queue/hand-offs/{h.id}/let-go", follow_redirects=False,
                          data={"_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    assert (await _fresh(db, h.id)).settled_at is not None
    page = (await client.get("/queue")).text
    assert f"Hand-off #{h.id} let go" in page and "try the adult school" not in page
