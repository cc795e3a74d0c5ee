"""Marking a SPOC away and back (SPEC §3.5: an absent SPOC's queue goes to the backup): the SPOC
themselves (`PUT /api/users/me/away`), a lead of their region or an admin (`PUT /api/users/{id}/away`);
audited, and what routing then does with a new request."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEvent
from crm.auth.models import User
from crm.touches.models import Touch
from tests.api.test_touch_requests_api import body


async def _away(db, user) -> bool:
    await db.rollback()  # a fresh read: not the snapshot of the test session's last one
    return bool(await db.scalar(select(User.away).where(User.id == user.id).execution_options(populate_existing=True)))


async def _events(db, user):
    await db.rollback()
    return list(await db.scalars(select(AuditEvent).where(AuditEvent.action == "user.away",
                                                          AuditEvent.entity_id == user.id).order_by(AuditEvent.id)))


async def test_spoc_marks_themselves_away_and_back_with_audit(client, world, db):
    spoc = world.users["spoc"]
    headers = await world.f.auth(spoc)
    r = await client.put("/api/users/me/away", json={"away": True}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["away"] is True and r.json()["email"] == spoc.email and r.json()["home"] == "/queue"
    assert await _away(db, spoc)
    assert (await client.get("/api/users/me", headers=headers)).json()["away"] is True
    r = await client.put("/api/users/me/away", json={"away": False}, headers=headers)
    assert r.status_code == 200 and r.json()["away"] is False
    assert not await _away(db, spoc)
    events = await _events(db, spoc)
    assert [(e.actor_id, e.before, e.after) for e in events] == [
        (spoc.id, {"away": False}, {"away": True}), (spoc.id, {"away": True}, {"away": False})]


async def test_saying_what_is_already_so_changes_and_audits_nothing(client, world, db):
    r = await client.put("/api/users/me/away", json={"away": False}, headers=await world.f.auth(world.users["spoc"]))
    assert r.status_code == 200 and r.json()["away"] is False
    assert await _events(db, world.users["spoc"]) == []


@pytest.mark.parametrize("who", ["partner", "chair", "lead"])
async def test_only_a_spoc_marks_themselves_away(client, world, db, who):
    r = await client.put("/api/users/me/away", json={"away": True}, headers=await world.f.auth(world.users[who]))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden"
    assert not await _away(db, world.users[who]) and await _events(db, world.users[who]) == []


async def test_lead_marks_a_spoc_of_their_region_away_with_audit(client, world, db):
    spoc, lead = world.users["spoc"], world.users["lead"]
    r = await client.put(f"/api/users/{spoc.id}/away", json={"away": True}, headers=await world.f.auth(lead))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == spoc.id and r.json()["away"] is True
    assert r.json()["roles"] == [{"role": "spoc", "region": "LA-BASIN"}]
    assert await _away(db, spoc)
    [event] = await _events(db, spoc)
    assert (event.actor_id, event.entity_type, event.before, event.after) == (
        lead.id, "user", {"away": False}, {"away": True})


async def test_admin_marks_any_spoc_away_and_back(client, world, db):
    spoc = world.users["bay_spoc"]
    headers = await world.f.auth(world.users["admin"])
    assert (await client.put(f"/api/users/{spoc.id}/away", json={"away": True}, headers=headers)).status_code == 200
    assert await _away(db, spoc)
    assert (await client.put(f"/api/users/{spoc.id}/away", json={"away": False}, headers=headers)).status_code == 200
    assert not await _away(db, spoc)


async def test_lead_of_another_region_is_refused(client, world, db):
    r = await client.put(f"/api/users/{world.users['spoc'].id}/away", json={"away": True},
                         headers=await world.f.auth(world.users["bay_lead"]))
    assert r.status_code == 403, r.text
    assert not await _away(db, world.users["spoc"]) and await _events(db, world.users["spoc"]) == []


@pytest.mark.parametrize("who", ["partner", "chair", "spoc2"])
async def test_partner_chair_or_another_spoc_cannot_mark_a_spoc_away(client, world, db, who):
    r = await client.put(f"/api/users/{world.users['spoc'].id}/away", json={"away": True},
                         headers=await world.f.auth(world.users[who]))
    assert r.status_code == 403, r.text
    assert not await _away(db, world.users["spoc"]) and await _events(db, world.users["spoc"]) == []


async def test_unknown_user_is_404(client, world):
    r = await client.put("/api/users/999999/away", json={"away": True},
                         headers=await world.f.auth(world.users["admin"]))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_marking_a_user_without_a_spoc_role_away_is_422_naming_the_field(client, world, db):
    partner = world.users["partner"]
    r = await client.put(f"/api/users/{partner.id}/away", json={"away": True},
                         headers=await world.f.auth(world.users["admin"]))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"][0]["field"] == "away"
    assert not await _away(db, partner) and await _events(db, partner) == []


async def test_a_body_without_a_boolean_is_422(client, world, db):
    headers = await world.f.auth(world.users["spoc"])
    for bad in ({}, {"away": "yes"}, {"away": True, "until": "monday"}):
        r = await client.put("/api/users/me/away", json=bad, headers=headers)
        assert r.status_code == 422, (bad, r.text)
    assert not await _away(db, world.users["spoc"])


async def test_without_credentials_both_are_401(client, world):
    for path in ("/api/users/me/away", f"/api/users/{world.users['spoc'].id}/away"):
        assert (await client.put(path, json={"away": True})).status_code == 401


async def test_spoc_marked_away_through_the_api_has_a_new_request_routed_to_the_backup(client, world, db):
    """End to end: the flag set over the API is what routing reads (SPEC §3.5 "an absent SPOC's queue
    goes to the backup")."""
    spoc, backup = world.users["spoc"], world.users["spoc2"]
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, spoc, backup_spoc_id=backup.id)
    r = await client.put("/api/users/me/away", json={"away": True}, headers=await world.f.auth(spoc))
    assert r.status_code == 200, r.text
    r = await client.post("/api/touch-requests", json=body(e.id), headers=await world.f.auth(world.users["partner"]))
    assert r.status_code == 201, r.text
    assert r.json()["spoc"] == {"id": backup.id, "name": "Sam Ortiz"}
    touch = await db.get(Touch, r.json()["touch_id"])
    assert touch.spoc_id == backup.id
    # The backup's queue holds it; once the SPOC is back, the next request goes to them again.
    queue = await client.get("/api/touches", headers=await world.f.auth(backup))
    assert [t["id"] for t in queue.json()["items"]] == [touch.id]
    assert (await client.put("/api/users/me/away", json={"away": False},
                             headers=await world.f.auth(spoc))).status_code == 200
    other = await world.f.employer("Harbor Freight Lines")
    await world.f.assign(other, spoc, backup_spoc_id=backup.id)
    r = await client.post("/api/touch-requests", json=body(other.id),
                          headers=await world.f.auth(world.users["partner"]))
    assert r.status_code == 201 and r.json()["spoc"]["id"] == spoc.id
