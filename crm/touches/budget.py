"""Loading an employer's pacing policy and counted touch dates (the shell around crm.touches.pacing)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
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


async def load_policy(db: AsyncSession, employer_id: int, region_id: int) -> PacingPolicy:
    """The effective policy for (employer, region): the region's, tightened by the employer's preferences."""
    pacing = await db.scalar(select(EmployerPacing).where(EmployerPacing.employer_id == employer_id))
    blackouts = (await db.execute(
        select(EmployerBlackout.starts_on, EmployerBlackout.ends_on).where(EmployerBlackout.employer_id == employer_id)
    )).all()
    do_not_contact = bool(await db.scalar(select(Employer.do_not_contact).where(Employer.id == employer_id)))
    preference = PacingPreference(
        max_touches=pacing.max_touches if pacing else None,
        period_days=pacing.period_days if pacing else None,
        min_gap_days=pacing.min_gap_days if pacing else None,
        blackout=tuple((start, end) for start, end in blackouts),
        do_not_contact=do_not_contact,
    )
    return effective_policy(await region_policy(db, region_id), preference)


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
