"""The held-requests job: release requests whose budget has freed, bundling them into one touch.

Runs from the scheduler (every process; ``run_claimed`` lets one run each slot) and locks each
employer exactly as intake does, so a release and a partner's request for the same employer
are decided one after the other. Like intake, it first holds the settings of the regions it decides
in (``budget.region_key``, shared), so a lead's change of a region's pacing policy or routing rules
waits for it, or it for the change. Rerunning it the same day changes nothing: released requests
are no longer held, and requests still over budget keep (or move) their release date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from litestar.exceptions import PermissionDeniedException
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock
from crm.audit import service as audit
from crm.auth.models import Role, User
from crm.auth.principal import Principal
from crm.db import begin_write, share_keys
from crm.employers.models import Employer
from crm.employers.service import lock_employer, lock_employer_of
from crm.errors import Conflict, FieldError
from crm.notify.service import enqueue, page_link
from crm.templating import words
from crm.touches.assign import route_spoc
from crm.touches.budget import load_policy, region_key
from crm.touches.intake import TOUCH_AUDIT_FIELDS, employer_state, override_touch
from crm.touches.models import Touch, TouchRequest
from crm.touches.requests import REQUEST_AUDIT_FIELDS, get_request, human_date
from crm.touches.routing import (
    Bundle,
    HeldRequestView,
    Hold,
    NewTouch,
    Priority,
    Refuse,
    RefuseReason,
    ReleaseDecision,
    RequestStatus,
    TouchStatus,
    release_held,
    release_window,
)
from crm.touches.touch_schemas import HeldRecheck


async def share_held_regions(db: AsyncSession, *where: ColumnElement[bool]) -> frozenset[int]:
    """Hold shared (``crm.db.share_keys``) the settings of every region with held requests that ``where``
    selects, and answer those regions. Call before locking any employer (the lock order is region
    settings, users, employers: ``crm.touches.policy._lock_region`` holds a region's key alone, then locks
    employers): a release decided in one of them waits for a lead's change of its pacing policy or routing
    rules, or the change waits for it -- never a touch opened, unassigned or under the old policy, behind
    the back of that change's recheck."""
    regions = frozenset(await db.scalars(select(TouchRequest.region_id).where(
        TouchRequest.status == RequestStatus.HELD.value, *where).distinct()))
    await share_keys(db, *(region_key(r) for r in regions))
    return regions


async def due_employer_ids(db: AsyncSession, today: dt.date) -> list[int]:
    rows = await db.scalars(select(TouchRequest.employer_id).where(
        TouchRequest.status == RequestStatus.HELD.value, TouchRequest.release_on <= today,
        TouchRequest.employer_id.is_not(None)).distinct())
    return sorted(i for i in rows if i is not None)


def _group_order(group: list[TouchRequest]) -> tuple[bool, dt.date, int]:
    # Same precedence as routing.release_held: time-sensitive first, then longest waiting.
    return (all(r.priority != Priority.TIME_SENSITIVE for r in group),
            min(r.release_on or dt.date.max for r in group), min(r.id for r in group))


async def _notify(db: AsyncSession, reqs: list[TouchRequest], text: str, now: dt.datetime) -> None:
    for req in reqs:
        enqueue(db, req.requester.email, f"Your touch request #{req.id}: {req.status.replace('_', ' ')}",
                f"{text}\n\nEmployer: {req.employer.display_name if req.employer else ''}\n"
                f"Purpose: {words(req.purpose)}" + page_link(f"/requests/{req.id}"), now)


@dataclass(frozen=True, slots=True)
class Placing:
    """Who places requests on a touch and how the requesters and the SPOC are told: the release job
    (no actor), or a SPOC confirming a request's employer (``crm.touches.match``)."""

    actor: Principal | None = None
    action: str = "touch_request.release"
    told: str = "Released from hold into"  # + " touch #N with <SPOC>, planned for <date>."
    spoc_subject: str = "held request(s) released"
    spoc_body: str = "request(s) waiting for the pacing budget joined"
    override: str | None = None  # a lead's reason for placing them despite the pacing budget (audited)


RELEASE = Placing()


async def _attach(db: AsyncSession, touch: Touch, reqs: list[TouchRequest], employer: Employer,
                  now: dt.datetime, how: Placing) -> None:
    status = RequestStatus.SCHEDULED if touch.status == TouchStatus.SCHEDULED else RequestStatus.QUEUED
    for req in reqs:
        before = audit.snapshot(req, REQUEST_AUDIT_FIELDS)
        req.status, req.touch_id, req.release_on, req.hold_reason = status.value, touch.id, None, None
        audit.record(db, how.actor, how.action, "touch_request", req.id, employer_id=employer.id,
                     before=before, after=audit.snapshot(req, REQUEST_AUDIT_FIELDS))
    await db.flush()
    spoc = await db.get(User, touch.spoc_id) if touch.spoc_id is not None else None
    with_whom = f"with {spoc.name}" if spoc else "in the region's unassigned queue"
    await _notify(db, reqs, f"{how.told} touch #{touch.id} {with_whom}, planned for "
                            f"{human_date(touch.planned_on)}.", now)
    if spoc is not None and (how.actor is None or spoc.id != how.actor.id):
        one = len(reqs) == 1  # "1 held request released", "2 held requests released"
        subject, body = (text.replace("request(s)", "request" if one else "requests")
                         for text in (how.spoc_subject, how.spoc_body))
        enqueue(db, spoc.email, f"Touch #{touch.id} with {employer.display_name}: {len(reqs)} {subject}",
                f"{len(reqs)} {body} touch #{touch.id}, planned for {human_date(touch.planned_on)}."
                + page_link(f"/queue/touches/{touch.id}"), now)


async def place(db: AsyncSession, employer: Employer, reqs: list[TouchRequest], result: ReleaseDecision,
                now: dt.datetime, how: Placing = RELEASE) -> str:
    """Write one release decision for ``reqs`` (held, ``release_on`` set): join or open a touch, hold
    them (to the decision's date) or decline them; audited, requesters told."""
    actor = how.actor
    decision = result.decision
    if isinstance(decision, Bundle):
        touch = await db.get_one(Touch, decision.touch_id)
        before = audit.snapshot(touch, TOUCH_AUDIT_FIELDS)
        touch.window_start, touch.window_end = decision.new_window
        touch.planned_on = decision.planned_date
        changed_before, changed_after = audit.diff(before, audit.snapshot(touch, TOUCH_AUDIT_FIELDS))
        audit.record(db, actor, "touch.bundle", "touch", touch.id, employer_id=employer.id,
                     before=changed_before or None, after={**changed_after, "released": list(result.request_ids)})
        await _attach(db, touch, reqs, employer, now, how)
        return "bundled"
    if isinstance(decision, NewTouch):
        spoc_id = await route_spoc(db, employer, result.region_id, actor, now=now)
        touch = Touch(employer_id=employer.id, region_id=result.region_id, spoc_id=spoc_id, status="queued",
                      source="routed", window_start=decision.window[0], window_end=decision.window[1],
                      planned_on=decision.planned_date, override_reason=how.override,
                      created_by_id=actor.id if actor else None)
        db.add(touch)
        await db.flush()
        audit.record(db, actor, "touch.override" if how.override else "touch.create", "touch", touch.id,
                     employer_id=employer.id, note=how.override,
                     after={**audit.snapshot(touch, TOUCH_AUDIT_FIELDS), "released": list(result.request_ids)})
        await _attach(db, touch, reqs, employer, now, how)
        return "new_touch"
    if isinstance(decision, Hold):
        for req in reqs:
            if req.release_on != decision.release_on:
                before = audit.snapshot(req, REQUEST_AUDIT_FIELDS)
                req.release_on, req.hold_reason = decision.release_on, None  # held by the budget now
                audit.record(db, actor, "touch_request.hold", "touch_request", req.id, employer_id=employer.id,
                             before=before, after=audit.snapshot(req, REQUEST_AUDIT_FIELDS))
        return "held"
    assert isinstance(decision, Refuse)
    reason = ("the employer asked not to be contacted" if decision.reason == RefuseReason.DO_NOT_CONTACT
              else "the employer's pacing budget allows no touch within a year")
    for req in reqs:
        before = audit.snapshot(req, REQUEST_AUDIT_FIELDS)
        req.status, req.decline_reason, req.closed_at, req.release_on = (
            RequestStatus.DECLINED.value, reason, now, None)
        audit.record(db, actor, "touch_request.decline", "touch_request", req.id, employer_id=employer.id,
                     before=before, after=audit.snapshot(req, REQUEST_AUDIT_FIELDS), note=reason)
    await _notify(db, reqs, f"Declined: {reason}.", now)
    return "declined"


async def release_employer(db: AsyncSession, employer_id: int, today: dt.date, now: dt.datetime,
                           regions: frozenset[int] | None = None) -> list[str]:
    """Release one employer's due held requests, one region group at a time (the budget is shared).
    ``regions``: those whose settings the caller already holds (``share_held_regions``, before any
    employer's lock); None: this employer's are taken here."""
    if regions is None:
        regions = await share_held_regions(db, TouchRequest.employer_id == employer_id,
                                           TouchRequest.release_on <= today)
    await lock_employer(db, employer_id)
    held = list(await db.scalars(select(TouchRequest).where(
        TouchRequest.employer_id == employer_id, TouchRequest.status == RequestStatus.HELD.value,
        TouchRequest.release_on <= today).order_by(TouchRequest.id)))
    return await _decide_again(db, employer_id, held, today, now, regions=regions)


async def _decide_again(db: AsyncSession, employer_id: int, held: list[TouchRequest], today: dt.date,
                        now: dt.datetime, how: Placing = RELEASE, *, regions: frozenset[int]) -> list[str]:
    """Decide ``held`` (the employer's, under its lock) as if due today: released into a touch where the
    pacing allows it now, else held to the earliest day it does (or declined). Only the requests of
    ``regions``, whose settings the caller holds (``share_held_regions``, or a lead's change alone)."""
    employer = await db.get_one(Employer, employer_id)
    groups: dict[int, list[TouchRequest]] = {}
    for req in held:
        if req.region_id not in regions:
            # Held in a region whose settings this transaction does not hold (moved there after they were
            # taken: a merge, a confirmed match): taking them now, under the employer's lock, could deadlock
            # with a lead's change. It stays held and due; the next run releases it.
            continue
        groups.setdefault(req.region_id, []).append(req)
    outcomes = []
    for group in sorted(groups.values(), key=_group_order):
        region_id = group[0].region_id
        # Reloaded per group: the previous group's touch counts against this one's budget.
        state = await employer_state(db, employer_id, now)
        views = [HeldRequestView(id=r.id, employer_id=employer_id, region_id=region_id,
                                 release_on=min(r.release_on or today, today), priority=Priority(r.priority),
                                 window_start=r.window_start, window_end=r.window_end) for r in group]
        results = release_held(views, [t.view for t in state.open_touches.values()], state.counted,
                               await load_policy(db, employer_id, region_id), today)
        for result in results:
            chosen = [r for r in group if r.id in set(result.request_ids)]
            outcomes.append(await place(db, employer, chosen, result, now, how))
        await db.flush()
    return outcomes


def held_by_pacing(hold_reason: str | None) -> bool:
    """Whether a held request waits for the pacing rules (the budget, the gap, blackout dates: intake's
    words all begin "the employer"), not for a date a SPOC chose when cancelling its touch."""
    return hold_reason is None or hold_reason.startswith("the employer")


async def recheck_held(db: AsyncSession, now: dt.datetime, why: str, *, region_id: int | None = None,
                       employer_id: int | None = None, regions: frozenset[int] | None = None) -> HeldRecheck:
    """After the pacing rules changed (a region's policy, an employer's preferences), decide again the
    requests they hold: released now where the new rules allow it, else held to their new earliest day,
    each requester told. The caller holds the write lock (SQLite) or its own locks first (PostgreSQL): the
    settings of ``region_id`` alone (a lead's change), or of ``regions`` shared (``share_held_regions``,
    taken before the employer's lock); employers are locked one by one in id order, as the release job does."""
    if regions is None:
        assert region_id is not None, "recheck_held needs the region(s) whose settings the caller holds"
        regions = frozenset({region_id})
    where = [TouchRequest.status == RequestStatus.HELD.value, TouchRequest.employer_id.is_not(None)]
    if region_id is not None:
        where.append(TouchRequest.region_id == region_id)
    if employer_id is not None:
        where.append(TouchRequest.employer_id == employer_id)
    ids = sorted({i for i, reason in (await db.execute(select(TouchRequest.employer_id, TouchRequest.hold_reason)
                                                       .where(*where))).all()
                  if i is not None and held_by_pacing(reason)})
    how = Placing(told=f"{why}: released from hold into", spoc_subject="held request(s) released",
                  spoc_body=f"request(s) released when {why} joined")
    today = clock.local_date(now)
    done = HeldRecheck()
    for eid in ids:
        await lock_employer(db, eid)
        held = [r for r in await db.scalars(select(TouchRequest).where(*where, TouchRequest.employer_id == eid)
                                            .order_by(TouchRequest.id).execution_options(populate_existing=True))
                if held_by_pacing(r.hold_reason)]
        dates = {r.id: r.release_on for r in held}
        await _decide_again(db, eid, held, today, now, how, regions=regions)
        for req in held:
            if req.status == RequestStatus.DECLINED.value:
                done.declined += 1
            elif req.status != RequestStatus.HELD.value:
                done.released += 1
            elif req.release_on and req.release_on != dates[req.id]:
                done.moved += 1
                await _notify(db, [req], f"{why}: your request is now held until {human_date(req.release_on)}.",
                              now)
    return done


async def release_due_requests(db: AsyncSession, now: dt.datetime) -> str:
    """Scheduler job: release every held request due by ``now``'s date."""
    if not db.in_transaction():
        # Called outside the scheduler (whose run_claimed already holds the write turn): on SQLite,
        # take the write lock before the first read (crm.db.begin_write).
        await begin_write(db)
    today = clock.local_date(now)
    # Every due region's settings at once, before the first employer's lock (region settings come first).
    regions = await share_held_regions(db, TouchRequest.release_on <= today, TouchRequest.employer_id.is_not(None))
    counts: dict[str, int] = {}
    for employer_id in await due_employer_ids(db, today):
        for outcome in await release_employer(db, employer_id, today, now, regions):
            counts[outcome] = counts.get(outcome, 0) + 1
    return " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing due"


async def release_now(db: AsyncSession, actor: Principal, request_id: int, reason: str,
                      now: dt.datetime) -> TouchRequest:
    """A lead releases a held request before its date (SPEC §3.4: a lead may override the pacing budget,
    with a reason, audited): it joins an open touch that can take it, or a new one opened despite the
    budget and the gap -- never on the employer's blackout days, never when it asked not to be contacted."""
    reason = reason.strip()
    if not reason:
        raise FieldError("reason", "is required: an early release is audited and the requester is told why")
    await begin_write(db)
    req = await get_request(db, actor, request_id)
    if not actor.can_in_region(req.region_id, Role.lead):
        raise PermissionDeniedException("Only a lead of this request's region may release it early")
    if req.employer_id is None:
        raise Conflict(f"Request #{req.id} has no employer yet: confirm its match first")
    # Its region's settings first, shared (as intake: region settings, then the employer), so a lead's change
    # of the pacing policy or routing rules does not decide past the touch this may open.
    await share_keys(db, region_key(req.region_id))
    # Under the employer's lock: the job or another lead may have released it, a merge moved it.
    await lock_employer_of(db, lambda: db.scalar(select(TouchRequest.employer_id).where(TouchRequest.id == req.id)))
    await db.refresh(req)
    if req.status != RequestStatus.HELD:
        raise Conflict(f"Request #{req.id} is {req.status.replace('_', ' ')}, not held")
    today = clock.local_date(now)
    employer = await db.get_one(Employer, req.employer_id)
    state = await employer_state(db, employer.id, now)
    policy = await load_policy(db, employer.id, req.region_id)
    view = HeldRequestView(id=req.id, employer_id=employer.id, region_id=req.region_id, release_on=today,
                           priority=Priority(req.priority), window_start=req.window_start, window_end=req.window_end)
    result = release_held([view], [t.view for t in state.open_touches.values()], state.counted, policy, today)[0]
    decision = result.decision
    overridden = isinstance(decision, Hold | Refuse)  # released today, the budget would not have allowed it
    if overridden:
        try:
            decision = override_touch(decision, release_window([view], today), policy)
        except FieldError:
            raise Conflict("Every day this request asks for is in the employer's blackout dates: it cannot be "
                           "released into them") from None
    how = Placing(actor=actor, action="touch_request.release", told=f"Released early by {actor.name} into",
                  spoc_body=f"request(s) released early by {actor.name} joined",
                  override=reason if overridden else None)
    await place(db, employer, [req], ReleaseDecision(result.request_ids, result.region_id, decision), now, how)
    audit.record(db, actor, "touch_request.override", "touch_request", req.id, employer_id=employer.id, note=reason)
    await db.flush()
    return req
