"""Touch requests as partners and staff see them: visibility, the decision in plain words, withdrawal."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from typing import Any

from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import Select, bindparam, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from crm import clock
from crm.audit import service as audit
from crm.auth.models import Role, User
from crm.auth.principal import Principal
from crm.db import begin_write
from crm.directory.models import Organization, Region
from crm.employers.models import Employer
from crm.errors import Conflict, FieldError
from crm.templating import days, words
from crm.touches.models import Touch, TouchRequest
from crm.touches.request_schemas import SpocRef, TouchRequestOut
from crm.touches.routing import OPEN_REQUEST_STATUSES, RequestStatus, RoutingError, TouchStatus, transition_request

REQUEST_AUDIT_FIELDS = ("status", "touch_id", "release_on", "window_start", "window_end", "outcome",
                        "decline_reason", "employer_id")


def human_date(day: dt.date) -> str:
    """3 March 2027 — the way the pages and notifications write dates."""
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True, slots=True)
class TouchRef:
    """What a request's answer says about its touch."""

    id: int
    status: str
    planned_on: dt.date
    spoc_id: int | None
    spoc_name: str | None
    region_code: str | None  # needed only when there is no SPOC ("it waits in X's unassigned queue")
    scheduled_at: dt.datetime | None = None  # the appointment, said with its time ("… at 10:00")


def employer_display_name(legal_name: str, dba: str | None) -> str:
    """``Employer.display_name`` from the two columns, for answers built without loading the row."""
    return f"{legal_name} (dba {dba})" if dba else legal_name


async def touch_openers(db: AsyncSession, reqs: list[TouchRequest]) -> dict[int, int]:
    """touch id → id of the request that opened it (its first request); later ones were bundled."""
    touch_ids = sorted({r.touch_id for r in reqs if r.touch_id is not None})
    if not touch_ids:
        return {}
    rows = await db.execute(select(TouchRequest.touch_id, func.min(TouchRequest.id))
                            .where(TouchRequest.touch_id.in_(touch_ids)).group_by(TouchRequest.touch_id))
    return {touch_id: first for touch_id, first in rows if touch_id is not None}


BUDGET_USED = "the employer's contact budget is used up"
BUDGET_HOLD = f"{BUDGET_USED} until then"
BLACKOUT_HOLD = "the employer asked not to be contacted on the days you asked for"
# The same reason as staff (and partners other than the requester) read it: nobody there asked for those days.
BLACKOUT_HOLD_NEUTRAL = "the employer asked not to be contacted on the days requested"
# A hold after a cancelled touch quotes the SPOC's reason: only its requester and the region's staff read it.
_CANCELLED_HOLD = re.compile(r"touch #\d+ was cancelled \(")


def _gap(min_gap_days: int) -> str:
    return f"contacts must be at least {days(min_gap_days)} apart (the minimum gap between contacts)"


def hold_words(limits: Collection[str], min_gap_days: int) -> str | None:
    """Why a request is held, from the pacing limits that kept a touch off every day it asked for
    (``pacing.blocking_limits``); None when it is the budget (``describe``'s default words)."""
    if set(limits) == {"blackout"}:
        return BLACKOUT_HOLD
    if "min_gap" in limits:
        if "budget" in limits:
            return f"the employer's contact budget is used up and its {_gap(min_gap_days)}"
        return f"the employer's {_gap(min_gap_days)}"
    return None


def cancelled_hold(touch_id: int, reason: str) -> str:
    """The hold reason of a request whose touch a SPOC cancelled (``reason``: the SPOC's words)."""
    return f"touch #{touch_id} was cancelled ({reason})"


def staff_hold_reason(hold_reason: str | None) -> str | None:
    """A stored hold reason as someone other than the requester reads it: no "the days you asked for"."""
    return BLACKOUT_HOLD_NEUTRAL if hold_reason == BLACKOUT_HOLD else hold_reason


def public_hold_reason(hold_reason: str | None) -> str:
    """Why a request is held, in words any partner may read: a cancelled touch's reason is the SPOC's note, and
    only the reasons intake words itself (``hold_words``: all about "the employer") are shown, without "you"."""
    if hold_reason is None:
        return BUDGET_USED
    if _CANCELLED_HOLD.match(hold_reason):
        return "the touch it was on was cancelled"
    if not hold_reason.startswith("the employer"):
        return "held by the region's staff"
    return BLACKOUT_HOLD_NEUTRAL if hold_reason == BLACKOUT_HOLD else hold_reason


# An open touch's day has passed and nobody recorded it done: the SPOC's queue flags it "overdue" too.
OVERDUE = " (overdue: not yet recorded as done)"


def describe(status: str, touch: TouchRef | None, *, opened_touch: bool, release_on: dt.date | None = None,
             decline_reason: str | None = None, window_end: dt.date | None = None,
             hold_reason: str | None = None, to_requester: bool = True, today: dt.date | None = None) -> str:
    """What happened to a request, in the words the partner reads (``opened_touch``: it was the touch's first),
    or, not ``to_requester``, as staff read it: no "you", and no advice meant for the requester. With ``today``
    (California's), a touch still open after its day says it is overdue."""
    if status in (RequestStatus.QUEUED, RequestStatus.SCHEDULED) and touch is not None:
        where = f"with {touch.spoc_name}" if touch.spoc_id is not None else \
            f"(no SPOC yet: it waits in {touch.region_code}'s unassigned queue)"
        late = OVERDUE if today is not None and touch.planned_on < today else ""
        at = f" at {clock.local(touch.scheduled_at):%H:%M}" \
            if touch.status == TouchStatus.SCHEDULED and touch.scheduled_at is not None else ""
        if touch.status == TouchStatus.SCHEDULED and opened_touch:
            # Not "Queued as …, scheduled for": once the SPOC has set the day, the request is no longer queued.
            return f"Scheduled: touch #{touch.id} {where} on {human_date(touch.planned_on)}{at}{late}"
        verb = "Queued as" if opened_touch else "Bundled into"
        when = "scheduled for" if touch.status == TouchStatus.SCHEDULED else "planned for"
        return f"{verb} touch #{touch.id} {where}, {when} {human_date(touch.planned_on)}{at}{late}"
    if status == RequestStatus.HELD and release_on is not None:
        late = "" if window_end is None or release_on <= window_end else (
            f" — after the last day you asked for ({human_date(window_end)}): withdraw it if that is too late"
            if to_requester else f" — after the last day asked for ({human_date(window_end)})")
        why = (hold_reason if to_requester else staff_hold_reason(hold_reason)) or BUDGET_HOLD
        return f"Held until {human_date(release_on)}: {why}; it will join the first touch made then{late}"
    if status == RequestStatus.NEEDS_MATCH:
        return f"Needs a match: a SPOC will confirm which employer {'you' if to_requester else 'the requester'} meant"
    if status == RequestStatus.COMPLETED:
        # The outcome has a column and a badge of its own beside this: here who made the contact, and when.
        if touch is None:
            return "Completed"
        by = f" by {touch.spoc_name}" if touch.spoc_name else ""
        return f"Completed{by} on {human_date(touch.planned_on)}, touch #{touch.id}"
    if status == RequestStatus.DECLINED:
        return f"Declined: {decline_reason or 'no reason given'}"
    if status == RequestStatus.WITHDRAWN:
        return "Withdrawn"
    return status.replace("_", " ").capitalize()


def touch_ref(touch: Touch) -> TouchRef:
    return TouchRef(id=touch.id, status=touch.status, planned_on=touch.planned_on,
                    spoc_id=touch.spoc.id if touch.spoc is not None else None,
                    spoc_name=touch.spoc.name if touch.spoc is not None else None,
                    region_code=touch.region.code if touch.spoc is None else None, scheduled_at=touch.scheduled_at)


def decision_message(req: TouchRequest, openers: dict[int, int] | None = None, to_requester: bool = True) -> str:
    """What happened to the request, in the words the partner reads (or staff, not ``to_requester``)."""
    touch = req.touch
    first = (openers or {}).get(touch.id, req.id) if touch is not None else req.id
    return describe(req.status, touch_ref(touch) if touch is not None else None, opened_touch=first == req.id,
                    release_on=req.release_on, decline_reason=req.decline_reason,
                    window_end=req.window_end, hold_reason=req.hold_reason, to_requester=to_requester,
                    today=clock.today())


async def request_outs(db: AsyncSession, reqs: list[TouchRequest]) -> list[TouchRequestOut]:
    openers = await touch_openers(db, reqs)
    return [request_out(r, openers) for r in reqs]


async def request_out_of(db: AsyncSession, req: TouchRequest, to_requester: bool = True) -> TouchRequestOut:
    return request_out(req, await touch_openers(db, [req]), to_requester)


def request_out(req: TouchRequest, openers: dict[int, int], to_requester: bool = True) -> TouchRequestOut:
    touch = req.touch
    spoc = SpocRef(id=touch.spoc.id, name=touch.spoc.name) if touch is not None and touch.spoc else None
    return TouchRequestOut(
        id=req.id, status=req.status, touch_id=req.touch_id, employer_id=req.employer_id, spoc=spoc,
        planned_date=touch.planned_on if touch is not None else None, release_on=req.release_on,
        decision=decision_message(req, openers, to_requester),
        employer_name=req.employer.display_name if req.employer is not None else _query_name(req),
        region=req.region.code, purpose=req.purpose, priority=req.priority, summary=req.summary,
        window_start=req.window_start, window_end=req.window_end, requester=req.requester.name,
        requester_org=req.requester_org.name, outcome=req.outcome, outcome_note=req.outcome_note,
        created_at=req.created_at,
    )


@cache
def _request_out_stmt() -> Select[*tuple[Any, ...]]:
    """Everything one request's answer shows, joined (built once: building costs more than running)."""
    spoc, requester = aliased(User), aliased(User)
    touch_region, region = aliased(Region), aliased(Region)
    later = aliased(TouchRequest)
    opener = select(func.min(later.id)).where(later.touch_id == TouchRequest.touch_id).scalar_subquery()
    return (select(TouchRequest.id, TouchRequest.status, TouchRequest.touch_id, TouchRequest.employer_id,
                   TouchRequest.release_on, TouchRequest.purpose, TouchRequest.priority, TouchRequest.summary,
                   TouchRequest.window_start, TouchRequest.window_end, TouchRequest.outcome,
                   TouchRequest.outcome_note, TouchRequest.decline_reason, TouchRequest.hold_reason,
                   TouchRequest.employer_query,
                   TouchRequest.created_at, Touch.status.label("touch_status"), Touch.planned_on, Touch.spoc_id,
                   Touch.scheduled_at,
                   spoc.name.label("spoc_name"), touch_region.code.label("touch_region"), Employer.legal_name,
                   Employer.dba, region.code.label("region"), requester.name.label("requester"),
                   Organization.name.label("requester_org"), opener.label("opener"))
            .select_from(TouchRequest)
            .join(region, region.id == TouchRequest.region_id)
            .join(requester, requester.id == TouchRequest.requester_id)
            .join(Organization, Organization.id == TouchRequest.requester_org_id)
            .outerjoin(Employer, Employer.id == TouchRequest.employer_id)
            .outerjoin(Touch, Touch.id == TouchRequest.touch_id)
            .outerjoin(touch_region, touch_region.id == Touch.region_id)
            .outerjoin(spoc, spoc.id == Touch.spoc_id)
            .where(TouchRequest.id == bindparam("request_id")))


async def request_out_by_id(db: AsyncSession, request_id: int) -> TouchRequestOut:
    """One request's answer in one statement (the request, its touch, SPOC, employer, names joined)."""
    row = (await db.execute(_request_out_stmt(), {"request_id": request_id})).one()
    touch = TouchRef(row.touch_id, row.touch_status, row.planned_on, row.spoc_id, row.spoc_name,
                     row.touch_region, row.scheduled_at) if row.touch_id is not None else None
    query = row.employer_query or {}
    query_name = query.get("name") or query.get("website") or query.get("fein")
    return TouchRequestOut(
        id=row.id, status=row.status, touch_id=row.touch_id, employer_id=row.employer_id,
        spoc=SpocRef(id=row.spoc_id, name=row.spoc_name) if touch is not None and row.spoc_id is not None else None,
        planned_date=row.planned_on if touch is not None else None, release_on=row.release_on,
        decision=describe(row.status, touch, opened_touch=row.opener == row.id, release_on=row.release_on,
                          decline_reason=row.decline_reason, window_end=row.window_end,
                          hold_reason=row.hold_reason, today=clock.today()),
        employer_name=employer_display_name(row.legal_name, row.dba) if row.employer_id is not None
        else (str(query_name) if query_name else None),
        region=row.region, purpose=row.purpose, priority=row.priority, summary=row.summary,
        window_start=row.window_start, window_end=row.window_end, requester=row.requester,
        requester_org=row.requester_org, outcome=row.outcome, outcome_note=row.outcome_note,
        created_at=row.created_at)


def _query_name(req: TouchRequest) -> str | None:
    query = req.employer_query or {}
    name = query.get("name") or query.get("website") or query.get("fein")
    return str(name) if name else None


def visible_requests(principal: Principal) -> Select[TouchRequest]:
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
    return stmt.where(or_(*conditions)) if conditions else stmt.where(false())


async def list_requests(db: AsyncSession, principal: Principal, *, status: str | None = None,
                        employer_id: int | None = None, limit: int = 25,
                        offset: int = 0) -> tuple[list[TouchRequest], int]:
    stmt = visible_requests(principal)
    if status == "open":  # every request not closed yet: needing a match, held, queued, scheduled
        stmt = stmt.where(TouchRequest.status.in_(sorted(s.value for s in OPEN_REQUEST_STATUSES)))
    elif status is not None:
        if status not in {s.value for s in RequestStatus}:
            raise FieldError("status", f"must be open or one of {', '.join(s.value for s in RequestStatus)}")
        stmt = stmt.where(TouchRequest.status == status)
    if employer_id is not None:
        stmt = stmt.where(TouchRequest.employer_id == employer_id)
    total = await db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = await db.scalars(stmt.order_by(TouchRequest.created_at.desc(), TouchRequest.id.desc())
                            .limit(limit).offset(offset))
    return list(rows.unique()), total


async def request_counts(db: AsyncSession, principal: Principal) -> dict[str, int]:
    """How many requests the principal may read are in each status (one statement), and ``open`` in all."""
    counted = dict((await db.execute(visible_requests(principal).with_only_columns(
        TouchRequest.status, func.count(TouchRequest.id)).group_by(TouchRequest.status))).all())
    return {"open": sum(n for status, n in counted.items() if status in OPEN_REQUEST_STATUSES), **counted}


async def get_request(db: AsyncSession, principal: Principal, request_id: int) -> TouchRequest:
    """The request if the principal may read it; otherwise 404, so other organizations' ids leak nothing."""
    req = await db.scalar(visible_requests(principal).where(TouchRequest.id == request_id))
    if req is None:
        raise NotFoundException(f"No touch request #{request_id}")
    return req


def acts_for_requester(principal: Principal, requester_org_id: int) -> bool:
    """Whether ``principal`` speaks for the organization that sent a request: one of its partners (staff
    who work for it too read the request as staff, and do not withdraw it)."""
    return principal.has(Role.partner) and principal.organization_id == requester_org_id


def may_withdraw(principal: Principal, req: TouchRequest) -> bool:
    """The requesting organization's partners may take their request back while it is open (and admins)."""
    return ((principal.is_admin or acts_for_requester(principal, req.requester_org_id))
            and req.status in {s.value for s in OPEN_REQUEST_STATUSES})


async def withdraw_request(db: AsyncSession, principal: Principal, request_id: int, now: dt.datetime,
                           reason: str | None = None) -> TouchRequest:
    """The requesting organization takes its request back; a queued touch left with no request is cancelled."""
    await begin_write(db)
    req = await get_request(db, principal, request_id)
    if not (principal.is_admin or acts_for_requester(principal, req.requester_org_id)):
        raise PermissionDeniedException("Only the requesting organization's partners may withdraw its request")
    if req.employer_id is not None and db.get_bind().dialect.name == "postgresql":
        # Same lock as intake: the touch this request leaves must not be joined meanwhile.
        from crm.employers.service import lock_employer_of

        await lock_employer_of(db, lambda: db.scalar(select(TouchRequest.employer_id)
                                                     .where(TouchRequest.id == request_id)))
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
        windows = (await db.execute(select(TouchRequest.window_start, TouchRequest.window_end).where(
            TouchRequest.touch_id == touch.id, TouchRequest.id != req.id,
            TouchRequest.status.in_([RequestStatus.QUEUED.value, RequestStatus.SCHEDULED.value])))).all()
        if windows:
            # Each request that joined narrowed the touch's window to what every one of them allows; the
            # ones left may allow more again (its planned day, inside the old window, stays). Never back
            # into days already past; a later bundle still re-paces through the routing core.
            floor = min(touch.window_start, clock.local_date(now))
            widened = (max(floor, *(w.window_start for w in windows)), min(w.window_end for w in windows))
            if widened != (touch.window_start, touch.window_end):
                audit.record(db, principal, "touch.window", "touch", touch.id, employer_id=touch.employer_id,
                             before={"window": [touch.window_start.isoformat(), touch.window_end.isoformat()]},
                             after={"window": [widened[0].isoformat(), widened[1].isoformat()]},
                             note=f"request #{req.id} withdrawn")
                touch.window_start, touch.window_end = widened
        else:
            # Nobody wants this contact any more: cancelling gives its slot back to the pacing budget.
            touch.status = TouchStatus.CANCELLED.value
            touch.cancelled_at = now
            touch.cancel_reason = "every bundled request was withdrawn"
            audit.record(db, principal, "touch.cancel", "touch", touch.id, employer_id=touch.employer_id,
                         before={"status": "queued"}, after={"status": "cancelled"}, note=touch.cancel_reason)
    elif touch is not None and touch.status == TouchStatus.SCHEDULED and touch.spoc_id is not None:
        # An appointment is booked: only its SPOC can call it off, so they are told.
        await _tell_spoc_of_withdrawal(db, principal, req, touch, now)
    await db.flush()
    return req


async def _tell_spoc_of_withdrawal(db: AsyncSession, principal: Principal, req: TouchRequest, touch: Touch,
                                   now: dt.datetime) -> None:
    from crm.touches.workflow import notify  # workflow imports this module

    left = await db.scalar(select(func.count(TouchRequest.id)).where(
        TouchRequest.touch_id == touch.id, TouchRequest.id != req.id,
        TouchRequest.status.in_([RequestStatus.QUEUED.value, RequestStatus.SCHEDULED.value])))
    found = (await db.execute(select(User.email, Employer.legal_name).where(
        User.id == touch.spoc_id, Employer.id == touch.employer_id))).first()
    when = human_date(touch.planned_on)
    rest = (f"{left} other request(s) still ride on it." if left else
            "No request rides on it any more: cancel it to give the employer's pacing budget its slot back, "
            "or keep it as your own contact.")
    if found is not None:
        spoc_email, employer = found
        notify(db, spoc_email, f"Request #{req.id} withdrawn from your touch #{touch.id} with {employer}",
               f"{principal.name} withdrew request #{req.id} ({words(req.purpose)}) from touch #{touch.id} with "
               f"{employer}, scheduled for {when}. {rest}", now)
