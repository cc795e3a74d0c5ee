"""Employer timeline: every request and touch across partners and regions, newest first, with budget left."""

from __future__ import annotations

import datetime as dt

from crm.touches import timeline
from crm.touches.models import RegionPolicy
from tests.touches.conftest import today


async def _principal(sessionmaker, user):
    from sqlalchemy.orm import selectinload

    from crm.auth.models import User
    from crm.auth.principal import Principal

    async with sessionmaker() as db:
        return Principal.from_user(await db.get(User, user.id, options=[selectinload(User.grants)]))


async def test_entries_are_newest_first_across_requests_and_touches(world, desk, sessionmaker):
    e = await world.f.employer("Golden State Logistics")
    old = await desk.touch(e, world.users["spoc"], status="completed", planned_in=-20)
    upcoming = await desk.touch(e, world.users["spoc"], planned_in=6)
    req = await desk.request(upcoming, world.users["partner"])  # created today
    viewer = await _principal(sessionmaker, world.users["spoc"])
    async with sessionmaker() as db:
        items = await timeline.entries(db, viewer, e.id)
    assert [(i.kind, i.id) for i in items] == [("touch", upcoming.id), ("request", req.id), ("touch", old.id)]


async def test_budget_counts_touches_of_every_region_against_each_regions_policy(world, desk, sessionmaker):
    e = await world.f.employer("Golden State Logistics")
    await desk.touch(e, world.users["bay_spoc"], status="completed", planned_in=-1, region="BAY-PENINSULA")
    async with sessionmaker() as db, db.begin():
        db.add(RegionPolicy(region_id=e.region_id, max_touches=4, period_days=30, min_gap_days=0))
    async with sessionmaker() as db:
        budgets = {b.region.code: b.view for b in await timeline.budgets(db, e, today())}
    assert budgets["LA-BASIN"].remaining == 3 and budgets["LA-BASIN"].next_allowed == today()
    assert budgets["BAY-PENINSULA"].remaining == 1
    assert budgets["BAY-PENINSULA"].next_allowed == today() + dt.timedelta(days=6)


async def test_the_employer_page_says_why_another_regions_budget_is_shown(world, desk, client):
    from tests.factories import login

    e = await world.f.employer("Golden State Logistics")
    await login(client, world.users["partner"].email)
    assert 'data-budget="elsewhere"' not in (await client.get(f"/employers/{e.id}")).text  # home region only
    await desk.touch(e, world.users["bay_spoc"], status="completed", planned_in=-1, region="BAY-PENINSULA")
    tiles = (await client.get(f"/employers/{e.id}")).text.split('id="budget"', 1)[1].split("</div>\n  </div>", 1)[0]
    assert tiles.count('data-budget="elsewhere"') == 1
    assert "Not its home region: its touches made in BAY-PENINSULA" in tiles


async def test_staff_of_another_region_see_that_regions_entries_like_a_partner(world, desk, sessionmaker):
    e = await world.f.employer("Golden State Logistics")
    t = await desk.touch(e, world.users["spoc"], status="completed", planned_in=-2, notes="staff-only notes")
    await desk.request(t, world.users["partner"], summary="college plan", status="completed")
    viewer = await _principal(sessionmaker, world.users["bay_spoc"])
    async with sessionmaker() as db:
        items = await timeline.entries(db, viewer, e.id)
    assert all(i.notes is None and i.summary is None for i in items)
    assert {i.kind for i in items} == {"touch", "request"}


async def test_touch_lists_purposes_of_requests_it_carries_or_completed_not_of_those_that_left(
        world, desk, sessionmaker):
    e = await world.f.employer("Golden State Logistics")
    upcoming = await desk.touch(e, world.users["spoc"], planned_in=6)
    await desk.request(upcoming, world.users["partner"], purpose="hiring")
    await desk.request(upcoming, world.users["partner2"], purpose="event", status="withdrawn")
    done = await desk.touch(e, world.users["spoc"], status="completed", planned_in=-5)
    await desk.request(done, world.users["partner"], purpose="apprenticeship", status="completed")
    await desk.request(done, world.users["partner2"], purpose="training_upskilling", status="declined")
    viewer = await _principal(sessionmaker, world.users["spoc"])
    async with sessionmaker() as db:
        items = await timeline.entries(db, viewer, e.id)
    purposes = {i.id: i.purposes for i in items if i.kind == "touch"}
    assert purposes == {upcoming.id: ["hiring"], done.id: ["apprenticeship"]}


async def test_a_touch_completed_before_its_appointment_is_shown_when_it_happened(world, desk, sessionmaker):
    """Reached on the phone on Monday ahead of Friday's visit: the entry is Monday's, not Friday 10:00."""
    e = await world.f.employer("Golden State Logistics")
    done = dt.datetime.now(dt.UTC).replace(microsecond=0)
    friday = done + dt.timedelta(days=4)
    t = await desk.touch(e, world.users["spoc"], status="completed", planned_in=0, scheduled_at=friday,
                         completed_at=done)
    viewer = await _principal(sessionmaker, world.users["spoc"])
    async with sessionmaker() as db:
        entry = next(i for i in await timeline.entries(db, viewer, e.id) if i.id == t.id)
    assert entry.at == done


async def test_only_a_held_request_says_until_when(client, world, desk):
    """A withdrawn request that had been held read "withdrawn until 14 Dec"."""
    from tests.factories import login

    e = await world.f.employer("Golden State Logistics")
    await desk.request(None, world.users["partner"], employer=e, status="withdrawn", release_in=12)
    await desk.request(None, world.users["partner2"], employer=e, purpose="event", release_in=9)
    await login(client, world.users["spoc"].email)
    rows = (await client.get(f"/employers/{e.id}")).text.split('id="timeline"', 1)[1].split("</table>", 1)[0]
    withdrawn, held = rows.split("withdrawn", 1)[1].split("</tr>", 1)[0], rows.split(">held", 1)[1].split("</tr>", 1)[0]
    assert "until" not in withdrawn and "until" in held


async def test_timeline_rows_link_to_the_pages_their_reader_may_open(client, world, desk):
    from tests.factories import login

    e = await world.f.employer("Golden State Logistics")
    t = await desk.touch(e, world.users["spoc"], planned_in=4)
    mine = await desk.request(t, world.users["partner"])
    theirs = await desk.request(t, world.users["partner2"], purpose="event")

    async def table(email: str) -> str:
        await login(client, email)
        return (await client.get(f"/employers/{e.id}")).text.split('id="timeline"', 1)[1].split("</table>", 1)[0]

    staff = await table(world.users["spoc"].email)
    assert 'class="grid compact stack"' in staff and 'data-label="Details"' in staff  # stacked on a phone
    assert all(f'href="{path}"' in staff for path in (f"/queue/touches/{t.id}", f"/requests/{mine.id}",
                                                       f"/requests/{theirs.id}"))
    partner = await table(world.users["partner"].email)
    assert f'href="/requests/{mine.id}"' in partner
    assert f'href="/requests/{theirs.id}"' not in partner and "/queue/touches/" not in partner
    elsewhere = await table(world.users["bay_spoc"].email)  # staff of another region read it as a partner would
    assert "/queue/touches/" not in elsewhere and "/requests/" not in elsewhere
