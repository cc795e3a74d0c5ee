"""Attendance is ticked for meetings that have happened: a tick for one still to come would count a
completed touch, dated in the future, against the employer's pacing budget."""

import datetime as dt

from sqlalchemy import func, select

from crm.clock import today
from crm.councils.models import MeetingAttendance
from crm.partnerships.models import PartnershipAttendance
from crm.touches.models import Touch
from tests.factories import login


async def test_nobody_is_ticked_present_at_a_council_meeting_still_to_come(client, world, db):
    staff = await world.f.auth(world.users["partner"])
    employer = await world.f.employer("Pacific Steel Fabricators")
    council = (await client.post("/api/councils", headers=staff, json={
        "name": "Welding Advisory", "owner_organization_id": world.orgs["college"].id, "region": "LA-BASIN"})).json()
    base = f"/api/councils/{council['id']}"
    member = (await client.post(f"{base}/members", headers=staff, json={
        "name": "Dana Whitfield", "member_type": "industry", "employer_id": employer.id})).json()
    tomorrow = today() + dt.timedelta(days=1)
    meeting = (await client.post(f"{base}/meetings", headers=staff, json={"held_on": tomorrow.isoformat()})).json()
    r = await client.put(f"{base}/meetings/{meeting['id']}/attendance/{member['id']}", headers=staff,
                         json={"present": True})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "present", r.text
    assert f"the meeting of {tomorrow.day} {tomorrow:%B %Y} has not happened yet" in r.json()["error"]["message"]
    assert await db.scalar(select(func.count(MeetingAttendance.id))) == 0
    assert await db.scalar(select(func.count(Touch.id))) == 0
    # The page offers no boxes to tick for it, and says when they come.
    await login(client, world.users["partner"].email)
    page = (await client.get(f"/councils/{council['id']}")).text
    article = page.split(f'id="meeting-{meeting["id"]}"', 1)[1].split("</article>", 1)[0]
    assert "Attendance is ticked on the day of the meeting or after." in article
    assert 'type="checkbox"' not in article


async def test_nobody_is_ticked_present_at_a_convening_still_to_come(client, world, db):
    lead = await world.f.auth(world.users["lead"])
    employer = await world.f.employer("Harbor Freight Lines")
    p = (await client.post("/api/partnerships", headers=lead, json={
        "name": "LA Logistics Partnership", "owner_organization_id": world.orgs["board"].id,
        "regions": ["LA-BASIN"]})).json()
    base = f"/api/partnerships/{p['id']}"
    member = (await client.post(f"{base}/members", headers=lead, json={"kind": "employer",
                                                                         "employer_id": employer.id})).json()
    meeting = (await client.post(f"{base}/meetings", headers=lead, json={
        "held_on": (today() + dt.timedelta(days=3)).isoformat()})).json()
    r = await client.put(f"{base}/meetings/{meeting['id']}/attendance/{member['id']}", headers=lead,
                         json={"present": True})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "present", r.text
    assert await db.scalar(select(func.count(PartnershipAttendance.id))) == 0
    assert await db.scalar(select(func.count(Touch.id))) == 0
    await login(client, world.users["lead"].email)
    page = (await client.get(f"/partnerships/{p['id']}")).text
    article = page.split(f'id="meeting-{meeting["id"]}"', 1)[1].split("</article>", 1)[0]
    assert "Attendance is ticked on the day of the convening or after." in article
    assert 'type="checkbox"' not in article
