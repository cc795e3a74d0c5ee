"""SPOC assignment: leads of the region only, history kept, one active per employer+region."""

import asyncio

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.employers.models import SpocAssignment
from crm.notify.models import OutboxMessage
from crm.touches.models import Touch


async def _assign(client, headers, employer_id, spoc_id, replaces=None, region="LA-BASIN"):
    return await client.post(f"/api/employers/{employer_id}/spoc-assignments", headers=headers,
                             json={"region": region, "spoc_id": spoc_id, "reason": "coverage",
                                   "replaces_assignment_id": replaces})


async def test_lead_assigns_then_reassigns_and_history_is_kept(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    lead = await world.f.auth(world.users["lead"])
    first = await _assign(client, lead, e.id, world.users["spoc"].id)
    assert first.status_code == 201, first.text
    second = await _assign(client, lead, e.id, world.users["spoc2"].id, replaces=first.json()["id"])
    assert second.status_code == 201, second.text
    listing = (await client.get(f"/api/employers/{e.id}/spoc-assignments", headers=lead)).json()["items"]
    assert [(a["spoc"]["name"], a["active"]) for a in listing] == [("Sam Ortiz", True), ("Maria Lopez", False)]
    actions = (await db.scalars(select(AuditEvent.action).where(AuditEvent.employer_id == e.id)
                                .order_by(AuditEvent.id))).all()
    assert actions == ["spoc.assign", "spoc.reassign"]


async def test_partner_changing_a_spoc_gets_403(client, world):
    e = await world.f.employer("Sunrise Family Dental")
    r = await _assign(client, await world.f.auth(world.users["partner"]), e.id, world.users["spoc"].id)
    assert r.status_code == 403


async def test_spoc_who_is_not_lead_gets_403(client, world):
    e = await world.f.employer("Sunrise Family Dental")
    r = await _assign(client, await world.f.auth(world.users["spoc"]), e.id, world.users["spoc"].id)
    assert r.status_code == 403


async def test_lead_of_region_a_assigning_in_region_b_gets_403(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    r = await _assign(client, await world.f.auth(world.users["lead"]), e.id, world.users["bay_spoc"].id,
                      region="BAY-PENINSULA")
    assert r.status_code == 403
    assert await db.scalar(select(func.count(SpocAssignment.id))) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [({"region": "NOWHERE"}, "region"), ({"spoc_id": 999999}, "spoc_id"), ({"spoc_id": "x"}, "spoc_id"),
     ({"reason": "r" * 2001}, "reason")],
)
async def test_bad_assignment_input_is_4xx_and_writes_nothing(client, world, db, change, field):
    e = await world.f.employer("Sunrise Family Dental")
    body = {"region": "LA-BASIN", "spoc_id": world.users["spoc"].id, **change}
    r = await client.post(f"/api/employers/{e.id}/spoc-assignments", json=body,
                          headers=await world.f.auth(world.users["lead"]))
    assert 400 <= r.status_code < 500 and field in r.text
    assert await db.scalar(select(func.count(SpocAssignment.id))) == 0


async def test_spoc_from_another_region_cannot_be_assigned(client, world):
    e = await world.f.employer("Sunrise Family Dental")
    r = await _assign(client, await world.f.auth(world.users["lead"]), e.id, world.users["bay_spoc"].id)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "spoc_id"


async def test_stale_reassignment_is_409(client, world):
    e = await world.f.employer("Sunrise Family Dental")
    lead = await world.f.auth(world.users["lead"])
    assert (await _assign(client, lead, e.id, world.users["spoc"].id)).status_code == 201
    r = await _assign(client, lead, e.id, world.users["spoc2"].id)  # thinks there is none
    assert r.status_code == 409
    assert "Maria Lopez is its SPOC in LA-BASIN now" in r.json()["error"]["message"]


async def test_assigning_the_same_spoc_and_backup_again_is_refused_and_keeps_history_as_it_was(client, world, db):
    e = await world.f.employer("Sunrise Family Dental")
    lead = await world.f.auth(world.users["lead"])
    first = (await _assign(client, lead, e.id, world.users["spoc"].id)).json()
    r = await _assign(client, lead, e.id, world.users["spoc"].id, replaces=first["id"])
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "spoc_id"
    assert "already the SPOC" in r.json()["error"]["message"]
    assert await db.scalar(select(func.count()).select_from(SpocAssignment)
                           .where(SpocAssignment.employer_id == e.id)) == 1
    # A new backup for the same SPOC is a real change.
    r = await client.post(f"/api/employers/{e.id}/spoc-assignments", headers=lead,
                          json={"region": "LA-BASIN", "spoc_id": world.users["spoc"].id,
                                "backup_spoc_id": world.users["spoc2"].id, "replaces_assignment_id": first["id"]})
    assert r.status_code == 201, r.text


async def test_two_concurrent_assignments_one_wins_one_409(client, world, db, is_pg):
    """Both requests believe the employer has no SPOC; the database lets exactly one win."""
    e = await world.f.employer("Sunrise Family Dental")
    lead = await world.f.auth(world.users["lead"])
    results = await asyncio.gather(
        _assign(client, lead, e.id, world.users["spoc"].id),
        _assign(client, lead, e.id, world.users["spoc2"].id),
    )
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    active = await db.scalar(select(func.count(SpocAssignment.id)).where(
        SpocAssignment.employer_id == e.id, SpocAssignment.ended_at.is_(None)))
    assert active == 1


async def test_a_new_spoc_takes_the_employers_open_touches_but_not_one_a_lead_gave_someone_else(
        client, world, desk, db):
    e = await world.f.employer("Sunrise Family Dental Inc.")
    lead = await world.f.auth(world.users["lead"])
    first = (await _assign(client, lead, e.id, world.users["spoc"].id)).json()
    mine = await desk.touch(e, world.users["spoc"])
    queued = await desk.request(mine, world.users["partner"])
    unassigned = await desk.touch(e, None, planned_in=20)
    elsewhere = await desk.touch(e, world.users["bay_spoc"], planned_in=40)  # reassigned by hand earlier
    r = await _assign(client, lead, e.id, world.users["spoc2"].id, replaces=first["id"])
    assert r.status_code == 201, r.text
    await db.rollback()
    owners = dict((await db.execute(select(Touch.id, Touch.spoc_id).where(Touch.employer_id == e.id))).all())
    assert owners == {mine.id: world.users["spoc2"].id, unassigned.id: world.users["spoc2"].id,
                      elsewhere.id: world.users["bay_spoc"].id}
    told = dict((await db.execute(select(OutboxMessage.to_email, OutboxMessage.body))).all())
    assert f"open touch(es) #{mine.id}, #{unassigned.id} are now in your queue" in told["spoc2@example.org"]
    assert told["partner@example.org"] == (
        f"Your request #{queued.id}: Sam Ortiz now handles your touch with Sunrise Family Dental Inc.")
    reassigned = (await db.scalars(select(AuditEvent.entity_id).where(AuditEvent.action == "touch.reassign")
                                   .order_by(AuditEvent.entity_id))).all()
    assert reassigned == [mine.id, unassigned.id]
