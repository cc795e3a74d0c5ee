"""Loading an employer's pacing policy and counted touch dates (the shell around crm.touches.pacing)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.employers.models import Employer
from crm.touches.models import EmployerBlackout, EmployerPacing, RegionPolicy, Touch
from crm.touches.routing import (
    HOLD_HORIZON_DAYS,
    PacingPolicy,
    PacingPreference,
    TouchStatus,
    earliest_allowed_date,
    effective_policy,
    remaining_budget,
)


def region_key(region_id: int) -> str:
    """The advisory lock of a region's pacing policy and routing rules: a lead's change holds it alone
    (``crm.db.lock_keys``, crm.touches.policy), an intake shared before it locks its employer
    (``crm.db.share_keys``), so no intake decides on settings that change under it. So does every other
    writer that decides requests into touches -- the held-request job, a lead's early release, an employer's
    changed preferences (``release.share_held_regions``), a match confirmation (``crm.touches.match``).
    Lock order: region settings, then users, then employers."""
    return f"region-settings:{region_id}"


@dataclass(frozen=True, slots=True)
class BudgetView:
    """What pages and the API show about an employer's pacing budget."""

    policy: PacingPolicy
    remaining: int
    next_allowed: dt.date | None
    counted: list[dt.date]


async def region_policy(db: AsyncSession, region_id: int) -> PacingPolicy:
    """The region's pacing policy; SPEC §3.4 defaults (2 per 30 days, 7 days apart) when none is set."""
    row = await db.scalar(select(RegionPolicy).where(RegionPolicy.region_id == region_id))
    if row is None:
        return PacingPolicy()
    return PacingPolicy(max_touches=row.max_touches, period_days=row.period_days, min_gap_days=row.min_gap_days)


@cache
def _policy_stmt() -> Select[*tuple[Any, ...]]:
    # Built once (statement construction costs more than running it); ``load_policy`` explains it.
    e, rp, ep, b = Employer.__table__.c, RegionPolicy.__table__.c, EmployerPacing.__table__.c, \
        EmployerBlackout.__table__.c
    return (select(e.do_not_contact, rp.max_touches, rp.period_days, rp.min_gap_days, rp.id.label("region_policy"),
                   ep.max_touches.label("own_max_touches"), ep.period_days.label("own_period_days"),
                   ep.min_gap_days.label("own_min_gap_days"), b.starts_on, b.ends_on)
            .select_from(Employer.__table__
                         .outerjoin(RegionPolicy.__table__, rp.region_id == bindparam("region_id"))
                         .outerjoin(EmployerPacing.__table__, ep.employer_id == e.id)
                         .outerjoin(EmployerBlackout.__table__, b.employer_id == e.id))
            .where(e.id == bindparam("employer_id"))
            .order_by(b.id))


async def load_policy(db: AsyncSession, employer_id: int, region_id: int) -> PacingPolicy:
    """The effective policy for (employer, region): the region's, tightened by the employer's preferences.

    One statement: the employer's do-not-contact flag with the region's policy, the employer's
    pacing preference and its blackouts outer-joined (one row per blackout; each of the others
    has at most one row).
    """
    conn = await db.connection()
    rows = (await conn.execute(_policy_stmt(), {"employer_id": employer_id, "region_id": region_id})).all()
    if not rows:  # no such employer: the region's policy alone
        return effective_policy(await region_policy(db, region_id), PacingPreference())
    first = rows[0]
    region = PacingPolicy() if first.region_policy is None else PacingPolicy(
        max_touches=first.max_touches, period_days=first.period_days, min_gap_days=first.min_gap_days)
    preference = PacingPreference(
        max_touches=first.own_max_touches,
        period_days=first.own_period_days,
        min_gap_days=first.own_min_gap_days,
        blackout=tuple((r.starts_on, r.ends_on) for r in rows if r.starts_on is not None),
        do_not_contact=bool(first.do_not_contact),
    )
    return effective_policy(region, preference)


async def counted_dates(db: AsyncSession, employer_id: int) -> list[dt.date]:
    """Dates of every touch that counts against the employer's budget: all regions, sources and channels.

    SPEC §3.4: "every touch counts" — routed, logged and meeting touches alike; only cancelled
    ones give their slot back.
    """
    rows = await db.scalars(
        select(Touch.planned_on).where(Touch.employer_id == employer_id, Touch.status != TouchStatus.CANCELLED.value)
        .order_by(Touch.planned_on)
    )
    return list(rows)


async def budget_view(db: AsyncSession, employer_id: int, region_id: int, today: dt.date,
                      counted: list[dt.date] | None = None) -> BudgetView:
    """Policy, touches left today, the next day a new touch would be allowed, and the counted dates
    (``counted``: the caller's, if it already read every touch of the employer)."""
    policy = await load_policy(db, employer_id, region_id)
    counted = await counted_dates(db, employer_id) if counted is None else counted
    return BudgetView(
        policy=policy,
        remaining=remaining_budget(policy, counted, today),
        next_allowed=earliest_allowed_date(policy, counted, today, today + dt.timedelta(days=HOLD_HORIZON_DAYS)),
        counted=counted,
    )
