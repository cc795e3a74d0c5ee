"""An employer's timeline: every touch request and touch across all partners, newest first, with the
pacing budget left — and what each viewer may see of it (SPEC §1, issue 3 "Visibility").

Staff of the entry's region (and admins) see everything. Anyone else on the CRM side sees their own
organization's requests in full and, of the rest, only date, status and purpose (plus the SPOC's name
on touches): never another organization's summary, outcome notes, or the SPOC's notes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.directory.models import Region
from crm.employers.models import Employer
from crm.employers.panels import employer_panel
from crm.touches import budget
from crm.touches.models import Touch, TouchRequest
from crm.touches.touch_schemas import BudgetOut, TimelineEntryOut

# An employer's history is tens of rows; this bounds a pathological one.
MAX_ROWS = 1000


@dataclass(frozen=True, slots=True)
class Budget:
    region: Region
    view: budget.BudgetView


def _full_view(viewer: Principal, region_id: int) -> bool:
    return viewer.can_in_region(region_id, Role.lead, Role.spoc)


def request_entry(viewer: Principal, r: TouchRequest) -> TimelineEntryOut:
    base = TimelineEntryOut(kind="request", id=r.id, on=r.created_at.date(), at=r.created_at, status=r.status,
                            purposes=[r.purpose], region=r.region.code)
    if not (_full_view(viewer, r.region_id) or (viewer.organization_id is not None
                                                 and r.requester_org_id == viewer.organization_id)):
        return base
    return TimelineEntryOut(
        kind="request", id=r.id, on=base.on, at=base.at, status=r.status, purposes=base.purposes, region=base.region,
        requester_org=r.requester_org.name, summary=r.summary, outcome=r.outcome, outcome_note=r.outcome_note,
        touch_id=r.touch_id, release_on=r.release_on)


def touch_entry(viewer: Principal, t: Touch) -> TimelineEntryOut:
    purposes = sorted({r.purpose for r in t.requests})
    spoc = t.spoc.name if t.spoc else None
    if not _full_view(viewer, t.region_id):
        return TimelineEntryOut(kind="touch", id=t.id, on=t.planned_on, status=t.status, purposes=purposes,
                                region=t.region.code, spoc=spoc)
    return TimelineEntryOut(kind="touch", id=t.id, on=t.planned_on, at=t.scheduled_at or t.completed_at,
                            status=t.status, purposes=purposes, region=t.region.code, channel=t.channel,
                            source=t.source, spoc=spoc, notes=t.notes, cancel_reason=t.cancel_reason)


async def entries(db: AsyncSession, viewer: Principal, employer_id: int) -> list[TimelineEntryOut]:
    """Every request and touch of the employer as ``viewer`` may see them, newest first."""
    requests = await db.scalars(select(TouchRequest).where(TouchRequest.employer_id == employer_id)
                                .order_by(TouchRequest.created_at.desc()).limit(MAX_ROWS))
    touches = await db.scalars(select(Touch).where(Touch.employer_id == employer_id)
                               .order_by(Touch.planned_on.desc()).limit(MAX_ROWS))
    items = [request_entry(viewer, r) for r in requests] + [touch_entry(viewer, t) for t in touches]
    # A touch planned on the day a request arrived sorts above it: it is the later event.
    items.sort(key=lambda e: (e.on, e.kind == "touch", e.id), reverse=True)
    return items


async def budgets(db: AsyncSession, employer: Employer, today: dt.date) -> list[Budget]:
    """Budget left in the employer's home region and every region it has touches in."""
    region_ids = {employer.region_id} if employer.region_id else set()
    region_ids |= set(await db.scalars(select(Touch.region_id).where(Touch.employer_id == employer.id).distinct()))
    regions = list(await db.scalars(select(Region).where(Region.id.in_(region_ids)).order_by(Region.code)))
    return [Budget(r, await budget.budget_view(db, employer.id, r.id, today)) for r in regions]


def budget_out(b: Budget) -> BudgetOut:
    p = b.view.policy
    return BudgetOut(region=b.region.code, remaining=b.view.remaining, next_allowed=b.view.next_allowed,
                     max_touches=p.max_touches, period_days=p.period_days, min_gap_days=p.min_gap_days,
                     do_not_contact=p.do_not_contact)


@employer_panel(order=10)
async def timeline_panel(db: AsyncSession, viewer: Principal, employer: Employer) -> dict[str, Any] | None:
    """The employer page's timeline section."""
    if not viewer.is_crm_user:
        return None
    today = dt.datetime.now(dt.UTC).date()
    items = await entries(db, viewer, employer.id)
    return {"template": "touches/_timeline.html", "timeline": items[:200], "timeline_total": len(items),
            "budgets": await budgets(db, employer, today), "timeline_employer": employer}
