"""`/api/hand-offs`: who sees which hand-off, and only the receiving organization answers it, once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEvent
from crm.employers.models import EmployerContact
from crm.notify.models import OutboxMessage
from crm.touches.models import HandOff, touch_contact
from tests.factories import login
from tests.touches.conftest import SpocDesk


@pytest.fixture
async def hand_off(world, sessionmaker):
    desk = SpocDesk(sessionmaker)
    touch = await desk.touch(await world.f.employer("Golden State Logistics LLC"), world.users["spoc"],
                             status="completed")
    return await desk.hand_off(touch, world.users["spoc"], world.orgs["college"].id)


async def _list(client, world, who):
    r = await client.get("/api/hand-offs", headers=await world.f.auth(world.users[who]))
    assert r.status_code == 200, r.text
    return [h["id"] for h in r.json()["items"]]


async def test_receiving_partner_creator_and_region_lead_see_the_hand_off_others_do_not(client, world, hand_off):
    for who in ("partner", "spoc", "lead", "admin"):
        assert await _list(client, world, who) == [hand_off.id], who
    for who in ("partner2", "spoc2", "bay_lead"):
        assert await _list(client, world, who) == [], who


async def test_receiving_partner_accepts_and_the_spoc_is_told(client, world, db, hand_off):
    r = await client.post(f"/api/hand-offs/{hand_off.id}/accept", headers=await world.f.auth(world.users["partner"]),
                          json={"note": "our welding program will call them"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["response_note"]) == ("accepted", "our welding program will call them")
    assert (await db.scalar(select(AuditEvent.action).where(AuditEvent.entity_type == "hand_off"))) == "hand_off.accept"
    mail = (await db.scalars(select(OutboxMessage))).one()
    assert mail.to_email == "spoc@example.org" and "accepted" in mail.body


async def test_decline_needs_a_note_and_then_records_it(client, world, db, hand_off):
    headers = await world.f.auth(world.users["partner"])
    r = await client.post(f"/api/hand-offs/{hand_off.id}/decline", headers=headers, json={"note": " "})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "note"
    assert (await db.get(HandOff, hand_off.id)).status == "pending"
    r = await client.post(f"/api/hand-offs/{hand_off.id}/decline", headers=headers, json={"note": "no capacity"})
    assert r.status_code == 200 and r.json()["status"] == "declined"


@pytest.mark.parametrize("who", ["partner2", "spoc", "lead", "chair"])
async def test_only_the_receiving_organization_may_answer(client, world, db, hand_off, who):
    r = await client.post(f"/api/hand-offs/{hand_off.id}/accept", headers=await world.f.auth(world.users[who]),
                          json={})
    assert r.status_code == 403
    assert (await db.get(HandOff, hand_off.id)).status == "pending"


async def test_answering_twice_is_409(client, world, hand_off):
    headers = await world.f.auth(world.users["partner"])
    assert (await client.post(f"/api/hand-offs/{hand_off.id}/accept", headers=headers, json={})).status_code == 200
    r = await client.post(f"/api/hand-offs/{hand_off.id}/decline", headers=headers, json={"note": "changed mind"})
    assert r.status_code == 409 and "already accepted" in r.text


async def test_chair_cannot_list_hand_offs(client, world, hand_off):
    assert (await client.get("/api/hand-offs", headers=await world.f.auth(world.users["chair"]))).status_code == 403


async def test_unknown_hand_off_is_404(client, world):
    r = await client.post("/api/hand-offs/999999/accept", headers=await world.f.auth(world.users["partner"]), json={})
    assert r.status_code == 404


async def test_once_accepted_the_partner_is_told_whom_to_reach_and_not_before(client, world, db, sessionmaker):
    desk = SpocDesk(sessionmaker)
    employer = await world.f.employer("Golden State Logistics LLC")
    ana = await desk.contact(employer, "Ana Ruiz")
    async with sessionmaker() as s, s.begin():
        contact = await s.get(EmployerContact, ana.id)
        contact.email, contact.phone, contact.title = "ana@gsl.example.com", "+12135550134", "HR Director"
    touch = await desk.touch(employer, world.users["spoc"], status="completed")
    async with sessionmaker() as s, s.begin():
        await s.execute(touch_contact.insert().values(touch_id=touch.id, contact_id=ana.id))
    h = await desk.hand_off(touch, world.users["spoc"], world.orgs["college"].id)
    partner = await world.f.auth(world.users["partner"])
    listed = (await client.get("/api/hand-offs", headers=partner)).json()["items"]
    assert listed[0]["reach"] == []  # pending: the employer is reached through its SPOC
    r = await client.post(f"/api/hand-offs/{h.id}/accept", headers=partner, json={"note": "we will call"})
    assert [(c["name"], c["email"], c["phone"]) for c in r.json()["reach"]] == [
        ("Ana Ruiz", "ana@gsl.example.com", "+12135550134")]
    listed = (await client.get("/api/hand-offs", headers=partner)).json()["items"]
    assert listed[0]["reach"][0]["email"] == "ana@gsl.example.com"
    await login(client, world.users["partner"].email)
    page = (await client.get("/requests/")).text
    assert "Reach:" in page and 'href="mailto:ana@gsl.example.com"' in page and "HR Director" in page
    # Another organization's partner does not see the hand-off, nor so whom it introduced.
    assert (await client.get("/api/hand-offs", headers=await world.f.auth(world.users["partner2"]))).json()[
        "items"] == []


async def test_an_accepted_hand_off_from_a_touch_without_contacts_says_whom_to_ask_and_how(client, world, db,
                                                                                          hand_off):
    partner = await world.f.auth(world.users["partner"])
    assert (await client.get("/api/hand-offs", headers=partner)).json()["items"][0]["introducer"] is None  # pending
    r = await client.post(f"/api/hand-offs/{hand_off.id}/accept", headers=partner, json={})
    assert r.status_code == 200 and r.json()["reach"] == []
    spoc = {"id": world.users["spoc"].id, "name": "Maria Lopez", "email": "spoc@example.org"}
    assert r.json()["introducer"] == spoc
    assert (await client.get("/api/hand-offs", headers=partner)).json()["items"][0]["introducer"] == spoc
    await login(client, world.users["partner"].email)
    assert ('ask Maria Lopez (<a href="mailto:spoc@example.org">spoc@example.org</a>), who handed it off, to '
            "introduce you") in (await client.get("/requests/")).text


async def test_a_touch_completed_unscheduled_names_whom_the_spoc_spoke_with_to_the_partner_who_accepts(
        client, world, db, sessionmaker):
    """The audit's case: a SPOC phones the employer from the queue (never scheduling the touch), completes it
    saying whom they spoke with, and hands off: the partner who accepts is told whom to reach, not whom to ask."""
    desk = SpocDesk(sessionmaker)
    employer = await world.f.employer("Golden State Logistics LLC")
    ana = await desk.contact(employer, "Ana Ruiz")
    async with sessionmaker() as s, s.begin():
        (await s.get(EmployerContact, ana.id)).email = "ana@gsl.example.com"
    touch = await desk.touch(employer, world.users["spoc"])
    req = await desk.request(touch, world.users["partner2"])
    r = await client.post(f"/api/touches/{touch.id}/complete", headers=await world.f.auth(world.users["spoc"]), json={
        "outcomes": [{"request_id": req.id, "outcome": "interested"}], "channel": "call", "contact_ids": [ana.id],
        "hand_offs": [{"to_org_id": world.orgs["college"].id, "need": "forklift certification for 10"}]})
    assert r.status_code == 200, r.text
    made = r.json()["hand_offs"]
    spoc = await world.f.auth(world.users["spoc"])
    assert made == list(await db.scalars(select(HandOff.id).where(HandOff.touch_id == touch.id))) and len(made) == 1
    assert (await client.get(f"/api/touches/{touch.id}", headers=spoc)).json()["hand_offs"] == made
    listed_touches = (await client.get("/api/touches", params={"status": "completed"}, headers=spoc)).json()["items"]
    assert [t["hand_offs"] for t in listed_touches if t["id"] == touch.id] == [made]
    partner = await world.f.auth(world.users["partner"])
    [listed] = (await client.get("/api/hand-offs", headers=partner)).json()["items"]
    assert listed["id"] == made[0]
    assert listed["reach"] == [] and listed["introducer"] is None  # pending: reached through the SPOC
    r = await client.post(f"/api/hand-offs/{listed['id']}/accept", headers=partner, json={})
    assert r.status_code == 200, r.text
    assert [(c["name"], c["email"]) for c in r.json()["reach"]] == [("Ana Ruiz", "ana@gsl.example.com")]
    assert r.json()["introducer"] is None
    [listed] = (await client.get("/api/hand-offs", headers=partner)).json()["items"]
    assert [c["name"] for c in listed["reach"]] == ["Ana Ruiz"]
    await login(client, world.users["partner"].email)
    page = (await client.get("/requests/")).text
    assert 'href="mailto:ana@gsl.example.com"' in page and "No contact was noted" not in page
