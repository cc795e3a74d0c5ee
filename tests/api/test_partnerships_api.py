"""/api/partnerships: stages, members by side, convenings whose attendance is split business vs public
and counted as touches, action teams with milestones; scope by role and region; chairs never write."""

import pytest
from sqlalchemy import func, select

from crm.partnerships.models import (
    ActionTeam,
    Milestone,
    PartnershipAttendance,
    PartnershipMeeting,
    PartnershipMember,
    SectorPartnership,
)
from crm.touches.models import Touch
from tests.factories import today


async def _partnership(client, world, who="lead", **body):
    payload = {"name": "LA Logistics Partnership", "owner_organization_id": world.orgs["board"].id,
               "regions": ["LA-BASIN"], "naics_prefixes": ["484", "493"], "stage": "scoping", **body}
    r = await client.post("/api/partnerships", headers=await world.f.auth(world.users[who]), json=payload)
    assert r.status_code == 201, r.text
    return r.json()


async def _add(client, headers, pid, **body):
    return await client.post(f"/api/partnerships/{pid}/members", headers=headers, json=body)


async def test_lead_creates_partnership_and_moves_its_stage(client, world, db):
    p = await _partnership(client, world)
    assert p["stage"] == "scoping" and p["next_stages"] == ["preparing_launch", "dormant"]
    assert p["regions"] == ["LA-BASIN"] and p["naics_prefixes"] == ["484", "493"]
    lead = await world.f.auth(world.users["lead"])
    r = await client.patch(f"/api/partnerships/{p['id']}", headers=lead, json={"stage": "preparing_launch"})
    assert r.status_code == 200 and r.json()["stage"] == "preparing_launch"
    bad = await client.patch(f"/api/partnerships/{p['id']}", headers=lead, json={"stage": "finished"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "stage"
    assert "unknown stage 'finished'" in bad.json()["error"]["message"]
    await db.rollback()
    assert (await db.get(SectorPartnership, p["id"])).stage == "preparing_launch"


async def test_convening_staff_create_partnerships_only_in_regions_their_organization_serves(client, world, db):
    """Convenings count against employers' contact budgets: a partner may not convene where its organization
    does not work; a lead of one of the partnership's regions may."""
    body = {"name": "X", "owner_organization_id": world.orgs["board"].id, "regions": ["LA-BASIN", "BAY-PENINSULA"]}
    r = await client.post("/api/partnerships", headers=await world.f.auth(world.users["partner2"]), json=body)
    assert r.status_code == 422 and r.json()["error"]["fields"] == [
        {"field": "regions", "message": "LA Basin WDB does not serve BAY-PENINSULA"}]
    assert await db.scalar(select(func.count(SectorPartnership.id))) == 0
    r = await client.post("/api/partnerships", headers=await world.f.auth(world.users["lead"]), json=body)
    assert r.status_code == 201


async def test_a_partner_adding_a_champion_from_the_employers_people_does_not_get_their_address(client, world, db):
    """Partners reach an employer's people through the SPOC: a roster seat must not hand them the address
    the employer API keeps from them (SPEC §3). The region's lead adding the same person copies it."""
    from crm.employers.models import EmployerContact

    employer = await world.f.employer("Harbor Freight Lines")
    contact = EmployerContact(employer_id=employer.id, name="Rosa Diaz", title="HR Director", email="rosa@harbor.com")
    db.add(contact)
    await db.commit()
    p = await _partnership(client, world)
    r = await _add(client, await world.f.auth(world.users["partner2"]), p["id"], kind="champion",
                   employer_contact_id=contact.id)
    assert r.status_code == 201 and (r.json()["name"], r.json()["email"]) == ("Rosa Diaz", None)
    members = (await client.get(f"/api/partnerships/{p['id']}/members",
                                headers=await world.f.auth(world.users["partner2"]))).text
    assert "rosa@harbor.com" not in members
    other = await _partnership(client, world, name="Second Partnership")
    r = await _add(client, await world.f.auth(world.users["lead"]), other["id"], kind="champion",
                   employer_contact_id=contact.id)
    assert r.status_code == 201 and r.json()["email"] == "rosa@harbor.com"


async def test_convening_staff_seat_only_employers_of_regions_their_organization_serves(client, world, db):
    p = await _partnership(client, world)
    bay = await world.f.employer("Bay Bakery", county="San Mateo")
    r = await _add(client, await world.f.auth(world.users["partner2"]), p["id"], kind="employer", employer_id=bay.id)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "employer_id"
    assert "which LA Basin WDB does not serve" in r.text
    assert await db.scalar(select(func.count(PartnershipMember.id))) == 0


async def test_unknown_stage_on_create_is_refused_and_nothing_written(client, world, db):
    r = await client.post("/api/partnerships", headers=await world.f.auth(world.users["lead"]), json={
        "name": "X", "owner_organization_id": world.orgs["board"].id, "regions": ["LA-BASIN"], "stage": "done"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "stage"
    assert await db.scalar(select(func.count(SectorPartnership.id))) == 0


@pytest.mark.parametrize("prefixes", [["484", "99"], ["10"], ["484", "3400"]])
async def test_a_partnership_for_a_naics_prefix_of_no_sector_is_refused_naming_the_entry(client, world, db, prefixes):
    r = await client.post("/api/partnerships", headers=await world.f.auth(world.users["lead"]), json={
        "name": "X", "owner_organization_id": world.orgs["board"].id, "regions": ["LA-BASIN"],
        "naics_prefixes": prefixes})
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["naics_prefixes"]
    bad = prefixes[-1]
    assert f"entry {len(prefixes)} ({bad}): {bad[:2]} is not a NAICS sector" in r.json()["error"]["message"]
    assert "31-33" in r.json()["error"]["message"]
    assert await db.scalar(select(func.count(SectorPartnership.id))) == 0


async def test_changing_a_partnership_to_a_naics_prefix_of_no_sector_is_refused_and_keeps_the_old_ones(client, world,
                                                                                                        db):
    p = await _partnership(client, world)
    lead = await world.f.auth(world.users["lead"])
    r = await client.patch(f"/api/partnerships/{p['id']}", headers=lead, json={"naics_prefixes": ["99", "484", "10"]})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "naics_prefixes"
    assert "entry 1 (99): 99 is not a NAICS sector" in r.text and "entry 3 (10): 10 is not a NAICS sector" in r.text
    ok = await client.patch(f"/api/partnerships/{p['id']}", headers=lead, json={"naics_prefixes": ["4841", "31", "45"]})
    assert ok.status_code == 200 and ok.json()["naics_prefixes"] == ["31", "45", "4841"]
    await db.rollback()
    assert (await db.get(SectorPartnership, p["id"])).naics_prefixes == ["31", "45", "4841"]


async def _convening(client, world):
    """A partnership with an employer member and a convener, and a convening of today."""
    p = await _partnership(client, world)
    lead = await world.f.auth(world.users["lead"])
    employer = await world.f.employer("Harbor Freight Lines")
    business = (await _add(client, lead, p["id"], kind="employer", employer_id=employer.id)).json()
    convener = (await _add(client, lead, p["id"], kind="support", organization_id=world.orgs["board"].id,
                           support_role="convener")).json()
    meeting = (await client.post(f"/api/partnerships/{p['id']}/meetings", headers=lead,
                                 json={"held_on": today().isoformat()})).json()
    return p, lead, employer, business, convener, meeting


async def test_convening_attendance_is_split_business_vs_public_and_counts_as_event_touch(client, world, db):
    p, lead, employer, business, convener, meeting = await _convening(client, world)
    college = (await _add(client, lead, p["id"], kind="support", organization_id=world.orgs["college"].id,
                          support_role="core")).json()
    assert (business["side"], convener["side"]) == ("business", "public")
    url = f"/api/partnerships/{p['id']}/meetings/{meeting['id']}/attendance"
    r = await client.put(f"{url}/{business['id']}", headers=lead, json={"present": True})
    assert r.status_code == 200 and (r.json()["business_count"], r.json()["public_count"]) == (1, 0)
    touch_id = r.json()["touch_id"]
    await client.put(f"{url}/{convener['id']}", headers=lead, json={"present": True})
    r = await client.put(f"{url}/{college['id']}", headers=lead, json={"present": True})
    assert (r.json()["business_count"], r.json()["public_count"]) == (1, 2)
    got = (await client.get(f"/api/partnerships/{p['id']}", headers=lead)).json()
    latest = next(b for b in got["indicators"] if b["key"] == "business_outnumber_public")
    assert latest["ok"] is False and "1 business vs 2 public" in latest["explanation"]
    touch = await db.get(Touch, touch_id)
    assert (touch.channel, touch.source, touch.status, touch.employer_id) == ("event", "meeting", "completed",
                                                                             employer.id)
    r = await client.put(f"{url}/{business['id']}", headers=lead, json={"present": False})
    assert r.json()["touch_id"] is None and r.json()["business_count"] == 0
    await db.rollback()
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.status != "cancelled")) == 0
    assert (await db.get(PartnershipMeeting, meeting["id"])).public_count == 2


async def test_action_team_with_business_chair_support_staff_and_milestones(client, world):
    p = await _partnership(client, world)
    lead = await world.f.auth(world.users["lead"])
    employer = await world.f.employer("Harbor Freight Lines")
    chair = (await _add(client, lead, p["id"], kind="employer", employer_id=employer.id, name="Ana Ruiz")).json()
    staff = (await _add(client, lead, p["id"], kind="support", name="Tom Lee", support_role="core")).json()
    team = await client.post(f"/api/partnerships/{p['id']}/action-teams", headers=lead, json={
        "name": "CDL apprenticeship", "business_chair_id": chair["id"], "support_staff_id": staff["id"]})
    assert team.status_code == 201 and team.json()["business_chair"] == "Ana Ruiz (Harbor Freight Lines)"
    base = f"/api/partnerships/{p['id']}/action-teams/{team.json()['id']}/milestones"
    ms = await client.post(base, headers=lead, json={"title": "Standards approved", "due_on": "2027-02-28"})
    assert ms.status_code == 201 and ms.json()["status"] == "planned"
    dup = await client.post(base, headers=lead, json={"title": "standards approved", "due_on": "2027-03-01"})
    assert dup.status_code == 422 and dup.json()["error"]["fields"][0]["field"] == "title"
    done = await client.patch(f"{base}/{ms.json()['id']}", headers=lead, json={"status": "done"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    bad = await client.patch(f"{base}/{ms.json()['id']}", headers=lead, json={"status": "abandoned"})
    assert bad.status_code == 422
    wrong_side = await client.post(f"/api/partnerships/{p['id']}/action-teams", headers=lead, json={
        "name": "Other", "business_chair_id": staff["id"]})
    assert wrong_side.status_code == 422 and wrong_side.json()["error"]["fields"][0]["field"] == "business_chair_id"
    teams = (await client.get(f"/api/partnerships/{p['id']}/action-teams", headers=lead)).json()
    assert [(t["name"], [m["status"] for m in t["milestones"]]) for t in teams["items"]] == [
        ("CDL apprenticeship", ["done"])]


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "sponsor"}, "kind"),
    ({"kind": "employer"}, "employer_id"),
    ({"kind": "employer", "employer_id": 999999}, "employer_id"),
    ({"kind": "champion"}, "employer_contact_id"),
    ({"kind": "support", "name": "Tom Lee"}, "support_role"),
    ({"kind": "support", "name": "Tom Lee", "support_role": "boss"}, "support_role"),
    ({"kind": "support", "support_role": "core"}, "name"),
    ({"kind": "support", "name": "Tom", "support_role": "core", "email": "nope"}, "email"),
    ({"kind": "support", "name": "Tom", "support_role": "core", "email": "tom@board..org"}, "email"),
    ({"kind": "support", "name": "Tom", "support_role": "core", "email": "tom@board.test"}, "email"),
])
async def test_bad_member_input_is_422_naming_the_field(client, world, db, body, field):
    p = await _partnership(client, world)
    r = await _add(client, await world.f.auth(world.users["lead"]), p["id"], **body)
    assert r.status_code == 422, r.text
    assert field in {f["field"] for f in r.json()["error"].get("fields", [])}
    assert await db.scalar(select(func.count(PartnershipMember.id))) == 0


async def test_duplicate_member_and_attendance_of_a_non_member_are_refused(client, world, db):
    p = await _partnership(client, world)
    other = await _partnership(client, world, name="Other partnership")
    lead = await world.f.auth(world.users["lead"])
    employer = await world.f.employer("Harbor Freight Lines")
    assert (await _add(client, lead, p["id"], kind="employer", employer_id=employer.id)).status_code == 201
    dup = await _add(client, lead, p["id"], kind="employer", employer_id=employer.id)
    assert dup.status_code == 422 and "already a member" in dup.json()["error"]["message"]
    outsider = (await _add(client, lead, other["id"], kind="employer", employer_id=employer.id)).json()
    meeting = (await client.post(f"/api/partnerships/{p['id']}/meetings", headers=lead,
                                 json={"held_on": today().isoformat()})).json()
    r = await client.put(f"/api/partnerships/{p['id']}/meetings/{meeting['id']}/attendance/{outsider['id']}",
                         headers=lead, json={"present": True})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "member_id"
    assert await db.scalar(select(func.count(PartnershipAttendance.id))) == 0
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.status != "cancelled")) == 0


@pytest.mark.parametrize(("who", "read", "write"), [
    ("admin", 200, 201), ("lead", 200, 201), ("spoc", 200, 201), ("partner2", 200, 201), ("partner", 403, 403),
    ("bay_lead", 403, 403), ("chair", 403, 403)])
async def test_who_may_read_and_manage_a_partnership(client, world, db, who, read, write):
    """Convener staff (partner2 and the SPOC work for the LA Basin WDB), the region's lead and admins manage;
    other organizations, other regions and chairs who are not members see nothing."""
    p = await _partnership(client, world)
    headers = await world.f.auth(world.users[who])
    assert (await client.get(f"/api/partnerships/{p['id']}", headers=headers)).status_code == read
    r = await _add(client, headers, p["id"], kind="support", name="Tom Lee", support_role="network")
    assert r.status_code == write, r.text


async def test_chair_member_reads_their_partnership_but_never_writes(client, world, db):
    p = await _partnership(client, world)
    lead = await world.f.auth(world.users["lead"])
    employer = await world.f.employer("Harbor Freight Lines")
    seat = (await _add(client, lead, p["id"], kind="employer", employer_id=employer.id, name="Chris Chair",
                       email="chair@example.org")).json()
    assert seat["user_id"] == world.users["chair"].id
    team = (await client.post(f"/api/partnerships/{p['id']}/action-teams", headers=lead,
                              json={"name": "Team"})).json()
    ms = (await client.post(f"/api/partnerships/{p['id']}/action-teams/{team['id']}/milestones", headers=lead,
                            json={"title": "M1", "due_on": "2027-01-01"})).json()
    meeting = (await client.post(f"/api/partnerships/{p['id']}/meetings", headers=lead,
                                 json={"held_on": today().isoformat()})).json()
    chair = await world.f.auth(world.users["chair"])
    listing = (await client.get("/api/partnerships", headers=chair)).json()
    assert [x["name"] for x in listing["items"]] == ["LA Logistics Partnership"]
    assert (await client.get(f"/api/partnerships/{p['id']}/members", headers=chair)).status_code == 200
    tables = (SectorPartnership, PartnershipMember, PartnershipMeeting, PartnershipAttendance, ActionTeam, Milestone)
    before = {t: await db.scalar(select(func.count(t.id))) for t in tables}
    base = f"/api/partnerships/{p['id']}"
    for method, url, body in [
        ("POST", "/api/partnerships", {"name": "X", "owner_organization_id": world.orgs["board"].id,
                                       "regions": ["LA-BASIN"]}),
        ("PATCH", base, {"stage": "launched"}),
        ("POST", f"{base}/members", {"kind": "support", "name": "X", "support_role": "core"}),
        ("POST", f"{base}/members/{seat['id']}/remove", None),
        ("POST", f"{base}/meetings", {"held_on": today().isoformat()}),
        ("PUT", f"{base}/meetings/{meeting['id']}/attendance/{seat['id']}", {"present": True}),
        ("POST", f"{base}/action-teams", {"name": "Mine"}),
        ("POST", f"{base}/action-teams/{team['id']}/milestones", {"title": "M2", "due_on": "2027-01-01"}),
        ("PATCH", f"{base}/action-teams/{team['id']}/milestones/{ms['id']}", {"status": "done"}),
    ]:
        r = await client.request(method, url, headers=chair, json=body)
        assert r.status_code == 403, (method, url, r.status_code)
    await db.rollback()
    assert {t: await db.scalar(select(func.count(t.id))) for t in tables} == before


async def test_the_convening_page_marks_an_employers_tick_as_a_counted_touch(client, world):
    from tests.factories import csrf, login

    p, _, _, business, convener, meeting = await _convening(client, world)
    await login(client, world.users["lead"].email)
    url = f"/partnerships/{p['id']}/meetings/{meeting['id']}/attendance"
    for member in (business, convener):
        r = await client.post(f"{url}/{member['id']}", data={"present": "1"}, headers={"HX-Request": "true",
                                                                                      **csrf(client)})
        assert r.status_code == 200, r.text
    ticks = {m["id"]: r.text.split(f'/attendance/{m["id"]}"', 1)[1].split("</form>", 1)[0]
             for m in (business, convener)}
    assert "touch counted" in ticks[business["id"]] and "touch counted" not in ticks[convener["id"]]


async def test_the_add_member_form_picks_the_employer_and_then_lists_its_people(client, world):
    from tests.factories import login

    p = await _partnership(client, world)
    await login(client, world.users["lead"].email)
    page = (await client.get(f"/partnerships/{p['id']}")).text
    assert 'id="pmember-employer"' in page and "Employer contact #" not in page
    # The people load into their own box: inheriting the form's hx-target would replace the members list.
    loader = page.split('hx-get="/employers/contact-options"', 1)[1].split(">", 1)[0]
    assert 'hx-target="this"' in loader and "employer-chosen from:#pmember-employer" in loader


async def test_partnership_api_names_every_bad_field_at_once(client, world, db):
    lead = await world.f.auth(world.users["lead"])
    r = await client.post("/api/partnerships", headers=lead, json={
        "name": "L" * 1000, "owner_organization_id": 999999, "regions": ["ZZ"], "naics_prefixes": ["abc"],
        "stage": "someday"})
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == [
        "name", "stage", "naics_prefixes", "regions", "owner_organization_id"]
    p = (await client.post("/api/partnerships", headers=lead, json={
        "name": "LA Logistics", "owner_organization_id": world.orgs["board"].id, "regions": ["LA-BASIN"]})).json()
    r = await client.patch(f"/api/partnerships/{p['id']}", headers=lead,
                           json={"name": " ", "stage": "someday", "naics_prefixes": ["99"]})
    assert r.status_code == 422 and [f["field"] for f in r.json()["error"]["fields"]] == [
        "name", "stage", "naics_prefixes"]
    assert await db.scalar(select(func.count(SectorPartnership.id))) == 1


async def test_a_partnership_created_twice_or_renamed_onto_another_is_a_409_naming_name(client, world, db):
    lead = await world.f.auth(world.users["lead"])
    body = {"name": "LA Logistics", "owner_organization_id": world.orgs["board"].id, "regions": ["LA-BASIN"]}
    assert (await client.post("/api/partnerships", headers=lead, json=body)).status_code == 201
    r = await client.post("/api/partnerships", headers=lead, json={**body, "name": "la LOGISTICS "})
    assert r.status_code == 409 and [f["field"] for f in r.json()["error"]["fields"]] == ["name"], r.text
    other = (await client.post("/api/partnerships", headers=lead, json={**body, "name": "LA Healthcare"})).json()
    r = await client.patch(f"/api/partnerships/{other['id']}", headers=lead, json={"name": "LA logistics"})
    assert r.status_code == 409 and [f["field"] for f in r.json()["error"]["fields"]] == ["name"], r.text
    assert sorted(await db.scalars(select(SectorPartnership.name))) == ["LA Healthcare", "LA Logistics"]
