"""A council's and a partnership's days (meeting held_on, milestone due_on, member term_start/term_end)
are bounded like every other day in OneDoor: 0001-01-01 or 9999-12-31 is a 422 naming the field, and
nothing is written (a year-1 meeting once made a counted touch planned on 0001-01-01)."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.councils.compliance import EARLIEST_RECORD_DAY, record_day_problem
from crm.councils.models import CouncilMeeting, CouncilMember
from crm.partnerships.models import Milestone, PartnershipMeeting
from tests.factories import csrf, login, said_beside, today

FAR_PAST, FAR_FUTURE = "0001-01-01", "9999-12-31"


def _field(r):
    assert r.status_code == 422, r.text
    return [f["field"] for f in r.json()["error"]["fields"]]


async def _council(client, headers, world):
    r = await client.post("/api/councils", headers=headers, json={
        "name": "Welding Advisory", "owner_organization_id": world.orgs["college"].id, "region": "LA-BASIN",
        "program": "Welding Technology"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _partnership(client, headers, world):
    r = await client.post("/api/partnerships", headers=headers, json={
        "name": "LA Logistics Partnership", "owner_organization_id": world.orgs["board"].id,
        "regions": ["LA-BASIN"], "naics_prefixes": ["484"], "stage": "action_teams"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_record_day_is_bounded_by_the_programmes_era_and_a_plans_reach():
    on = dt.date(2026, 11, 26)
    assert record_day_problem(None, on, 1) is None
    assert record_day_problem(EARLIEST_RECORD_DAY, on, 1) is None
    assert record_day_problem(EARLIEST_RECORD_DAY - dt.timedelta(days=1), on, 1) == "must not be before 1 Jan 1990"
    assert record_day_problem(on + dt.timedelta(days=366), on, 1) is None
    assert record_day_problem(on + dt.timedelta(days=367), on, 1) == "must be within the next year"
    assert record_day_problem(dt.date.max, on, 10) == "must be within the next 10 years"


@pytest.mark.parametrize("held_on", [FAR_PAST, "1989-12-31", FAR_FUTURE])
async def test_a_council_meeting_on_an_implausible_day_is_422_naming_held_on(client, world, db, held_on):
    staff = await world.f.auth(world.users["partner"])
    council_id = await _council(client, staff, world)
    r = await client.post(f"/api/councils/{council_id}/meetings", headers=staff, json={"held_on": held_on})
    assert _field(r) == ["held_on"]
    assert await db.scalar(select(func.count(CouncilMeeting.id))) == 0


async def test_a_council_meeting_a_year_ago_or_in_a_month_is_fine(client, world):
    staff = await world.f.auth(world.users["partner"])
    council_id = await _council(client, staff, world)
    for day in (today() - dt.timedelta(days=365), today() + dt.timedelta(days=30)):
        r = await client.post(f"/api/councils/{council_id}/meetings", headers=staff, json={"held_on": day.isoformat()})
        assert r.status_code == 201, r.text


@pytest.mark.parametrize(("term", "field"), [
    ({"term_start": FAR_PAST}, "term_start"),
    ({"term_start": FAR_FUTURE}, "term_start"),
    ({"term_end": FAR_FUTURE}, "term_end"),
    ({"term_start": "2025-07-01", "term_end": FAR_FUTURE}, "term_end"),
])
async def test_a_council_term_on_an_implausible_day_is_422_naming_it(client, world, db, term, field):
    staff = await world.f.auth(world.users["partner"])
    council_id = await _council(client, staff, world)
    r = await client.post(f"/api/councils/{council_id}/members", headers=staff,
                          json={"name": "Dana Whitfield", "member_type": "industry", **term})
    assert _field(r) == [field]
    assert await db.scalar(select(func.count(CouncilMember.id))) == 0


@pytest.mark.parametrize("held_on", [FAR_PAST, FAR_FUTURE])
async def test_a_partnership_convening_on_an_implausible_day_is_422_naming_held_on(client, world, db, held_on):
    lead = await world.f.auth(world.users["lead"])
    pid = await _partnership(client, lead, world)
    r = await client.post(f"/api/partnerships/{pid}/meetings", headers=lead, json={"held_on": held_on})
    assert _field(r) == ["held_on"]
    assert await db.scalar(select(func.count(PartnershipMeeting.id))) == 0


@pytest.mark.parametrize("due_on", [FAR_PAST, FAR_FUTURE])
async def test_a_milestone_due_on_an_implausible_day_is_422_naming_due_on(client, world, db, due_on):
    lead = await world.f.auth(world.users["lead"])
    pid = await _partnership(client, lead, world)
    team = (await client.post(f"/api/partnerships/{pid}/action-teams", headers=lead,
                              json={"name": "CDL apprenticeship"})).json()
    r = await client.post(f"/api/partnerships/{pid}/action-teams/{team['id']}/milestones", headers=lead,
                          json={"title": "First cohort", "due_on": due_on})
    assert _field(r) == ["due_on"]
    assert await db.scalar(select(func.count(Milestone.id))) == 0


async def test_the_convening_form_says_a_year_one_day_beside_the_field_and_records_nothing(client, world, db):
    lead = await world.f.auth(world.users["lead"])
    pid = await _partnership(client, lead, world)
    await login(client, world.users["lead"].email)
    await client.get(f"/partnerships/{pid}")
    r = await client.post(f"/partnerships/{pid}/meetings", headers={"HX-Request": "true", **csrf(client)},
                          data={"held_on": FAR_PAST, "agenda": "Kick-off"})
    assert r.status_code == 422 and "<html" not in r.text
    assert said_beside(r.text, "held_on", "must not be before 1 Jan 1990")
    await db.rollback()
    assert await db.scalar(select(func.count(PartnershipMeeting.id))) == 0
