"""`/`: each role lands on its own home page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.guards import requires_user
from crm.auth.models import Role, RoleGrant, User
from crm.auth.principal import Principal
from crm.deps import Db, Me
from crm.directory.models import Region
from crm.employers.models import Employer, EmployerStatus, SpocAssignment
from crm.touches.handoff_api import hand_offs_query
from crm.touches.models import TouchRequest
from crm.touches.routing import OPEN_REQUEST_STATUSES, RequestStatus
from crm.web import render


@get("/", guards=[requires_user], include_in_schema=False)
async def home(request: Request[Any, Any, Any], db: Db, principal: Me) -> Template | Redirect:
    role = principal.primary_role
    if role == Role.admin:
        return Redirect(path="/admin")
    if role == Role.chair:
        return Redirect(path="/chair")
    if role in (Role.lead, Role.spoc):
        # Staff work from the touch queue; its Overview tab keeps what this page used to show.
        return Redirect(path="/queue")
    return render(request, "home/partner.html", **await partner_summary(db, principal))


OUTCOME_DAYS = 30


async def partner_summary(db: AsyncSession, principal: Principal) -> dict[str, Any]:
    """The organization's open requests by status, the hand-offs waiting for its answer and its latest outcomes."""
    if principal.organization_id is None:
        return {"open_requests": {}, "pending_hand_offs": 0, "outcomes": [], "outcome_days": OUTCOME_DAYS}
    counts = dict((await db.execute(
        select(TouchRequest.status, func.count()).where(
            TouchRequest.requester_org_id == principal.organization_id,
            TouchRequest.status.in_([s.value for s in OPEN_REQUEST_STATUSES]))
        .group_by(TouchRequest.status))).all())
    pending = await db.scalar(select(func.count()).select_from(
        hand_offs_query(principal, "pending", True).order_by(None).subquery())) or 0
    # What came back lately: the organization's requests completed in the last 30 days, newest first.
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=OUTCOME_DAYS)
    outcomes = (await db.execute(
        select(TouchRequest.id, TouchRequest.purpose, TouchRequest.outcome, TouchRequest.outcome_note,
               TouchRequest.closed_at, TouchRequest.employer_id, Employer.legal_name)
        .join(Employer, Employer.id == TouchRequest.employer_id)
        .where(TouchRequest.requester_org_id == principal.organization_id,
               TouchRequest.status == RequestStatus.COMPLETED.value, TouchRequest.closed_at >= since)
        .order_by(TouchRequest.closed_at.desc(), TouchRequest.id.desc()).limit(10))).all()
    return {"open_requests": counts, "pending_hand_offs": pending, "outcomes": outcomes,
            "outcome_days": OUTCOME_DAYS}


MY_EMPLOYERS_SHOWN = 25


async def staff_overview(db: AsyncSession, principal: Principal) -> dict[str, Any]:
    """My employers (as SPOC or backup), and per lead region: employers without a SPOC and SPOC load."""
    own = (SpocAssignment.ended_at.is_(None)
           & ((SpocAssignment.spoc_id == principal.id) | (SpocAssignment.backup_spoc_id == principal.id)))
    # The most recently given first; all of them, searchable and in pages, in the directory (spoc=mine).
    mine = list(await db.execute(
        select(Employer, SpocAssignment).join(SpocAssignment, SpocAssignment.employer_id == Employer.id).where(own)
        .order_by(SpocAssignment.started_at.desc(), SpocAssignment.id.desc()).limit(MY_EMPLOYERS_SHOWN)))
    mine_count = (await db.scalar(select(func.count()).select_from(SpocAssignment).where(own)) or 0
                  if len(mine) == MY_EMPLOYERS_SHOWN else len(mine))
    overview = []
    for region_id in sorted(principal.regions_for(Role.lead)):
        region = await db.get_one(Region, region_id)
        active = select(SpocAssignment.employer_id).where(
            SpocAssignment.region_id == region_id, SpocAssignment.ended_at.is_(None))
        live = (Employer.region_id == region_id) & (Employer.status != EmployerStatus.merged)
        total = await db.scalar(select(func.count()).where(live)) or 0
        unassigned = list(await db.scalars(
            select(Employer).where(live, Employer.id.not_in(active)).order_by(Employer.name_key).limit(15)))
        unassigned_count = await db.scalar(select(func.count()).where(live, Employer.id.not_in(active))) or 0
        loads = list(await db.execute(
            select(User, func.count(SpocAssignment.id))
            .join(RoleGrant, (RoleGrant.user_id == User.id) & (RoleGrant.region_id == region_id)
                  & RoleGrant.role.in_([Role.spoc, Role.lead]))
            .outerjoin(SpocAssignment, (SpocAssignment.spoc_id == User.id) & (SpocAssignment.region_id == region_id)
                       & SpocAssignment.ended_at.is_(None))
            .group_by(User.id).order_by(User.name)))
        overview.append({"region": region, "total": total, "unassigned": unassigned,
                         "unassigned_count": unassigned_count, "loads": loads})
    return {"mine": mine, "mine_count": mine_count, "overview": overview}
