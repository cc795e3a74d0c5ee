"""`/api/regions/{code}/policy` and `/routing-rules`: leads of the region change them, ranges are validated."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.employers.models import RoutingRule, SpocAssignment
from crm.notify.models import OutboxMessage
from crm.touches.models import RegionPolicy, Touch

POLICY = "/api/regions/LA-BASIN/policy"
RULES = "/api/regions/LA-BASIN/routing-rules"


async def test_policy_defaults_until_a_lead_sets_it_then_is_audited(client, world, db):
    lead = await world.f.auth(world.users["lead"])
    r = await client.get(POLICY, headers=await world.f.auth(world.users["partner"]))
    assert r.json() == {"region": "LA-BASIN", "max_touches": 2, "period_days": 30, "min_gap_days": 7,
                        "is_default": True, "held": None}
    r = await client.put(POLICY, headers=lead, json={"max_touches": 3, "period_days": 60, "min_gap_days": 5})
    assert r.status_code == 200 and r.json()["is_default"] is False and r.json()["max_touches"] == 3
    event = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "region_policy.update"))).one()
    assert event.before["max_touches"] == 2 and event.after["max_touches"] == 3


@pytest.mark.parametrize(("body", "field"), [
    ({"max_touches": 0}, "max_touches"), ({"period_days": 400}, "period_days"), ({"min_gap_days": -1}, "min_gap_days"),
    ({"max_touches": 10, "period_days": 5}, "max_touches"), ({"max_touches": "two"}, "max_touches"),
    ({"max_touches": 3, "period_days": 30, "min_gap_days": 45},
     "only 1 touch fits in 30 days when they are at least 45 days apart"),
    ({"extra": 1}, "extra"), ({"max_touches": 10**20}, "max_touches: must be between 1 and 366"),
    ({"min_gap_days": -(10**20)}, "min_gap_days: must be between 0 and 366")])
async def test_out_of_range_policy_is_4xx_naming_the_field_and_writes_nothing(client, world, db, body, field):
    r = await client.put(POLICY, headers=await world.f.auth(world.users["lead"]),
                         json={"max_touches": 2, "period_days": 30, "min_gap_days": 7, **body})
    assert 400 <= r.status_code < 500 and field in r.text
    assert await db.scalar(select(func.count(RegionPolicy.id))) == 0


async def test_the_error_message_of_a_policy_wrong_in_several_fields_names_every_field(client, world, db):
    lead = await world.f.auth(world.users["lead"])
    r = await client.put(POLICY, headers=lead, json={"max_touches": 0, "period_days": 400, "min_gap_days": -1})
    assert r.status_code == 422
    error = r.json()["error"]
    assert [f["field"] for f in error["fields"]] == ["max_touches", "period_days", "min_gap_days"]
    assert error["message"] == "; ".join(f"{f['field']}: {f['message']}" for f in error["fields"])
    one = (await client.put(POLICY, headers=lead, json={"max_touches": 0, "period_days": 30,
                                                         "min_gap_days": 7})).json()["error"]
    assert one["message"] == f"max_touches: {one['fields'][0]['message']}"  # one field: as it always read
    assert await db.scalar(select(func.count(RegionPolicy.id))) == 0


@pytest.mark.parametrize("who", ["spoc", "partner", "chair", "bay_lead"])
async def test_only_a_lead_of_the_region_changes_its_policy(client, world, db, who):
    r = await client.put(POLICY, headers=await world.f.auth(world.users[who]),
                         json={"max_touches": 5, "period_days": 30, "min_gap_days": 1})
    assert r.status_code == 403
    assert await db.scalar(select(func.count(RegionPolicy.id))) == 0


async def test_chair_cannot_read_a_policy_and_unknown_region_is_404(client, world):
    assert (await client.get(POLICY, headers=await world.f.auth(world.users["chair"]))).status_code == 403
    assert (await client.get("/api/regions/NOWHERE/policy",
                             headers=await world.f.auth(world.users["lead"]))).status_code == 404


async def test_lead_adds_lists_and_removes_a_routing_rule(client, world, db):
    lead = await world.f.auth(world.users["lead"])
    r = await client.post(RULES, headers=lead, json={"naics_prefix": "33", "county": "Los Angeles County",
                                                     "pool": [world.users["spoc"].id, world.users["spoc2"].id]})
    assert r.status_code == 201, r.text
    rule = r.json()
    assert (rule["county"], sorted(p["name"] for p in rule["pool"])) == ("Los Angeles", ["Maria Lopez", "Sam Ortiz"])
    listing = (await client.get(RULES, headers=await world.f.auth(world.users["spoc"]))).json()
    assert [x["id"] for x in listing["items"]] == [rule["id"]]
    again = await client.post(RULES, headers=lead, json={"naics_prefix": "33", "county": "Los Angeles",
                                                         "pool": [world.users["spoc2"].id], "priority": 5})
    assert again.status_code == 409 and f"Rule #{rule['id']} already routes NAICS 33 in Los Angeles" in again.text
    assert (await client.delete(f"{RULES}/{rule['id']}", headers=lead)).status_code == 204
    assert (await client.get(RULES, headers=lead)).json()["items"] == []
    # Once removed, the same employers may get a rule again.
    assert (await client.post(RULES, headers=lead, json={"naics_prefix": "33", "county": "Los Angeles",
                                                         "pool": [world.users["spoc2"].id]})).status_code == 201
    assert (await db.get(RoutingRule, rule["id"])).active is False  # kept: sticky assignments cite it


@pytest.mark.parametrize(("change", "field"), [({"naics_prefix": "3x"}, "naics_prefix"),
                                               ({"county": "San Mateo"}, "county"), ({"pool": []}, "pool"),
                                               ({"pool": ["BAY"]}, "pool")])
async def test_bad_routing_rule_is_4xx_naming_the_field(client, world, db, change, field):
    body = {"pool": [world.users["spoc"].id], **change}
    if change.get("pool") == ["BAY"]:
        body["pool"] = [world.users["bay_spoc"].id]
    r = await client.post(RULES, headers=await world.f.auth(world.users["lead"]), json=body)
    assert 400 <= r.status_code < 500 and field in r.text
    assert await db.scalar(select(func.count(RoutingRule.id))) == 0


@pytest.mark.parametrize("prefix", ["99", "10", "34", "43", "4600", "50", "9999"])
async def test_a_routing_rule_for_a_sector_naics_does_not_have_is_refused_naming_the_prefix(client, world, db, prefix):
    r = await client.post(RULES, headers=await world.f.auth(world.users["lead"]),
                          json={"naics_prefix": prefix, "pool": [world.users["spoc"].id]})
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["naics_prefix"]
    assert f"{prefix[:2]} is not a NAICS sector" in r.text and "31-33" in r.text
    assert await db.scalar(select(func.count(RoutingRule.id))) == 0


@pytest.mark.parametrize("prefix", ["11", "31", "32", "33", "3361", "44", "45", "48", "49", "4931", "62",
                                    "622110", "92"])
async def test_a_prefix_under_a_known_sector_makes_a_rule(client, world, db, prefix):
    r = await client.post(RULES, headers=await world.f.auth(world.users["lead"]),
                          json={"naics_prefix": prefix, "pool": [world.users["spoc"].id]})
    assert r.status_code == 201, r.text
    assert r.json()["naics_prefix"] == prefix


@pytest.mark.parametrize("who", ["spoc", "partner", "bay_lead"])
async def test_only_a_lead_of_the_region_changes_routing_rules(client, world, db, who):
    r = await client.post(RULES, headers=await world.f.auth(world.users[who]), json={"pool": [world.users["spoc"].id]})
    assert r.status_code == 403
    assert await db.scalar(select(func.count(RoutingRule.id))) == 0


async def test_partner_cannot_read_routing_rules(client, world):
    assert (await client.get(RULES, headers=await world.f.auth(world.users["partner"]))).status_code == 403


@pytest.mark.parametrize(("body", "field"), [({"period_days": 30, "min_gap_days": 7}, "max_touches"),
                                             ({"max_touches": 2, "period_days": 30, "min_gap_days": 7,
                                               "colour": "red"}, "colour")])
async def test_a_missing_or_unknown_field_is_named_in_the_errors_fields(client, world, body, field):
    r = await client.put(POLICY, headers=await world.f.auth(world.users["lead"]), json=body)
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["error"]["fields"]] == [field]  # not the handler's "data"


async def test_a_new_rule_routes_the_touches_waiting_in_the_unassigned_queue_and_sticks(client, world, db, desk):
    la = await world.f.employer("Golden State Logistics", county="Los Angeles")
    bay = await world.f.employer("Harbor Biologics", county="San Mateo")
    waiting = await desk.touch(la, None)
    elsewhere = await desk.touch(bay, None, region="BAY-PENINSULA")
    lead = await world.f.auth(world.users["lead"])
    r = await client.post(RULES, headers=lead, json={"county": "Los Angeles", "pool": [world.users["spoc"].id]})
    assert r.status_code == 201 and r.json()["routed_touches"] == [waiting.id], r.text
    await db.rollback()
    assert (await db.get(Touch, waiting.id)).spoc_id == world.users["spoc"].id
    assert (await db.get(Touch, elsewhere.id)).spoc_id is None  # another region's queue is not this rule's
    # Sticky: the employer's SPOC now, so its next request goes to them.
    assignment = (await db.scalars(select(SpocAssignment).where(SpocAssignment.employer_id == la.id))).one()
    assert assignment.spoc_id == world.users["spoc"].id
    mail = (await db.scalars(select(OutboxMessage).where(OutboxMessage.to_email == "spoc@example.org"))).one()
    assert f"#{waiting.id} (Golden State Logistics)" in mail.body
    assert await db.scalar(select(AuditEvent.note).where(AuditEvent.entity_id == waiting.id,
                                                         AuditEvent.action == "touch.reassign")) == \
        "routed from the unassigned queue by a new routing rule"


async def _rule(client, world, **body) -> dict:
    r = await client.post(RULES, headers=await world.f.auth(world.users["lead"]),
                          json={"pool": [world.users["spoc"].id], **body})
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_lead_changes_a_rules_pool_and_priority_in_place_audited(client, world, db):
    rule = await _rule(client, world, naics_prefix="33")
    lead = await world.f.auth(world.users["lead"])
    r = await client.patch(f"{RULES}/{rule['id']}", headers=lead,
                           json={"pool": [world.users["spoc2"].id, world.users["spoc"].id], "priority": 5,
                                 "seen": rule["seen"]})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["id"], changed["naics_prefix"], changed["priority"]) == (rule["id"], "33", 5)
    assert [p["name"] for p in changed["pool"]] == ["Maria Lopez", "Sam Ortiz"] and changed["seen"] != rule["seen"]
    event = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "routing_rule.update"))).one()
    assert (event.entity_id, event.before, event.after) == (
        rule["id"], {"priority": 100, "pool": [world.users["spoc"].id]},
        {"priority": 5, "pool": sorted([world.users["spoc"].id, world.users["spoc2"].id])})
    # Only the priority: the pool stays; the same values again change nothing and audit nothing.
    r = await client.patch(f"{RULES}/{rule['id']}", headers=lead, json={"priority": 7})
    assert r.json()["priority"] == 7 and len(r.json()["pool"]) == 2
    assert (await client.patch(f"{RULES}/{rule['id']}", headers=lead, json={"priority": 7})).status_code == 200
    await db.rollback()
    assert await db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "routing_rule.update")) == 2
    assert await db.scalar(select(func.count(RoutingRule.id))) == 1  # the same rule, not a new one


async def test_a_rule_changed_since_it_was_read_is_refused_and_keeps_the_other_change(client, world, db):
    rule = await _rule(client, world)
    lead = await world.f.auth(world.users["lead"])
    first = await client.patch(f"{RULES}/{rule['id']}", headers=lead,
                               json={"pool": [world.users["spoc2"].id], "seen": rule["seen"]})
    assert first.status_code == 200
    late = await client.patch(f"{RULES}/{rule['id']}", headers=lead, json={"priority": 1, "seen": rule["seen"]})
    assert late.status_code == 409 and "changed meanwhile by Lee Lead" in late.text
    await db.rollback()
    stored = await db.get(RoutingRule, rule["id"])
    assert stored.priority == 100 and [u.id for u in stored.pool] == [world.users["spoc2"].id]


@pytest.mark.parametrize(("body", "field"), [({"pool": []}, "pool"), ({"priority": -1}, "priority"),
                                             ({"priority": 10_001}, "priority"), ({"pool": ["x"]}, "pool"),
                                             ({"pool": "BAY"}, "pool"), ({"naics_prefix": "44"}, "naics_prefix")])
async def test_a_bad_rule_change_is_4xx_naming_the_field_and_changes_nothing(client, world, db, body, field):
    rule = await _rule(client, world)
    if body.get("pool") == "BAY":
        body = {"pool": [world.users["bay_spoc"].id]}  # not a SPOC of this region
    r = await client.patch(f"{RULES}/{rule['id']}", headers=await world.f.auth(world.users["lead"]), json=body)
    assert 400 <= r.status_code < 500 and field in r.text, r.text
    await db.rollback()
    stored = await db.get(RoutingRule, rule["id"])
    assert (stored.priority, [u.id for u in stored.pool]) == (100, [world.users["spoc"].id])


async def test_changing_a_removed_unknown_or_other_regions_rule_is_404(client, world, db):
    rule = await _rule(client, world)
    lead = await world.f.auth(world.users["lead"])
    assert (await client.delete(f"{RULES}/{rule['id']}", headers=lead)).status_code == 204
    assert (await client.patch(f"{RULES}/{rule['id']}", headers=lead, json={"priority": 1})).status_code == 404
    assert (await client.patch(f"{RULES}/999999", headers=lead, json={"priority": 1})).status_code == 404
    bay = await client.post("/api/regions/BAY-PENINSULA/routing-rules",
                            headers=await world.f.auth(world.users["bay_lead"]),
                            json={"pool": [world.users["bay_spoc"].id]})
    assert bay.status_code == 201, bay.text
    assert (await client.patch(f"{RULES}/{bay.json()['id']}", headers=lead, json={"priority": 1})).status_code == 404


@pytest.mark.parametrize("who", ["spoc", "partner", "chair", "bay_lead"])
async def test_only_a_lead_of_the_region_changes_a_rule(client, world, db, who):
    rule = await _rule(client, world)
    r = await client.patch(f"{RULES}/{rule['id']}", headers=await world.f.auth(world.users[who]),
                           json={"priority": 1})
    assert r.status_code == 403
    await db.rollback()
    assert (await db.get(RoutingRule, rule["id"])).priority == 100


async def test_a_pool_changed_to_someone_not_away_routes_the_touches_waiting_unassigned(client, world, db, desk):
    rule = await _rule(client, world, county="Los Angeles")
    la = await world.f.employer("Golden State Logistics", county="Los Angeles")
    waiting = await desk.touch(la, None)
    r = await client.patch(f"{RULES}/{rule['id']}", headers=await world.f.auth(world.users["lead"]),
                           json={"pool": [world.users["spoc2"].id]})
    assert r.status_code == 200 and r.json()["routed_touches"] == [waiting.id], r.text
    await db.rollback()
    assert (await db.get(Touch, waiting.id)).spoc_id == world.users["spoc2"].id
    assert await db.scalar(select(AuditEvent.note).where(AuditEvent.entity_id == waiting.id,
                                                         AuditEvent.action == "touch.reassign")) == \
        "routed from the unassigned queue by a changed routing rule"
