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

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock
from crm.auth.models import Role, User
from crm.auth.principal import Principal
from crm.directory.models import Organization, Region
from crm.employers.models import Employer
from crm.employers.panels import employer_panel
from crm.touches import budget
from crm.touches.models import Touch, TouchRequest
from crm.touches.routing import OPEN_REQUEST_STATUSES, RequestStatus, TouchStatus
from crm.touches.touch_schemas import BudgetOut, TimelineEntryOut

# An employer's history is tens of rows; this bounds a pathological one.
MAX_ROWS = 1000


@dataclass(frozen=True, slots=True)
class Budget:
    region: Region
    view: budget.BudgetView


def _full_view(viewer: Principal, region_id: int) -> bool:
    return viewer.can_in_region(region_id, Role.lead, Role.spoc)


# The timeline reads columns, not entities: an employer's history is up to MAX_ROWS rows, and
# building a TouchRequest or Touch for each (with the users, organizations and employer they
# reference) cost more than everything else the page does. Only what an entry may print is read.
_REQUEST_COLUMNS = (
    TouchRequest.id, TouchRequest.created_at, TouchRequest.status, TouchRequest.purpose, TouchRequest.region_id,
    Region.code.label("region"), TouchRequest.requester_org_id, Organization.name.label("requester_org"),
    TouchRequest.summary, TouchRequest.outcome, TouchRequest.outcome_note, TouchRequest.touch_id,
    TouchRequest.release_on,
)
# The purposes of the requests a touch carries, in the touch's own row (one statement fewer): the open
# ones and those completed on it. A withdrawn or declined request keeps its touch_id but left the touch.
_CARRIED_STATUSES = sorted(s.value for s in OPEN_REQUEST_STATUSES | {RequestStatus.COMPLETED})
_CARRIED = (select(func.aggregate_strings(TouchRequest.purpose, ","))
            .where(TouchRequest.touch_id == Touch.id, TouchRequest.status.in_(_CARRIED_STATUSES))
            .correlate(Touch).scalar_subquery())
_TOUCH_COLUMNS = (
    Touch.id, Touch.planned_on, Touch.scheduled_at, Touch.completed_at, Touch.status, Touch.region_id,
    Region.code.label("region"), Touch.channel, Touch.source, User.name.label("spoc"), Touch.notes,
    Touch.cancel_reason, _CARRIED.label("purposes"),
)


def request_entry(viewer: Principal, r: Row[Any]) -> TimelineEntryOut:
    base = TimelineEntryOut(kind="request", id=r.id, on=clock.local_date(r.created_at), at=r.created_at,
                            status=r.status, purposes=[r.purpose], region=r.region)
    if not (_full_view(viewer, r.region_id) or (viewer.organization_id is not None
                                                 and r.requester_org_id == viewer.organization_id)):
        return base
    return TimelineEntryOut(
        kind="request", id=r.id, on=base.on, at=base.at, status=r.status, purposes=base.purposes, region=base.region,
        requester_org=r.requester_org, summary=r.summary, outcome=r.outcome, outcome_note=r.outcome_note,
        touch_id=r.touch_id, release_on=r.release_on)


def touch_entry(viewer: Principal, t: Row[Any], purposes: list[str]) -> TimelineEntryOut:
    if not _full_view(viewer, t.region_id):
        # A meeting the employer attended carries no request: its source is what says what it was.
        return TimelineEntryOut(kind="touch", id=t.id, on=t.planned_on, status=t.status, purposes=purposes,
                                region=t.region, spoc=t.spoc, source="meeting" if t.source == "meeting" else None)
    # A touch completed before its appointment happened when it was completed, not at the appointment.
    at = t.completed_at if t.status == TouchStatus.COMPLETED and t.completed_at else t.scheduled_at or t.completed_at
    return TimelineEntryOut(kind="touch", id=t.id, on=t.planned_on, at=at,
                            status=t.status, purposes=purposes, region=t.region, channel=t.channel,
                            source=t.source, spoc=t.spoc, notes=t.notes, cancel_reason=t.cancel_reason)


@dataclass(frozen=True, slots=True)
class History:
    """An employer's requests and touches as the timeline reads them (newest first, at most MAX_ROWS each)."""

    requests: list[Row[*tuple[Any, ...]]]
    touches: list[Row[*tuple[Any, ...]]]
    purposes: dict[int, list[str]]  # touch id -> purposes of the requests it carries (or completed on it)

    @property
    def complete(self) -> bool:
        return len(self.touches) < MAX_ROWS


async def history(db: AsyncSession, employer_id: int) -> History:
    requests = (await db.execute(
        select(*_REQUEST_COLUMNS).join(Region, Region.id == TouchRequest.region_id)
        .join(Organization, Organization.id == TouchRequest.requester_org_id)
        .where(TouchRequest.employer_id == employer_id)
        .order_by(TouchRequest.created_at.desc()).limit(MAX_ROWS))).all()
    touches = (await db.execute(
        select(*_TOUCH_COLUMNS).join(Region, Region.id == Touch.region_id).outerjoin(User, User.id == Touch.spoc_id)
        .where(Touch.employer_id == employer_id)
        .order_by(Touch.planned_on.desc()).limit(MAX_ROWS))).all()
    # Purposes are identifiers (routing.Purpose): a comma never occurs in one.
    purposes = {t.id: sorted(set(t.purposes.split(","))) for t in touches if t.purposes}
    return History(list(requests), list(touches), purposes)


def history_entries(viewer: Principal, h: History) -> list[TimelineEntryOut]:
    """Every request and touch of the history as ``viewer`` may see them, newest first."""
    items = [request_entry(viewer, r) for r in h.requests]
    items += [touch_entry(viewer, t, h.purposes.get(t.id, [])) for t in h.touches]
    # A touch planned on the day a request arrived sorts above it: it is the later event.
    items.sort(key=lambda e: (e.on, e.kind == "touch", e.id), reverse=True)
    return items


async def entries(db: AsyncSession, viewer: Principal, employer_id: int) -> list[TimelineEntryOut]:
    """Every request and touch of the employer as ``viewer`` may see them, newest first."""
    return history_entries(viewer, await history(db, employer_id))


async def budgets(db: AsyncSession, employer: Employer, today: dt.date, h: History | None = None) -> list[Budget]:
    """Budget left in the employer's home region and every region it has touches in (read from ``h``,
    the employer's history, when it holds every touch)."""
    region_ids = {employer.region_id} if employer.region_id else set()
    counted: list[dt.date] | None = None
    if h is not None and h.complete:
        region_ids |= {t.region_id for t in h.touches}
        # SPEC §3.4: every touch counts against the budget but a cancelled one (budget.counted_dates).
        counted = sorted(t.planned_on for t in h.touches if t.status != TouchStatus.CANCELLED.value)
    else:
        region_ids |= set(await db.scalars(
            select(Touch.region_id).where(Touch.employer_id == employer.id).distinct()))
    regions = list(await db.scalars(select(Region).where(Region.id.in_(region_ids)).order_by(Region.code)))
    return [Budget(r, await budget.budget_view(db, employer.id, r.id, today, counted)) for r in regions]


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
    today = clock.today()
    h = await history(db, employer.id)
    items = history_entries(viewer, h)
    return {"template": "touches/_timeline.html", "timeline": items[:200], "timeline_total": len(items),
            "budgets": await budgets(db, employer, today, h), "timeline_employer": employer,
            "timeline_links": timeline_links(viewer, h)}


@dataclass(frozen=True, slots=True)
class Links:
    touches: frozenset[int]
    requests: frozenset[int]


def timeline_links(viewer: Principal, h: History) -> Links:
    """The touches and requests of ``h`` whose pages ``viewer`` may open: a touch's (the queue's) for staff
    of its region; a request's for them and for the organization that sent it (``requests.visible_requests``)."""
    return Links(
        touches=frozenset(t.id for t in h.touches if _full_view(viewer, t.region_id)),
        requests=frozenset(r.id for r in h.requests if _full_view(viewer, r.region_id) or (
            viewer.has(Role.partner) and viewer.organization_id is not None
            and r.requester_org_id == viewer.organization_id)))
