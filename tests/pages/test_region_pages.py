"""`/region`: a lead edits the region's pacing policy and routing rules; errors in place; others refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.directory.models import Region
from crm.employers.models import RoutingRule, routing_rule_pool
from crm.touches.models import RegionPolicy
from tests.a11y import attrs_of, tied_errors
from tests.factories import csrf, login, said_beside

HX = {"HX-Request": "true"}


async def test_lead_sees_the_defaults_and_saves_a_policy_without_javascript(client, world, db):
    await login(client, world.users["lead"].email)
    page = await client.get("/region")
    assert page.status_code == 200 and "Using the defaults" in page.text and "Los Angeles Basin" in page.text
    assert "<title>Region settings · LA-BASIN · OneDoor</title>" in page.text  # which region, for a lead of two
    r = await client.post("/region/LA-BASIN/policy", follow_redirects=False, data={
        "max_touches": "3", "period_days": "30", "min_gap_days": "5", "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 303
    row = (await db.scalars(select(RegionPolicy))).one()
    assert (row.max_touches, row.period_days, row.min_gap_days) == (3, 30, 5)


@pytest.mark.parametrize(("field", "value", "message"), [("max_touches", "0", "between 1 and 366"),
                                                         ("period_days", "abc", "whole number"),
                                                         ("min_gap_days", "400", "between 0 and 366")])
async def test_bad_policy_shows_the_error_beside_the_field_with_htmx(client, world, db, field, value, message):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    data = {"max_touches": "2", "period_days": "30", "min_gap_days": "7", field: value}
    r = await client.post("/region/LA-BASIN/policy", headers={**HX, **csrf(client)}, data=data)
    assert r.status_code == 422 and "<html" not in r.text and 'id="policy"' in r.text
    assert said_beside(r.text, field, message)
    assert await db.scalar(select(func.count(RegionPolicy.id))) == 0


async def test_saving_with_htmx_confirms_and_every_bad_number_is_marked_at_once(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    r = await client.post("/region/LA-BASIN/policy", headers={**HX, **csrf(client)},
                          data={"max_touches": "x", "period_days": "", "min_gap_days": "7"})
    assert r.status_code == 422 and r.text.count("must be a whole number") == 2
    r = await client.post("/region/LA-BASIN/policy", headers={**HX, **csrf(client)},
                          data={"max_touches": "0", "period_days": "30", "min_gap_days": "400"})
    assert r.status_code == 422 and "between 1 and 366" in r.text and "between 0 and 366" in r.text  # both at once
    r = await client.post("/region/LA-BASIN/policy", headers={**HX, **csrf(client)},
                          data={"max_touches": "3", "period_days": "30", "min_gap_days": "5"})
    assert r.status_code == 200 and "Saved: at most 3 touches per 30 days, at least 5 days apart." in r.text


async def test_a_word_a_zero_and_a_negative_are_each_marked_beside_their_field_at_once(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    r = await client.post("/region/LA-BASIN/policy", headers={**HX, **csrf(client)},
                          data={"max_touches": "abc", "period_days": "0", "min_gap_days": "-5"})
    assert r.status_code == 422 and 'id="policy"' in r.text
    for field, message in (("max_touches", "must be a whole number"), ("period_days", "must be between 1 and 366"),
                           ("min_gap_days", "must be between 0 and 366")):
        assert said_beside(r.text, field, message), field
    assert 'value="abc"' in r.text and 'value="-5"' in r.text  # what was typed stays to be corrected
    assert await db.scalar(select(func.count(RegionPolicy.id))) == 0


async def test_a_policy_number_of_any_length_is_told_the_range_the_form_shows(client, world, db):
    """The form says 1 to 366 (max="366"): a 20-digit number was told "must be at most 999,999"."""
    await login(client, world.users["lead"].email)
    page = (await client.get("/region")).text
    assert attrs_of(page, "input", name="max_touches")["max"] == "366"
    r = await client.post("/region/LA-BASIN/policy", headers={**HX, **csrf(client)},
                          data={"max_touches": "9" * 20, "period_days": "1234567", "min_gap_days": "-" + "9" * 20})
    assert r.status_code == 422 and "999,999" not in r.text
    assert r.text.count("must be between 1 and 366") == 2  # max_touches and period_days
    for field, message in (("max_touches", "must be between 1 and 366"), ("min_gap_days", "must be between 0 and 366")):
        assert said_beside(r.text, field, message), field
    assert await db.scalar(select(func.count(RegionPolicy.id))) == 0
    # Leading zeros are no reason to refuse a number in range.
    r = await client.post("/region/LA-BASIN/policy", headers={**HX, **csrf(client)},
                          data={"max_touches": "0" * 20 + "3", "period_days": "30", "min_gap_days": "5"})
    assert r.status_code == 200 and "Saved: at most 3 touches per 30 days" in r.text


async def test_a_rule_priority_of_any_length_is_told_its_range(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    r = await client.post("/region/LA-BASIN/rules", headers={**HX, **csrf(client)},
                          data={"naics_prefix": "", "county": "", "priority": "9" * 20,
                                "pool": str(world.users["spoc"].id)})
    assert r.status_code == 422 and said_beside(r.text, "priority", "must be between 0 and 10000")
    assert "999,999" not in r.text


async def test_a_refused_rule_keeps_the_spocs_that_were_ticked(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    r = await client.post("/region/LA-BASIN/rules", headers={**HX, **csrf(client)}, data={
        "naics_prefix": "3x", "pool": [str(world.users["spoc2"].id)]})
    assert r.status_code == 422
    tags = [b.split(">", 1)[0] for b in r.text.split('<input type="checkbox" name="pool" ')[1:]]
    boxes = {t.split('value="', 1)[1].split('"', 1)[0]: "checked" in t for t in tags}
    assert boxes[str(world.users["spoc2"].id)] and not boxes[str(world.users["spoc"].id)]


async def test_lead_adds_and_removes_a_routing_rule_with_htmx(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    r = await client.post("/region/LA-BASIN/rules", headers={**HX, **csrf(client)}, data={
        "naics_prefix": "33", "county": "Los Angeles", "priority": "10",
        "pool": [str(world.users["spoc"].id), str(world.users["spoc2"].id)]})
    assert r.status_code == 200 and 'id="rules"' in r.text and "Maria Lopez, Sam Ortiz" in r.text
    rule = (await db.scalars(select(RoutingRule))).one()
    r = await client.post(f"/region/LA-BASIN/rules/{rule.id}/remove", headers={**HX, **csrf(client)})
    assert r.status_code == 200 and "No routing rules" in r.text


async def test_two_spocs_of_one_name_are_told_apart_by_their_email_in_the_pool(client, world, db):
    namesake = await world.f.user("maria.lopez2@example.org", "Maria Lopez", [("spoc", "LA-BASIN")])
    await login(client, world.users["lead"].email)
    page = (await client.get("/region")).text
    assert f"> Maria Lopez ({world.users['spoc'].email})</label>" in page
    assert "> Maria Lopez (maria.lopez2@example.org)</label>" in page
    assert "> Sam Ortiz</label>" in page  # no namesake: the name alone
    r = await client.post("/region/LA-BASIN/rules", headers={**HX, **csrf(client)}, data={
        "priority": "10", "pool": [str(namesake.id)]})
    assert r.status_code == 200, r.text
    assert '<td data-label="Pool">Maria Lopez (maria.lopez2@example.org)' in r.text


async def test_a_rule_added_on_the_page_says_which_waiting_touches_it_routed(client, world, db, desk):
    waiting = await desk.touch(await world.f.employer("Golden State Logistics", county="Los Angeles"), None)
    await login(client, world.users["lead"].email)
    await client.get("/region")
    r = await client.post("/region/LA-BASIN/rules", headers=csrf(client), follow_redirects=True, data={
        "county": "Los Angeles", "pool": [str(world.users["spoc"].id)]})
    assert f"Routing rule added; it routed 1 waiting touch: #{waiting.id}" in r.text
    # In place (htmx), the rules card says it too, as removing one does.
    other = await desk.touch(await world.f.employer("Harbor Aerospace", county="Los Angeles", naics_code="336411"),
                             None)
    r = await client.post("/region/LA-BASIN/rules", headers={**HX, **csrf(client)}, data={
        "naics_prefix": "33", "county": "Los Angeles", "pool": [str(world.users["spoc2"].id)]})
    assert r.status_code == 200 and f"Routing rule added; it routed 1 waiting touch: #{other.id}" in r.text
    rule = (await db.scalars(select(RoutingRule).where(RoutingRule.county_id.is_not(None))
                             .order_by(RoutingRule.id.desc()))).first()
    r = await client.post(f"/region/LA-BASIN/rules/{rule.id}/remove", headers={**HX, **csrf(client)})
    assert f"Routing rule #{rule.id} removed" in r.text


async def test_rule_without_a_pool_is_refused_in_place(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    r = await client.post("/region/LA-BASIN/rules", headers={**HX, **csrf(client)}, data={"naics_prefix": "33"})
    assert r.status_code == 422 and "choose at least one SPOC" in r.text
    # Every mistake at once: the prefix, the priority and the pool.
    r = await client.post("/region/LA-BASIN/rules", headers={**HX, **csrf(client)},
                          data={"naics_prefix": "abc", "priority": "-5"})
    assert r.status_code == 422 and "choose at least one SPOC" in r.text
    assert "must be 2 to 6 digits" in r.text and "must be between 0 and 10000" in r.text
    assert await db.scalar(select(func.count(RoutingRule.id))) == 0


async def test_a_prefix_of_no_naics_sector_is_refused_in_the_form_with_the_other_mistakes(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    r = await client.post("/region/LA-BASIN/rules", headers={**HX, **csrf(client)},
                          data={"naics_prefix": "99", "priority": "-5"})
    assert r.status_code == 422 and 'id="rules"' in r.text
    assert "99 is not a NAICS sector" in r.text and "must be between 0 and 10000" in r.text
    assert "choose at least one SPOC" in r.text
    assert said_beside(r.text, "naics_prefix", "99 is not a NAICS sector")
    assert await db.scalar(select(func.count(RoutingRule.id))) == 0


async def test_the_same_rule_twice_is_refused_in_the_form(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    data = {"naics_prefix": "33", "pool": [str(world.users["spoc"].id)]}
    assert (await client.post("/region/LA-BASIN/rules", headers={**HX, **csrf(client)}, data=data)).status_code == 200
    r = await client.post("/region/LA-BASIN/rules", headers={**HX, **csrf(client)}, data=data)
    assert r.status_code == 409 and "HX-Retarget" not in r.headers  # in the rules card, not above the page
    form = r.text.split("<h3>Add a rule</h3>", 1)[1]
    assert "already routes NAICS 33 in any county" in form.split("<form", 1)[0]
    assert await db.scalar(select(func.count(RoutingRule.id))) == 1


@pytest.mark.parametrize("who", ["spoc", "partner", "chair"])
async def test_only_leads_reach_region_settings(client, world, who):
    await login(client, world.users[who].email)
    assert (await client.get("/region")).status_code == 403


async def test_lead_of_another_region_cannot_post_to_this_one(client, world, db):
    await login(client, world.users["bay_lead"].email)
    await client.get("/region")
    r = await client.post("/region/LA-BASIN/policy", headers={**HX, **csrf(client)},
                          data={"max_touches": "9", "period_days": "30", "min_gap_days": "0"})
    assert r.status_code == 403
    assert await db.scalar(select(func.count(RegionPolicy.id))) == 0


async def test_lead_sets_the_establishment_count_the_reports_divide_by(client, world, db):
    await login(client, world.users["lead"].email)
    token = client.cookies.get("csrftoken")
    r = await client.post("/region/LA-BASIN/establishments", headers=HX,
                          data={"establishment_count": "452,310", "_csrf_token": token})
    assert r.status_code == 200 and "Saved: 452,310." in r.text
    assert await db.scalar(select(Region.establishment_count).where(Region.code == "LA-BASIN")) == 452_310
    event = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "region.update"))).one()
    assert (event.before, event.after) == ({"establishment_count": None}, {"establishment_count": 452_310})
    cleared = await client.post("/region/LA-BASIN/establishments", follow_redirects=False,
                                data={"establishment_count": " ", "_csrf_token": token})
    assert cleared.status_code == 303
    await db.rollback()  # end the test session's read snapshot
    assert await db.scalar(select(Region.establishment_count).where(Region.code == "LA-BASIN")) is None


@pytest.mark.parametrize("value", ["abc", "0", "-5", "99999999999", "12.5", "²"])
async def test_a_bad_establishment_count_is_shown_in_place_and_changes_nothing(client, world, db, value):
    await login(client, world.users["lead"].email)
    r = await client.post("/region/LA-BASIN/establishments", headers=HX,
                          data={"establishment_count": value, "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 422 and 'role="alert"' in r.text and 'id="establishments"' in r.text
    if value == "99999999999":  # a whole number, only too large: say that
        assert "must be between 1 and 10,000,000, or blank" in r.text and "whole number" not in r.text
    assert await db.scalar(select(Region.establishment_count).where(Region.code == "LA-BASIN")) is None


@pytest.mark.parametrize("who", ["spoc", "partner", "bay_lead"])
async def test_only_a_lead_of_the_region_sets_its_establishment_count(client, world, db, who):
    await login(client, world.users[who].email)
    r = await client.post("/region/LA-BASIN/establishments", headers=HX,
                          data={"establishment_count": "1000", "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 403
    assert await db.scalar(select(Region.establishment_count).where(Region.code == "LA-BASIN")) is None


async def test_an_establishment_count_below_the_employers_onedoor_knows_there_is_refused(client, world, db, desk):
    f, spoc = world.f, world.users["spoc"]
    for employer in [*[await f.employer() for _ in range(3)],
                     await f.employer(status="provisional"),  # unverified, but served: it exists
                     await f.employer(county="Santa Clara")]:  # on file in BAY-PENINSULA, served in LA-BASIN
        await desk.touch(employer, spoc, status="completed", planned_in=-5)
    await f.employer()  # verified, on file, not served yet: an establishment of the region all the same
    await f.employer(status="provisional")  # unverified and never served: perhaps a duplicate, not counted
    survivor = await f.employer()
    await f.employer(status="merged", merged_into_id=survivor.id)  # a tombstone, never counted
    await login(client, world.users["lead"].email)
    # The card says the floor before anyone types a number below it.
    page = (await client.get("/region", params={"region": "LA-BASIN"})).text
    assert "At least 7: the employers OneDoor already knows in LA-BASIN" in page
    token = client.cookies.get("csrftoken")
    r = await client.post("/region/LA-BASIN/establishments", headers=HX,
                          data={"establishment_count": "6", "_csrf_token": token})
    assert r.status_code == 422 and 'id="establishments"' in r.text and 'value="6"' in r.text
    assert "must be at least 7: OneDoor already knows 7 employers in LA-BASIN" in r.text
    assert await db.scalar(select(Region.establishment_count).where(Region.code == "LA-BASIN")) is None
    assert await db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "region.update")) == 0
    r = await client.post("/region/LA-BASIN/establishments", headers=HX,
                          data={"establishment_count": "7", "_csrf_token": token})
    assert r.status_code == 200 and "Saved: 7." in r.text


async def test_region_form_errors_are_tied_to_their_fields(client, world, db):
    await login(client, world.users["lead"].email)
    page = (await client.get("/region")).text
    assert tied_errors(page) == {}  # fails on a repeated id
    assert attrs_of(page, "input", name="establishment_count")["aria-describedby"] == "establishment_count-hint"
    r = await client.post("/region/LA-BASIN/rules", headers={**HX, **csrf(client)},
                          data={"naics_prefix": "abc", "priority": "-5"})
    assert r.status_code == 422
    tied = tied_errors(r.text)
    assert "must be 2 to 6 digits" in tied["naics_prefix"] and "must be between 0 and 10000" in tied["priority"]
    assert "choose at least one SPOC" in tied["pool"]
    naics = attrs_of(r.text, "input", name="naics_prefix")
    assert naics["aria-invalid"] == "true" and naics["aria-describedby"] == "rule-naics_prefix-error"
    assert attrs_of(r.text, "input", name="pool")["aria-describedby"] == "rule-pool-error"
    r = await client.post("/region/LA-BASIN/policy", headers={**HX, **csrf(client)},
                          data={"max_touches": "abc", "period_days": "0", "min_gap_days": "-5"})
    assert set(tied_errors(r.text)) == {"max_touches", "period_days", "min_gap_days"}
    assert attrs_of(r.text, "input", name="period_days")["aria-describedby"] == "policy-period_days-error"
    r = await client.post("/region/LA-BASIN/establishments", headers={**HX, **csrf(client)},
                          data={"establishment_count": "abc"})
    assert r.status_code == 422 and "establishment_count" in tied_errors(r.text)
    count = attrs_of(r.text, "input", name="establishment_count")
    assert count["aria-invalid"] == "true"
    assert count["aria-describedby"] == "establishment_count-hint establishment_count-error"


async def _stored(db, rule_id: int) -> tuple[int, list[int], bool]:
    """A rule's priority, pool (user ids) and whether it is active, as committed."""
    await db.rollback()
    priority, active = (await db.execute(select(RoutingRule.priority, RoutingRule.active)
                                         .where(RoutingRule.id == rule_id))).one()
    pool = await db.scalars(select(routing_rule_pool.c.user_id).where(routing_rule_pool.c.routing_rule_id == rule_id)
                            .order_by(routing_rule_pool.c.user_id))
    return priority, list(pool), active


async def _add_rule(client, world, **fields) -> None:
    r = await client.post("/region/LA-BASIN/rules", headers={**HX, **csrf(client)},
                          data={"pool": [str(world.users["spoc"].id)], **fields})
    assert r.status_code == 200, r.text


def _rule_form(html: str, rule_id: int) -> str:
    """The rule's Edit disclosure, from its opening tag's attributes to its end."""
    return html.split(f'id="rule-{rule_id}-edit"', 1)[1].split("</details>", 1)[0]


def _ticked(form: str) -> set[str]:
    """The user ids ticked in a rule form's pool."""
    return {box.split('value="', 1)[1].split('"', 1)[0] for box in form.split('name="pool"')[1:]
            if box.split(">", 1)[0].rstrip().find(" checked") >= 0}


async def test_a_lead_changes_a_rules_pool_and_priority_in_its_row(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    await _add_rule(client, world, naics_prefix="33")
    rule_id = (await db.scalars(select(RoutingRule.id))).one()
    form = _rule_form((await client.get("/region")).text, rule_id)
    assert _ticked(form) == {str(world.users["spoc"].id)} and f'value="{world.users["spoc2"].id}"' in form
    seen = attrs_of(form, "input", name="seen")["value"]
    r = await client.post(f"/region/LA-BASIN/rules/{rule_id}", headers={**HX, **csrf(client)}, data={
        "pool": [str(world.users["spoc2"].id)], "priority": "20", "seen": seen})
    assert r.status_code == 200 and f"Routing rule #{rule_id} saved" in r.text and "<html" not in r.text
    row = r.text.split(f'id="rule-{rule_id}"', 1)[1].split("</tr>", 1)[0]
    assert "Sam Ortiz" in row and "Maria Lopez" not in row.split("<details", 1)[0] and ">20<" in row
    await db.rollback()
    assert await _stored(db, rule_id) == (20, [world.users["spoc2"].id], True)
    # The form read before that save is stale now: refused, and shown again as saved.
    r = await client.post(f"/region/LA-BASIN/rules/{rule_id}", headers={**HX, **csrf(client)}, data={
        "pool": [str(world.users["spoc"].id)], "priority": "1", "seen": seen})
    assert r.status_code == 409 and "changed meanwhile by Lee Lead" in _rule_form(r.text, rule_id)
    assert _ticked(_rule_form(r.text, rule_id)) == {str(world.users["spoc2"].id)}
    await db.rollback()
    assert (await _stored(db, rule_id))[0] == 20


async def test_a_bad_rule_change_is_said_in_its_form_which_stays_open_and_changes_nothing(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    await _add_rule(client, world)
    rule_id = (await db.scalars(select(RoutingRule.id))).one()
    r = await client.post(f"/region/LA-BASIN/rules/{rule_id}", headers={**HX, **csrf(client)},
                          data={"priority": "soon"})
    assert r.status_code == 422
    form = _rule_form(r.text, rule_id)
    assert form.split(">", 1)[0].endswith(" open")  # the form stays open on its errors
    assert said_beside(form, "priority", "must be a whole number") and "choose at least one SPOC" in form
    assert set(tied_errors(r.text)) == {"priority", "pool"}
    await db.rollback()
    assert await _stored(db, rule_id) == (100, [world.users["spoc"].id], True)


async def test_a_rule_removed_in_another_tab_is_said_instead_of_saved(client, world, db):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    await _add_rule(client, world)
    rule_id = (await db.scalars(select(RoutingRule.id))).one()
    await client.post(f"/region/LA-BASIN/rules/{rule_id}/remove", headers={**HX, **csrf(client)})
    r = await client.post(f"/region/LA-BASIN/rules/{rule_id}", headers={**HX, **csrf(client)},
                          data={"pool": [str(world.users["spoc2"].id)], "priority": "5"})
    assert r.status_code == 200 and f"Routing rule #{rule_id} was removed meanwhile: nothing was saved" in r.text
    await db.rollback()
    assert await _stored(db, rule_id) == (100, [world.users["spoc"].id], False)


@pytest.mark.parametrize("who", ["spoc", "partner", "chair", "bay_lead"])
async def test_only_a_lead_of_the_region_posts_a_rule_change(client, world, db, who):
    await login(client, world.users["lead"].email)
    await client.get("/region")
    await _add_rule(client, world)
    rule_id = (await db.scalars(select(RoutingRule.id))).one()
    await login(client, world.users[who].email)
    await client.get("/")
    r = await client.post(f"/region/LA-BASIN/rules/{rule_id}", headers={**HX, **csrf(client)},
                          data={"pool": [str(world.users["spoc2"].id)], "priority": "5"})
    assert r.status_code == 403
    await db.rollback()
    assert (await _stored(db, rule_id))[0] == 100
