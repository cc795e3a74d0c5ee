"""Touch requests as partners and staff see them: visibility, the decision in plain words, withdrawal."""

from __future__ import annotations

import datetime as dt

from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit import service as audit
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.db import begin_write
from crm.errors import Conflict, FieldError
from crm.touches.models import Touch, TouchRequest
from crm.touches.request_schemas import SpocRef, TouchRequestOut
from crm.touches.routing import RequestStatus, RoutingError, TouchStatus, transition_request

REQUEST_AUDIT_FIELDS = ("status", "touch_id", "release_on", "window_start", "window_end", "outcome",
                        "decline_reason", "employer_id")


def human_date(day: dt.date) -> str:
    """3 March 2027 — the way the pages and notifications write dates."""
    return f"{day.day} {day:%B %Y}"


def _spoc_phrase(touch: Touch) -> str:
    if touch.spoc is not None:
        return f"with {touch.spoc.name}"
    return f"in the {touch.region.code} unassigned queue"


async def touch_openers(db: AsyncSession, reqs: list[TouchRequest]) -> dict[int, int]:
    """touch id → id of the request that opened it (its first request); later ones were bundled."""
    touch_ids = sorted({r.touch_id for r in reqs if r.touch_id is not None})
    if not touch_ids:
        return {}
    rows = await db.execute(select(TouchRequest.touch_id, func.min(TouchRequest.id))
                            .where(TouchRequest.touch_id.in_(touch_ids)).group_by(TouchRequest.touch_id))
    return {touch_id: first for touch_id, first in rows.tuples() if touch_id is not None}


def decision_message(req: TouchRequest, openers: dict[int, int] | None = None) -> str:
    """What happened to the request, in the words the partner reads."""
    status = req.status
    touch = req.touch
    if status in (RequestStatus.QUEUED, RequestStatus.SCHEDULED) and touch is not None:
        first = (openers or {}).get(touch.id, req.id)
        verb = "Queued as" if first == req.id else "Bundled into"
        when = "scheduled for" if touch.status == TouchStatus.SCHEDULED else "planned for"
        return f"{verb} touch #{touch.id} {_spoc_phrase(touch)}, {when} {human_date(touch.planned_on)}"
    if status == RequestStatus.HELD and req.release_on is not None:
        return (f"Held until {human_date(req.release_on)}: the employer's contact budget is used up until then; "
                "it will join the first touch made then")
    if status == RequestStatus.NEEDS_MATCH:
        return "Needs a match: a SPOC will confirm which employer you meant"
    if status == RequestStatus.COMPLETED:
        return f"Completed: {(req.outcome or 'done').replace('_', ' ')}"
    if status == RequestStatus.DECLINED:
        return f"Declined: {req.decline_reason or 'no reason given'}"
    if status == RequestStatus.WITHDRAWN:
        return "Withdrawn"
    return status.replace("_", " ").capitalize()


async def request_outs(db: AsyncSession, reqs: list[TouchRequest]) -> list[TouchRequestOut]:
    openers = await touch_openers(db, reqs)
    return [request_out(r, openers) for r in reqs]


async def request_out_of(db: AsyncSession, req: TouchRequest) -> TouchRequestOut:
    return request_out(req, await touch_openers(db, [req]))


def request_out(req: TouchRequest, openers: dict[int, int]) -> TouchRequestOut:
    touch = req.touch
    spoc = SpocRef(id=touch.spoc.id, name=touch.spoc.name) if touch is not None and touch.spoc else None
    return TouchRequestOut(
        id=req.id, status=req.status, touch_id=req.touch_id, employer_id=req.employer_id, spoc=spoc,
        planned_date=touch.planned_on if touch is not None else None, release_on=req.release_on,
        decision=decision_message(req, openers),
        employer_name=req.employer.display_name if req.employer is not None else _query_name(req),
        region=req.region.code, purpose=req.purpose, priority=req.priority, summary=req.summary,
        window_start=req.window_start, window_end=req.window_end, requester=req.requester.name,
        requester_org=req.requester_org.name, outcome=req.outcome, outcome_note=req.outcome_note,
        created_at=req.created_at,
    )


def _query_name(req: TouchRequest) -> str | None:
    query = req.employer_query or {}
    name = query.get("name") or query.get("website") or query.get("fein")
    return str(name) if name else None


def visible_requests(principal: Principal) -> Select[tuple[TouchRequest]]:
    """Requests the principal may read in full: its organization's (partners), its regions' (staff)."""
    stmt = select(TouchRequest)
    if principal.is_admin:
        return stmt
    conditions = []
    if principal.has(Role.partner) and principal.organization_id is not None:
        conditions.append(TouchRequest.requester_org_id == principal.organization_id)
    regions = principal.regions_for(Role.lead, Role.spoc)
    if regions:
        conditions.append(TouchRequest.region_id.in_(sorted(regions)))
    return stmt.where(or_(*conditions)) if conditions else stmt.where(False)  # noqa: FBT003


async def list_requests(db: AsyncSession, principal: Principal, *, status: str | None = None,
                        employer_id: int | None = None, limit: int = 25,
                        offset: int = 0) -> tuple[list[TouchRequest], int]:
    stmt = visible_requests(principal)
    if status is not None:
        if status not in {s.value for s in RequestStatus}:
            raise FieldError("status", f"must be one of {', '.join(s.value for s in RequestStatus)}")
        stmt = stmt.where(TouchRequest.status == status)
    if employer_id is not None:
        stmt = stmt.where(TouchRequest.employer_id == employer_id)
    total = await db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = await db.scalars(stmt.order_by(TouchRequest.created_at.desc(), TouchRequest.id.desc())
                            .limit(limit).offset(offset))
    return list(rows.unique()), total


async def get_request(db: AsyncSession, principal: Principal, request_id: int) -> TouchRequest:
    """The request if the principal may read it; otherwise 404, so other organizations' ids leak nothing."""
    req = await db.scalar(visible_requests(principal).where(TouchRequest.id == request_id))
    if req is None:
        raise NotFoundException(f"No touch request #{request_id}")
    return req


async def withdraw_request(db: AsyncSession, principal: Principal, request_id: int, now: dt.datetime,
                           reason: str | None = None) -> TouchRequest:
    """The requesting organization takes its request back; a queued touch left with no request is cancelled."""
    await begin_write(db)
    req = await get_request(db, principal, request_id)
    if not (principal.is_admin or (principal.has(Role.partner) and principal.organization_id == req.requester_org_id)):
        raise PermissionDeniedException("Only the requesting organization may withdraw its request")
    if req.employer_id is not None and db.get_bind().dialect.name == "postgresql":
        # Same lock as intake: the touch this request leaves must not be joined meanwhile.
        from crm.touches.intake import lock_employer

        await lock_employer(db, req.employer_id)
        await db.refresh(req)
    try:
        new_status = transition_request(RequestStatus(req.status), "withdraw")
    except RoutingError as exc:
        raise Conflict(f"This request is {req.status} and can no longer be withdrawn") from exc
    before = audit.snapshot(req, REQUEST_AUDIT_FIELDS)
    req.status = new_status.value
    req.closed_at = now
    note = (reason or "").strip() or None
    audit.record(db, principal, "touch_request.withdraw", "touch_request", req.id, employer_id=req.employer_id,
                 before=before, after=audit.snapshot(req, REQUEST_AUDIT_FIELDS), note=note)
    touch = req.touch
    if touch is not None and touch.status == TouchStatus.QUEUED and touch.source == "routed":
        open_left = await db.scalar(select(func.count(TouchRequest.id)).where(
            TouchRequest.touch_id == touch.id, TouchRequest.id != req.id,
            TouchRequest.status.in_([RequestStatus.QUEUED.value, RequestStatus.SCHEDULED.value])))
        if not open_left:
            # Nobody wants this contact any more: cancelling gives its slot back to the pacing budget.
            touch.status = TouchStatus.CANCELLED.value
            touch.cancelled_at = now
            touch.cancel_reason = "every bundled request was withdrawn"
            audit.record(db, principal, "touch.cancel", "touch", touch.id, employer_id=touch.employer_id,
                         before={"status": "queued"}, after={"status": "cancelled"}, note=touch.cancel_reason)
    await db.flush()
    return req
