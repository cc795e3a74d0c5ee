"""Requests waiting for a person to say which employer the partner meant (status ``needs_match``).

Intake parks a request there when the typed name matched several employers about equally (SPEC
§3.1). A SPOC or lead of the request's region picks one of the candidates (or any employer by id),
or says none of them is right and creates the employer from what the partner typed; the request then
goes through the same decision as any new request — bundled, a new touch, held, or declined for
do-not-contact — or, when the partner's organization already has an open request for that employer
and purpose, it is declined as a repeat of that one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from litestar.exceptions import NotFoundException
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock
from crm.audit import service as audit
from crm.auth.principal import Principal
from crm.db import begin_write, share_keys
from crm.directory.models import Organization, Region
from crm.employers.models import Employer, EmployerStatus
from crm.employers.service import lock_employer, locked_employer
from crm.employers.zips import zip_place
from crm.errors import Conflict, FieldError
from crm.notify.service import enqueue
from crm.touches.budget import load_policy, region_key
from crm.touches.intake import OWN_REGION, employer_as_typed, employer_state
from crm.touches.models import TouchRequest
from crm.touches.release import Placing, place
from crm.touches.requests import REQUEST_AUDIT_FIELDS
from crm.touches.routing import (
    NewRequest,
    Priority,
    Purpose,
    ReleaseDecision,
    RequestStatus,
    ReturnExisting,
    decide_request,
    default_window,
)
from crm.touches.workflow import require_region_staff

CONFIRMED = Placing(action="touch_request.match", told="The employer was confirmed; your request joined",
                    spoc_subject="request(s) joined after an employer match",
                    spoc_body="request(s) whose employer was just confirmed joined")


@dataclass(frozen=True, slots=True)
class MatchRow:
    """A request waiting for its employer, with what the partner typed and the candidates intake saw."""

    id: int
    created_at: dt.datetime
    region_code: str
    requester_org: str
    requester: str
    purpose: str
    summary: str
    window_start: dt.date
    window_end: dt.date
    typed: dict[str, str]
    candidates: list[Employer]


async def waiting(db: AsyncSession, region_ids: frozenset[int] | None, limit: int = 50, *,
                  request_id: int | None = None) -> tuple[list[MatchRow], int]:
    """Requests in ``needs_match`` of these regions (all when None; only ``request_id`` when given),
    oldest first, and how many there are."""
    where = [TouchRequest.status == RequestStatus.NEEDS_MATCH.value]
    if request_id is not None:
        where.append(TouchRequest.id == request_id)
    if region_ids is not None:
        where.append(TouchRequest.region_id.in_(sorted(region_ids)))
    total = await db.scalar(select(func.count()).select_from(TouchRequest).where(*where)) or 0
    if not total:
        return [], 0
    rows = (await db.execute(
        select(TouchRequest, Region.code, Organization.name)
        .join(Region, Region.id == TouchRequest.region_id)
        .join(Organization, Organization.id == TouchRequest.requester_org_id)
        .where(*where).order_by(TouchRequest.created_at, TouchRequest.id).limit(limit))).all()
    wanted = {i for r, _, _ in rows for i in (r.candidate_ids or [])}
    found = await _current_records(db, wanted)
    return [MatchRow(r.id, r.created_at, code, org, r.requester.name, r.purpose, r.summary, r.window_start,
                     r.window_end, {k: str(v) for k, v in (r.employer_query or {}).items()},
                     _once([found[i] for i in (r.candidate_ids or []) if i in found]))
            for r, code, org in rows], int(total)


async def _current_records(db: AsyncSession, ids: set[int]) -> dict[int, Employer]:
    """Each candidate id -> its employer, or the record it was merged into since the request was made (a
    merged record offered as "this one" could only be refused)."""
    found = {e.id: e for e in await db.scalars(select(Employer).where(Employer.id.in_(ids)))} if ids else {}
    for _ in range(5):  # a merged record's survivor may itself have been merged since
        merged = {i: e.merged_into_id for i, e in found.items() if e.status == EmployerStatus.merged
                  and e.merged_into_id is not None}
        if not merged:
            break
        survivors = {e.id: e for e in await db.scalars(select(Employer).where(Employer.id.in_(set(merged.values()))))}
        found = {i: survivors.get(merged[i], e) if i in merged else e for i, e in found.items()}
    return {i: e for i, e in found.items() if e.status != EmployerStatus.merged}


def _once(employers: list[Employer]) -> list[Employer]:
    """In order, each employer once (two candidates merged into one since are one)."""
    return list({e.id: e for e in employers}.values())


async def confirm_match(db: AsyncSession, actor: Principal, request_id: int, employer_id: int | None, *,
                        now: dt.datetime) -> tuple[TouchRequest, str]:
    """Give a ``needs_match`` request its employer (``employer_id``, or None: create it from what the
    partner typed) and decide it; answers the request and what became of it (``bundled``,
    ``new_touch``, ``held``, ``declined`` or ``repeat``). The caller commits."""
    await begin_write(db)
    # The settings of the regions the request may be decided in (its own; the chosen employer's, where the
    # partner left the region to the employer), shared before any lock, as intake takes them: a lead's change
    # of their pacing policy or routing rules waits for this decision, or this one for the change.
    asked_in = await db.scalar(select(TouchRequest.region_id).where(TouchRequest.id == request_id))
    if asked_in is None:
        raise NotFoundException(f"Touch request #{request_id} not found")
    employer_in = await db.scalar(select(Employer.region_id).where(Employer.id == employer_id)) \
        if employer_id is not None else None
    shared = {asked_in} if employer_in is None else {asked_in, employer_in}
    await share_keys(db, *(region_key(r) for r in shared))
    req = await db.scalar(select(TouchRequest).where(TouchRequest.id == request_id)
                          .with_for_update(of=TouchRequest).execution_options(populate_existing=True))
    if req is None:
        raise NotFoundException(f"Touch request #{request_id} not found")
    require_region_staff(actor, req.region_id)
    if req.status != RequestStatus.NEEDS_MATCH.value:
        raise Conflict(f"Request #{req.id} is already {req.status.replace('_', ' ')}; nothing to match")
    assert req.region_id in shared  # only a match moves a request waiting for one, and it held the row
    before = audit.snapshot(req, REQUEST_AUDIT_FIELDS)
    if employer_id is None:
        # The SPOC found none of the candidates right: the employer as the partner typed it.
        typed = req.employer_query or {}
        employer = await employer_as_typed(db, actor, typed, req.region_id, await zip_place(db, typed.get("zip")))
        await db.flush()
        await lock_employer(db, employer.id)
    else:
        # Locked before it is read: a merge committed meanwhile is seen, not decided past.
        found = await locked_employer(db, employer_id)
        if found is None:
            raise FieldError("employer_id", f"employer #{employer_id} does not exist")
        if found.status == EmployerStatus.merged:
            raise FieldError("employer_id", f"employer #{employer_id} was merged into #{found.merged_into_id}; "
                                            "choose that one")
        employer = found
        if (OWN_REGION.items() <= (req.employer_query or {}).items() and found.region_id is not None
                and found.region_id != req.region_id):
            # The partner left the region to the employer: the request goes to the employer's region.
            if found.region_id not in shared:
                # Moved to another region since it was read (a merge): taking that region's settings now,
                # under the employer's lock, could deadlock with a lead changing them.
                raise Conflict(f"Employer #{employer_id} moved to another region just now: confirm the match again")
            req.region_id = found.region_id
    today = clock.local_date(now)
    window = (max(req.window_start, today), req.window_end) if req.window_end >= today else default_window(today)
    state = await employer_state(db, employer.id, now)
    decision = decide_request(
        NewRequest(requester_org_id=req.requester_org_id, employer_id=employer.id, region_id=req.region_id,
                   purpose=Purpose(req.purpose), priority=Priority(req.priority),
                   window_start=window[0], window_end=window[1]),
        state.open_requests, [t.view for t in state.open_touches.values()], state.counted,
        await load_policy(db, employer.id, req.region_id), today)
    if isinstance(decision, ReturnExisting):
        # The organization asked for this employer and purpose already: that request carries on.
        req.status, req.closed_at = RequestStatus.DECLINED.value, now
        req.decline_reason = f"Same as your organization's open request #{decision.request_id}"
        req.employer_id = employer.id
        audit.record(db, actor, "touch_request.match", "touch_request", req.id, employer_id=employer.id,
                     before=before, after=audit.snapshot(req, REQUEST_AUDIT_FIELDS), note=req.decline_reason)
        enqueue(db, req.requester.email, f"Your touch request #{req.id}: declined",
                f"{actor.name} confirmed the employer: {employer.display_name}. Your organization already has "
                f"request #{decision.request_id} open for it with the same purpose, so #{req.id} was closed.", now)
        await db.flush()
        await db.refresh(req, ["employer", "touch", "region"])
        return req, "repeat"
    # From here the request is an ordinary held one, due today: the release's writer places it.
    req.employer_id, req.status, req.release_on = employer.id, RequestStatus.HELD.value, today
    audit.record(db, actor, "touch_request.match", "touch_request", req.id, employer_id=employer.id,
                 before=before, after={"employer_id": employer.id, "employer": employer.display_name,
                                       "region_id": req.region_id})
    await db.flush()
    await db.refresh(req, ["employer"])  # loaded as None while it had none: the requester's e-mail names it
    outcome = await place(db, employer, [req], ReleaseDecision((req.id,), req.region_id, decision), now,
                          replace(CONFIRMED, actor=actor))
    if outcome == "held":
        enqueue(db, req.requester.email, f"Your touch request #{req.id}: held",
                f"{actor.name} confirmed the employer: {employer.display_name}. Its pacing budget allows the "
                f"next touch on {req.release_on:%-d %B %Y}; your request joins it then.", now)
    await db.flush()
    await db.refresh(req, ["employer", "touch", "region"])
    return req, outcome
