"""/api/councils: scope by role, region and organization; chairs read their own and never write;
bad input is a 4xx naming the field with nothing written; attendance is a counted touch."""

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm.audit.models import AuditEvent
from crm.councils.models import AdvisoryCouncil, CouncilMeeting, CouncilMember, MeetingAttendance, Recommendation
from crm.directory.models import Region
from crm.touches.budget import budget_view
from crm.touches.models import Touch
from tests.factories import today


async def _council(client, world, who="partner", org="college", region="LA-BASIN", name="Welding Advisory"):
    r = await client.post("/api/councils", headers=await world.f.auth(world.users[who]), json={
        "name": name, "owner_organization_id": world.orgs[org].id, "region": region, "program": "Welding Technology",
        "naics_prefix": "3323"})
    assert r.status_code == 201, r.text
    return r.json()


async def _member(client, headers, council_id, **body):
    body = {"name": "Dana Whitfield", "member_type": "industry", **body}
    return await client.post(f"/api/councils/{council_id}/members", headers=headers, json=body)


async def _remaining(db, employer_id, region_id):
    """The employer's pacing budget left today, as the intake sees it (crm.touches.budget)."""
    await db.rollback()  # read what the app committed since the last look
    return (await budget_view(db, employer_id, region_id, today())).remaining


async def test_owner_staff_creates_council_adds_members_and_sees_badges_explained(client, world):
    council = await _council(client, world)
    assert council["owner_organization"] == "East LA College" and council["region"] == "LA-BASIN"
    staff = await world.f.auth(world.users["partner"])
    employer = await world.f.employer("Pacific Steel Fabricators")
    chair = await _member(client, staff, council["id"], name="Dana Whitfield", role="chair",
                          employer_id=employer.id, term_start="2026-01-01", term_end="2027-12-31")
    assert chair.status_code == 201, chair.text
    assert chair.json()["affiliation"] == "Pacific Steel Fabricators" and chair.json()["current"] is True
    inside = await _member(client, staff, council["id"], name="Ivan Ortiz", member_type="education",
                           organization_id=world.orgs["college"].id)
    assert inside.status_code == 201, inside.text
    got = (await client.get(f"/api/councils/{council['id']}", headers=staff)).json()
    badges = {b["key"]: b for b in got["badges"]}
    assert badges["industry_chaired"]["ok"] is True
    assert badges["industry_chaired"]["explanation"] == "chair Dana Whitfield is industry"
    assert badges["industry_majority"]["ok"] is False
    assert badges["industry_majority"]["explanation"].startswith("1 of 2 current members is industry")
    assert badges["met_last_12_months"] == {"key": "met_last_12_months", "label": "Met in the last 12 months",
                                            "ok": False, "explanation": "no meetings recorded", "warning": False}


async def test_removing_a_member_keeps_the_seat_as_history(client, world, db):
    council = await _council(client, world)
    staff = await world.f.auth(world.users["partner"])
    member = (await _member(client, staff, council["id"])).json()
    r = await client.post(f"/api/councils/{council['id']}/members/{member['id']}/remove", headers=staff,
                          json={"reason": "changed employers"})
    assert r.status_code == 200 and r.json()["removed_at"] is not None
    current = (await client.get(f"/api/councils/{council['id']}/members", headers=staff)).json()
    history = (await client.get(f"/api/councils/{council['id']}/members", headers=staff,
                                params={"include_removed": "true"})).json()
    assert current["total"] == 0 and [m["name"] for m in history["items"]] == ["Dana Whitfield"]
    again = await client.post(f"/api/councils/{council['id']}/members/{member['id']}/remove", headers=staff,
                              json={})
    assert again.status_code == 409
    # The same person may be seated again once the old seat has ended.
    assert (await _member(client, staff, council["id"])).status_code == 201
    assert await db.scalar(select(func.count(CouncilMember.id))) == 2


async def test_ticking_an_employer_member_present_spends_pacing_budget_and_unticking_restores_it(client, world, db):
    council = await _council(client, world, who="lead", org="board")
    lead = await world.f.auth(world.users["lead"])
    employer = await world.f.employer("Pacific Steel Fabricators")
    await world.f.assign(employer, world.users["spoc"])
    member = (await _member(client, lead, council["id"], employer_id=employer.id)).json()
    meeting = (await client.post(f"/api/councils/{council['id']}/meetings", headers=lead,
                                 json={"held_on": today().isoformat(), "agenda": "Curriculum review"})).json()
    region_id = (await world.f.region("LA-BASIN")).id
    assert await _remaining(db, employer.id, region_id) == 2  # the region default: 2 touches per 30 days

    url = f"/api/councils/{council['id']}/meetings/{meeting['id']}/attendance/{member['id']}"
    ticked = await client.put(url, headers=lead, json={"present": True})
    assert ticked.status_code == 200, ticked.text
    await db.rollback()  # a fresh snapshot: the app committed in its own session
    touch_id = ticked.json()["touch_id"]
    touch = await db.get(Touch, touch_id)
    assert (touch.source, touch.channel, touch.status, touch.planned_on) == ("meeting", "meeting", "completed", today())
    assert touch.spoc_id == world.users["spoc"].id and touch.region_id == region_id
    assert await _remaining(db, employer.id, region_id) == 1
    # Ticking twice is idempotent: still one touch.
    assert (await client.put(url, headers=lead, json={"present": True})).json()["touch_id"] == touch_id
    assert await db.scalar(select(func.count(Touch.id))) == 1

    unticked = await client.put(url, headers=lead, json={"present": False})
    assert unticked.status_code == 200 and unticked.json() == {
        "meeting_id": meeting["id"], "member_id": member["id"], "present": False, "touch_id": None}
    assert await _remaining(db, employer.id, region_id) == 2
    actions = set(await db.scalars(select(AuditEvent.action).where(AuditEvent.employer_id == employer.id)))
    assert {"touch.meeting_attended", "touch.meeting_attendance_removed", "council.attendance"} <= actions


async def test_two_people_of_one_employer_at_a_meeting_are_one_touch_until_both_are_unticked(client, world, db):
    council = await _council(client, world, who="lead", org="board")
    lead = await world.f.auth(world.users["lead"])
    employer = await world.f.employer("Pacific Steel Fabricators")
    people = [(await _member(client, lead, council["id"], employer_id=employer.id, name=name)).json()
              for name in ("Dana Whitfield", "Luis Ortega")]
    meeting = (await client.post(f"/api/councils/{council['id']}/meetings", headers=lead,
                                 json={"held_on": today().isoformat()})).json()
    region_id = (await world.f.region("LA-BASIN")).id
    urls = [f"/api/councils/{council['id']}/meetings/{meeting['id']}/attendance/{m['id']}" for m in people]
    ticked = [(await client.put(url, headers=lead, json={"present": True})).json() for url in urls]
    assert ticked[0]["touch_id"] == ticked[1]["touch_id"] is not None
    assert await _remaining(db, employer.id, region_id) == 1  # one meeting, one touch of the budget
    assert (await client.put(urls[0], headers=lead, json={"present": False})).json()["touch_id"] is None
    assert await _remaining(db, employer.id, region_id) == 1  # a colleague was still there
    assert await db.scalar(select(func.count(Touch.id))) == 1
    touch = await db.get(Touch, ticked[0]["touch_id"])  # and the touch names who of the employer came
    assert touch.notes.startswith("Luis Ortega at Welding Advisory meeting on ") and "Dana" not in touch.notes
    await client.put(urls[1], headers=lead, json={"present": False})
    assert await _remaining(db, employer.id, region_id) == 2
    # Nobody left: the touch is cancelled, not deleted, so its number and history stay its own.
    await db.rollback()
    touch = await db.get(Touch, ticked[0]["touch_id"])
    assert touch.status == "cancelled" and touch.cancel_reason.startswith("Attendance unticked")
    assert await db.scalar(select(func.count(Touch.id)).where(Touch.status != "cancelled")) == 0
    ticked_again = (await client.put(urls[1], headers=lead, json={"present": True})).json()
    assert ticked_again["touch_id"] not in (None, ticked[0]["touch_id"])


async def test_ticking_a_public_member_creates_no_touch(client, world, db):
    council = await _council(client, world)
    staff = await world.f.auth(world.users["partner"])
    member = (await _member(client, staff, council["id"], name="Rosa Diaz", member_type="public")).json()
    meeting = (await client.post(f"/api/councils/{council['id']}/meetings", headers=staff,
                                 json={"held_on": today().isoformat()})).json()
    r = await client.put(f"/api/councils/{council['id']}/meetings/{meeting['id']}/attendance/{member['id']}",
                         headers=staff, json={"present": True})
    assert r.status_code == 200 and r.json()["touch_id"] is None and r.json()["present"] is True
    assert await db.scalar(select(func.count(Touch.id))) == 0


# --- authorization -------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "status"), [("admin", 200), ("lead", 200), ("spoc", 200), ("partner", 200),
                                             ("partner2", 403), ("bay_lead", 403), ("bay_spoc", 403),
                                             ("chair", 403)])
async def test_who_may_read_a_council(client, world, who, status):
    council = await _council(client, world)
    headers = await world.f.auth(world.users[who])
    assert (await client.get(f"/api/councils/{council['id']}", headers=headers)).status_code == status
    listing = (await client.get("/api/councils", headers=headers)).json()
    assert (council["id"] in [c["id"] for c in listing["items"]]) == (status == 200)


@pytest.mark.parametrize(("who", "status"), [("admin", 201), ("lead", 201), ("partner", 201), ("spoc", 403),
                                             ("partner2", 403), ("bay_lead", 403), ("chair", 403)])
async def test_who_may_manage_the_roster(client, world, db, who, status):
    """Owner organization staff (partner of East LA College), the region's lead and admins; a SPOC of the
    region sees the council but does not manage it, nor does another organization or region."""
    council = await _council(client, world)
    r = await _member(client, await world.f.auth(world.users[who]), council["id"])
    assert r.status_code == status, r.text
    assert await db.scalar(select(func.count(CouncilMember.id))) == (1 if status == 201 else 0)


async def test_partner_cannot_create_a_council_owned_by_another_organization(client, world, db):
    r = await client.post("/api/councils", headers=await world.f.auth(world.users["partner"]), json={
        "name": "Board committee", "owner_organization_id": world.orgs["board"].id, "region": "LA-BASIN"})
    assert r.status_code == 403
    assert await db.scalar(select(func.count(AdvisoryCouncil.id))) == 0


async def test_owner_staff_create_councils_only_in_regions_their_organization_serves(client, world, db):
    """Attendance at a council's meetings counts against employers' contact budgets: a partner may not
    open one in a region its organization does not work in (the region's lead may)."""
    body = {"name": "Bay committee", "owner_organization_id": world.orgs["college"].id, "region": "BAY-PENINSULA"}
    r = await client.post("/api/councils", headers=await world.f.auth(world.users["partner"]), json=body)
    assert r.status_code == 422 and r.json()["error"]["fields"] == [
        {"field": "region", "message": "is not a region East LA College serves"}]
    assert await db.scalar(select(func.count(AdvisoryCouncil.id))) == 0
    r = await client.post("/api/councils", headers=await world.f.auth(world.users["admin"]), json=body)
    assert r.status_code == 201


async def _seat_chair(client, world, council_id):
    staff = await world.f.auth(world.users["partner"])
    r = await _member(client, staff, council_id, name="Chris Chair", email="chair@example.org", role="chair")
    assert r.status_code == 201 and r.json()["user_id"] == world.users["chair"].id  # linked by the roster e-mail
    return r.json()


async def test_owner_staff_seat_only_employers_of_regions_their_organization_serves(client, world, db):
    """Ticked present, a seat is a counted touch: a partner spent a Bay Area employer's budget from an LA council."""
    council = await _council(client, world)
    bay = await world.f.employer("Bay Bakery", county="San Mateo")
    r = await _member(client, await world.f.auth(world.users["partner"]), council["id"], employer_id=bay.id)
    assert r.status_code == 422 and r.json()["error"]["fields"] == [
        {"field": "employer_id", "message": "Bay Bakery is in BAY-PENINSULA, which East LA College does not serve"}]
    r = await _member(client, await world.f.auth(world.users["admin"]), council["id"], employer_id=bay.id)
    assert r.status_code == 201


async def test_a_seat_links_only_an_industry_chairs_sign_in(client, world, db):
    """A seat's sign-in reads the council: a partner of another organization linked by id got its roster."""
    council = await _council(client, world)
    staff = await world.f.auth(world.users["partner"])
    for user_id in (world.users["partner2"].id, 999999):
        r = await _member(client, staff, council["id"], name="Quinn Partner", user_id=user_id)
        assert r.status_code == 422 and r.json()["error"]["fields"] == [
            {"field": "user_id", "message": f"#{user_id} is not an industry chair's sign-in"}]
    assert (await client.get(f"/api/councils/{council['id']}",
                             headers=await world.f.auth(world.users["partner2"]))).status_code == 403
    r = await _member(client, staff, council["id"], name="Chris Chair", user_id=world.users["chair"].id)
    assert r.status_code == 201 and r.json()["user_id"] == world.users["chair"].id


async def test_chair_reads_only_the_councils_they_sit_on(client, world):
    mine = await _council(client, world, name="Welding Advisory")
    other = await _council(client, world, name="Nursing Advisory")
    await _seat_chair(client, world, mine["id"])
    chair = await world.f.auth(world.users["chair"])
    listing = (await client.get("/api/councils", headers=chair)).json()
    assert [c["name"] for c in listing["items"]] == ["Welding Advisory"]
    assert (await client.get(f"/api/councils/{mine['id']}/members", headers=chair)).status_code == 200
    assert (await client.get(f"/api/councils/{other['id']}", headers=chair)).status_code == 403
    assert (await client.get("/api/employers", headers=chair)).status_code == 403


async def test_chair_can_never_write_to_a_council_api(client, world, db):
    council = await _council(client, world)
    member = await _seat_chair(client, world, council["id"])
    staff = await world.f.auth(world.users["partner"])
    meeting = (await client.post(f"/api/councils/{council['id']}/meetings", headers=staff,
                                 json={"held_on": today().isoformat()})).json()
    rec = (await client.post(f"/api/councils/{council['id']}/recommendations", headers=staff,
                             json={"text": "Add a robotics module"})).json()
    before = {m: await db.scalar(select(func.count(m.id))) for m in
              (AdvisoryCouncil, CouncilMember, CouncilMeeting, MeetingAttendance, Recommendation)}
    chair = await world.f.auth(world.users["chair"])
    c = f"/api/councils/{council['id']}"
    writes = [
        ("POST", "/api/councils", {"name": "Mine", "owner_organization_id": world.orgs["college"].id,
                                   "region": "LA-BASIN"}),
        ("PATCH", c, {"name": "Renamed"}),
        ("POST", f"{c}/members", {"name": "New Person", "member_type": "industry"}),
        ("POST", f"{c}/members/{member['id']}/remove", {}),
        ("POST", f"{c}/meetings", {"held_on": today().isoformat()}),
        ("PUT", f"{c}/meetings/{meeting['id']}/attendance/{member['id']}", {"present": True}),
        ("POST", f"{c}/recommendations", {"text": "x"}),
        ("PATCH", f"{c}/recommendations/{rec['id']}", {"status": "done"}),
    ]
    for method, url, body in writes:
        r = await client.request(method, url, headers=chair, json=body)
        assert r.status_code == 403, (method, url, r.status_code)
    after = {m: await db.scalar(select(func.count(m.id))) for m in before}
    assert after == before


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({"term_start": "2026-06-01", "term_end": "2026-05-31"}, "term_end"),
    ({"member_type": "astronaut"}, "member_type"),
    ({"role": "president"}, "role"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "dana@psf..com"}, "email"),
    ({"email": "dana@psf.local"}, "email"),
    ({"name": ""}, "name"),
    ({"name": "x" * 121}, "name"),
    ({"employer_id": 999999}, "employer_id"),
    ({"organization_id": 999999}, "organization_id"),
    ({"term_start": "June"}, "term_start"),
])
async def test_bad_member_input_is_422_naming_the_field_and_writes_nothing(client, world, db, body, field):
    council = await _council(client, world)
    r = await _member(client, await world.f.auth(world.users["partner"]), council["id"], **body)
    assert r.status_code in (400, 422), r.text
    assert field in {f["field"] for f in r.json()["error"].get("fields", [])} or field in r.json()["error"]["message"]
    assert await db.scalar(select(func.count(CouncilMember.id))) == 0


async def test_duplicate_current_member_is_refused(client, world, db):
    council = await _council(client, world)
    staff = await world.f.auth(world.users["partner"])
    employer = await world.f.employer("Pacific Steel Fabricators")
    assert (await _member(client, staff, council["id"], email="dana@psf.com", employer_id=employer.id)).status_code \
        == 201
    by_email = await _member(client, staff, council["id"], name="D. Whitfield", email="DANA@psf.com")
    by_name = await _member(client, staff, council["id"], employer_id=employer.id)
    assert by_email.status_code == 422 and by_email.json()["error"]["fields"][0]["field"] == "email"
    assert by_name.status_code == 422 and "already a member" in by_name.json()["error"]["message"]
    assert await db.scalar(select(func.count(CouncilMember.id))) == 1


async def test_second_current_chair_is_refused(client, world, db):
    council = await _council(client, world)
    staff = await world.f.auth(world.users["partner"])
    assert (await _member(client, staff, council["id"], role="chair")).status_code == 201
    r = await _member(client, staff, council["id"], name="Second Chair", role="chair")
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "role"
    assert "one chair at a time" in r.json()["error"]["message"]
    assert await db.scalar(select(func.count(CouncilMember.id))) == 1


async def test_attendance_of_a_non_member_is_refused_and_writes_nothing(client, world, db):
    council = await _council(client, world)
    other = await _council(client, world, name="Other council")
    staff = await world.f.auth(world.users["partner"])
    outsider = (await _member(client, staff, other["id"], employer_id=(await world.f.employer()).id)).json()
    former = (await _member(client, staff, council["id"], name="Former Member",
                            term_start="2020-01-01", term_end="2021-01-01")).json()
    meeting = (await client.post(f"/api/councils/{council['id']}/meetings", headers=staff,
                                 json={"held_on": today().isoformat()})).json()
    for member_id in (outsider["id"], former["id"], 999999):
        r = await client.put(f"/api/councils/{council['id']}/meetings/{meeting['id']}/attendance/{member_id}",
                             headers=staff, json={"present": True})
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "member_id", r.text
    assert await db.scalar(select(func.count(MeetingAttendance.id))) == 0
    assert await db.scalar(select(func.count(Touch.id))) == 0


@pytest.mark.parametrize(("body", "field"), [({"region": "NOWHERE"}, "region"),
                                             ({"owner_organization_id": 999999}, "owner_organization_id"),
                                             ({"naics_prefix": "abc"}, "naics_prefix"), ({"name": ""}, "name")])
async def test_bad_council_input_is_4xx_and_writes_nothing(client, world, db, body, field):
    payload = {"name": "Welding", "owner_organization_id": world.orgs["college"].id, "region": "LA-BASIN", **body}
    r = await client.post("/api/councils", headers=await world.f.auth(world.users["admin"]), json=payload)
    assert r.status_code == 422 and field in r.text
    assert await db.scalar(select(func.count(AdvisoryCouncil.id))) == 0


@pytest.mark.parametrize("prefix", ["99", "10", "3400"])
async def test_a_council_for_a_naics_prefix_of_no_sector_is_refused_on_create_and_on_change(client, world, db, prefix):
    staff = await world.f.auth(world.users["partner"])
    r = await client.post("/api/councils", headers=staff, json={
        "name": "Welding", "owner_organization_id": world.orgs["college"].id, "region": "LA-BASIN",
        "naics_prefix": prefix})
    assert r.status_code == 422 and [f["field"] for f in r.json()["error"]["fields"]] == ["naics_prefix"]
    assert f"{prefix[:2]} is not a NAICS sector" in r.json()["error"]["message"]
    assert await db.scalar(select(func.count(AdvisoryCouncil.id))) == 0
    council = await _council(client, world)
    r = await client.patch(f"/api/councils/{council['id']}", headers=staff, json={"naics_prefix": prefix})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "naics_prefix"
    await db.rollback()
    assert (await db.get(AdvisoryCouncil, council["id"])).naics_prefix == "3323"


async def test_recommendation_follow_up_status_is_tracked_and_validated(client, world):
    council = await _council(client, world)
    staff = await world.f.auth(world.users["partner"])
    meeting = (await client.post(f"/api/councils/{council['id']}/meetings", headers=staff,
                                 json={"held_on": (today() - dt.timedelta(days=3)).isoformat()})).json()
    rec = await client.post(f"/api/councils/{council['id']}/recommendations", headers=staff,
                            json={"text": "Add CNC plasma cutting to WELD 120", "meeting_id": meeting["id"],
                                  "owner": "Dept. chair"})
    assert rec.status_code == 201 and rec.json()["status"] == "open"
    url = f"/api/councils/{council['id']}/recommendations/{rec.json()['id']}"
    done = await client.patch(url, headers=staff, json={"status": "done", "follow_up": "Approved for fall"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    bad = await client.patch(url, headers=staff, json={"status": "maybe"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "status"
    listing = (await client.get(f"/api/councils/{council['id']}/recommendations", headers=staff)).json()
    assert [(r["status"], r["follow_up"]) for r in listing["items"]] == [("done", "Approved for fall")]


async def test_council_api_names_every_bad_field_at_once(client, world, db):
    r = await client.post("/api/councils", headers=await world.f.auth(world.users["lead"]),
                          json={"name": "W" * 1000, "region": "ZZ", "naics_prefix": "abc",
                                "owner_organization_id": 999999, "description": "x" * 20_001})
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == [
        "name", "description", "naics_prefix", "region", "owner_organization_id"]
    assert await db.scalar(select(func.count(AdvisoryCouncil.id))) == 0


async def test_a_council_created_twice_is_a_409_naming_name_and_the_database_refuses_one_anyway(client, world, db):
    staff = await world.f.auth(world.users["partner"])
    first = await _council(client, world)
    r = await client.post("/api/councils", headers=staff, json={
        "name": "WELDING  advisory", "owner_organization_id": world.orgs["college"].id, "region": "LA-BASIN"})
    assert r.status_code == 409 and [f["field"] for f in r.json()["error"]["fields"]] == ["name"], r.text
    second = await _council(client, world, name="Welding Lab Advisory")
    r = await client.patch(f"/api/councils/{second['id']}", headers=staff, json={"name": "welding advisory"})
    assert r.status_code == 409 and [f["field"] for f in r.json()["error"]["fields"]] == ["name"], r.text
    # Two requests at the same moment both pass the service's check: the unique key refuses the second.
    db.add(AdvisoryCouncil(name="welding ADVISORY", owner_organization_id=first["owner_organization_id"],
                           region_id=await db.scalar(select(Region.id).where(Region.code == "LA-BASIN"))))
    with pytest.raises(IntegrityError):
        await db.flush()
    await db.rollback()
    assert sorted(await db.scalars(select(AdvisoryCouncil.name))) == ["Welding Advisory", "Welding Lab Advisory"]
