"""SPOC routing shell: assigned → backup when away → routing rule (least loaded, sticky) → unassigned."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import delete, func, select, text, update

from crm.audit.models import AuditEvent
from crm.auth.models import RoleGrant, User
from crm.auth.service import lock_user
from crm.employers.models import RoutingRule, SpocAssignment
from crm.errors import FieldError
from crm.touches.assign import eligible_spoc, route_spoc
from crm.touches.models import Touch
from tests.factories import login

TODAY = dt.date(2026, 11, 22)


async def _route(sessionmaker, employer, region_id):
    async with sessionmaker() as db, db.begin():
        return await route_spoc(db, employer, region_id, None)


async def _rule(sessionmaker, region_id, pool, naics_prefix=None, county_id=None, priority=100):
    async with sessionmaker() as db, db.begin():
        users = list(await db.scalars(select(User).where(User.id.in_([u.id for u in pool]))))
        rule = RoutingRule(region_id=region_id, naics_prefix=naics_prefix, county_id=county_id,
                           priority=priority, pool=users)
        db.add(rule)
    return rule


async def _open_touches(sessionmaker, employer, region_id, spoc, n):
    async with sessionmaker() as db, db.begin():
        for _ in range(n):
            db.add(Touch(employer_id=employer.id, region_id=region_id, spoc_id=spoc.id, window_start=TODAY,
                         window_end=TODAY, planned_on=TODAY))


async def _set_away(db, user):
    await db.execute(update(User).where(User.id == user.id).values(away=True))
    await db.commit()


async def test_active_assignment_spoc_gets_the_touch(world, sessionmaker):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    assert await _route(sessionmaker, e, e.region_id) == world.users["spoc"].id


async def test_away_spoc_hands_the_touch_to_the_backup(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"], backup_spoc_id=world.users["spoc2"].id)
    await _set_away(db, world.users["spoc"])
    assert await _route(sessionmaker, e, e.region_id) == world.users["spoc2"].id


async def test_away_spoc_without_backup_falls_to_a_rule_and_keeps_the_assignment(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")
    await world.f.assign(e, world.users["spoc"])
    await _rule(sessionmaker, e.region_id, [world.users["spoc2"]])
    await _set_away(db, world.users["spoc"])
    assert await _route(sessionmaker, e, e.region_id) == world.users["spoc2"].id
    spocs = (await db.scalars(select(SpocAssignment.spoc_id).where(SpocAssignment.ended_at.is_(None)))).all()
    assert spocs == [world.users["spoc"].id]


async def test_rule_picks_least_loaded_spoc_and_makes_it_sticky_with_audit(world, sessionmaker, db):
    e = await world.f.employer("Precision Machining Co", naics_code="332710")
    other = await world.f.employer("Busy Employer")
    await _open_touches(sessionmaker, other, e.region_id, world.users["spoc"], 2)
    rule = await _rule(sessionmaker, e.region_id, [world.users["spoc"], world.users["spoc2"]], naics_prefix="33")
    assert await _route(sessionmaker, e, e.region_id) == world.users["spoc2"].id
    a = (await db.scalars(select(SpocAssignment).where(SpocAssignment.employer_id == e.id))).one()
    assert (a.spoc_id, a.ended_at, a.reason) == (world.users["spoc2"].id, None, f"routing rule #{rule.id}")
    event = (await db.scalars(select(AuditEvent).where(AuditEvent.employer_id == e.id))).one()
    assert event.action == "spoc.assign" and event.note == f"routing rule #{rule.id}"


async def test_rule_assignment_is_sticky_when_loads_change(world, sessionmaker, db):
    e = await world.f.employer("Precision Machining Co", naics_code="332710")
    await _rule(sessionmaker, e.region_id, [world.users["spoc"], world.users["spoc2"]])
    first = await _route(sessionmaker, e, e.region_id)
    assert first == world.users["spoc"].id  # equal load: lowest id
    await _open_touches(sessionmaker, e, e.region_id, world.users["spoc"], 3)
    assert await _route(sessionmaker, e, e.region_id) == first
    assert await db.scalar(select(func.count(SpocAssignment.id))) == 1


async def test_rule_matching_county_but_not_sector_is_skipped(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental", naics_code="621210")
    await _rule(sessionmaker, e.region_id, [world.users["spoc"]], naics_prefix="33", county_id=e.county_id)
    county_rule = await _rule(sessionmaker, e.region_id, [world.users["spoc2"]], county_id=e.county_id)
    assert await _route(sessionmaker, e, e.region_id) == world.users["spoc2"].id
    assert (await db.scalars(select(SpocAssignment.reason))).one() == f"routing rule #{county_rule.id}"


async def test_pool_member_away_or_from_another_region_is_not_picked(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")
    await _rule(sessionmaker, e.region_id, [world.users["spoc"], world.users["bay_spoc"]])
    await _set_away(db, world.users["spoc"])
    assert await _route(sessionmaker, e, e.region_id) is None


async def test_no_assignment_and_no_rule_leaves_the_touch_unassigned(world, sessionmaker, db):
    e = await world.f.employer("Sunrise Family Dental")
    assert await _route(sessionmaker, e, e.region_id) is None
    assert await db.scalar(select(func.count(SpocAssignment.id))) == 0


async def test_a_users_lock_holds_up_their_eligibility_but_not_rows_naming_them(world, sessionmaker, is_pg):
    """``lock_user`` (an admin's change of roles or activation, marking away) makes ``eligible_spoc`` wait and
    then decide on what it committed; it never holds up a row that merely names the user (a touch routed to
    them, inserted under its employer's lock, which the holder may go on to wait for: away's take-back)."""
    if not is_pg:
        pytest.skip("SQLite has no row locks: its database write lock serializes writers whole")
    spoc = world.users["spoc"]
    la = await world.f.region("LA-BASIN")
    employer = await world.f.employer()
    async with sessionmaker() as holder, sessionmaker() as other, sessionmaker() as assigning:
        await lock_user(holder, spoc.id)
        await other.execute(text("SET LOCAL lock_timeout = '2s'"))
        other.add(Touch(employer_id=employer.id, region_id=la.id, spoc_id=spoc.id, window_start=TODAY,
                        window_end=TODAY, planned_on=TODAY))
        await other.flush()  # its foreign key's share lock on the user is not held up
        await other.rollback()
        waiting = asyncio.ensure_future(eligible_spoc(assigning, spoc.id, la.id))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await holder.execute(delete(RoleGrant).where(RoleGrant.user_id == spoc.id))
        await holder.commit()
        with pytest.raises(FieldError, match="not an active SPOC or lead"):
            await waiting


async def test_the_employer_page_names_whom_a_routing_rule_gives_its_next_request_assigning_no_one(
        world, sessionmaker, client, db):
    e = await world.f.employer("Anderson Garden Center", naics_code="444240")
    await login(client, world.users["partner"].email)  # partners read whom to expect as well
    assert "requests go to the region's unassigned queue" in (await client.get(f"/employers/{e.id}")).text
    await _rule(sessionmaker, e.region_id, [world.users["spoc2"]], naics_prefix="44")
    page = (await client.get(f"/employers/{e.id}")).text
    assert "give its next request to <strong>Sam Ortiz</strong>, who then becomes its SPOC" in page
    assert "unassigned queue" not in page
    assert await db.scalar(select(func.count()).select_from(SpocAssignment)
                           .where(SpocAssignment.employer_id == e.id)) == 0  # the page assigned no one
    assert await _route(sessionmaker, e, e.region_id) == world.users["spoc2"].id  # as a request then is
