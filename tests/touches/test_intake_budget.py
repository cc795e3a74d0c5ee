"""Loading the pacing budget: region policy + employer preferences, every non-cancelled touch counts."""

import datetime as dt

from sqlalchemy import select

from crm.directory.models import Region
from crm.touches.budget import budget_view, counted_dates, load_policy
from crm.touches.models import EmployerBlackout, EmployerPacing, RegionPolicy, Touch

TODAY = dt.date(2027, 3, 1)


async def _touch(db, employer_id, region_id, day, status="completed", source="routed"):
    db.add(Touch(employer_id=employer_id, region_id=region_id, status=status, source=source,
                 window_start=day, window_end=day, planned_on=day))


async def test_region_without_policy_row_uses_default_budget(world, db):
    e = await world.f.employer("Sunrise Family Dental")
    policy = await load_policy(db, e.id, e.region_id)
    assert (policy.max_touches, policy.period_days, policy.min_gap_days, policy.do_not_contact) == (2, 30, 7, False)


async def test_employer_preferences_tighten_region_policy_and_add_blackouts(world, db):
    e = await world.f.employer("Sunrise Family Dental", do_not_contact=True)
    db.add(RegionPolicy(region_id=e.region_id, max_touches=3, period_days=20, min_gap_days=2))
    db.add(EmployerPacing(employer_id=e.id, max_touches=1, period_days=None, min_gap_days=10))
    db.add(EmployerBlackout(employer_id=e.id, starts_on=TODAY, ends_on=TODAY + dt.timedelta(days=3)))
    await db.commit()
    policy = await load_policy(db, e.id, e.region_id)
    assert (policy.max_touches, policy.period_days, policy.min_gap_days) == (1, 20, 10)
    assert policy.blackout == ((TODAY, TODAY + dt.timedelta(days=3)),)
    assert policy.do_not_contact is True


async def test_every_touch_but_cancelled_counts_in_every_region(world, db):
    e = await world.f.employer("Sunrise Family Dental")
    bay = (await db.scalars(select(Region.id).where(Region.code == "BAY-PENINSULA"))).one()
    await _touch(db, e.id, e.region_id, TODAY, status="completed", source="logged")
    await _touch(db, e.id, bay, TODAY + dt.timedelta(days=8), status="queued")
    await _touch(db, e.id, e.region_id, TODAY + dt.timedelta(days=9), status="cancelled")
    await _touch(db, e.id, e.region_id, TODAY + dt.timedelta(days=20), status="scheduled", source="meeting")
    await db.commit()
    assert await counted_dates(db, e.id) == [TODAY, TODAY + dt.timedelta(days=8), TODAY + dt.timedelta(days=20)]


async def test_budget_view_reports_remaining_and_next_allowed_day(world, db):
    e = await world.f.employer("Sunrise Family Dental")
    await _touch(db, e.id, e.region_id, TODAY - dt.timedelta(days=10))
    await _touch(db, e.id, e.region_id, TODAY - dt.timedelta(days=2))
    await db.commit()
    view = await budget_view(db, e.id, e.region_id, TODAY)
    assert view.remaining == 0
    # Two touches in the 30 days ending today: the first frees its slot 30 days after it.
    assert view.next_allowed == TODAY - dt.timedelta(days=10) + dt.timedelta(days=30)
    assert len(view.counted) == 2
