"""What an employer merge does to the loser's open touch requests and open touches.

- of two open touch requests that would duplicate each other (same organization and purpose, the
  open-request unique index), the one further along is kept (scheduled, queued, held, needs a match),
  the survivor's when both are as far, and the other is withdrawn with a note naming the kept one:
  a loser's request on a scheduled visit is not given up for the survivor's held one;
- open touches: the employer gets one agenda per region (SPEC §3), so an open touch of the loser in
  a region where the survivor has one is combined into it -- its open requests move onto the kept
  touch (the one with an appointment, else the survivor's), whose window narrows to what every
  request allows, and the other is cancelled saying so -- when the kept touch's day suits them all.
  Two appointments, or a day that does not suit, stay apart for a lead to combine (counted as
  ``to_combine``). A queued touch of the loser left alone goes to the survivor's SPOC of its region.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db import metadata
from crm.employers.merge_log import MergeLog, update_row
from crm.touches.routing import OPEN_REQUEST_STATUSES, OPEN_TOUCH_STATUSES, RequestStatus, TouchStatus

_OPEN_REQUESTS = sorted(s.value for s in OPEN_REQUEST_STATUSES)
_OPEN_TOUCHES = sorted(s.value for s in OPEN_TOUCH_STATUSES)


# How far an open request has come: of two duplicates, the one further along is kept (a scheduled visit's
# request over one held for weeks), the survivor's when they are as far.
_PROGRESS = {RequestStatus.SCHEDULED.value: 0, RequestStatus.QUEUED.value: 1, RequestStatus.HELD.value: 2,
             RequestStatus.NEEDS_MATCH.value: 3}


async def withdraw_duplicate_requests(db: AsyncSession, log: MergeLog, loser_id: int, survivor_id: int,
                                      now: dt.datetime) -> None:
    t = metadata.tables["touch_request"]
    columns = (t.c.id, t.c.requester_org_id, t.c.purpose, t.c.status)
    open_survivor = {(r.requester_org_id, r.purpose): r for r in (await db.execute(
        select(*columns).where(t.c.employer_id == survivor_id, t.c.status.in_(_OPEN_REQUESTS)))).all()}
    rows = (await db.execute(select(*columns).where(
        t.c.employer_id == loser_id, t.c.status.in_(_OPEN_REQUESTS)))).all()
    for row in rows:
        theirs = open_survivor.get((row.requester_org_id, row.purpose))
        if theirs is None:
            continue
        gone, kept = (theirs, row) if _PROGRESS.get(row.status, 9) < _PROGRESS.get(theirs.status, 9) else (row, theirs)
        await update_row(db, log, t, {"id": gone.id}, {
            "status": RequestStatus.WITHDRAWN.value, "closed_at": now,
            "outcome_note": f"Withdrawn by merge: employer #{loser_id} is #{survivor_id}, "
                            f"where the same request is open as #{kept.id}"})
        log.count(t.name, "withdrawn", 1)


@dataclass(frozen=True, slots=True)
class _OpenTouch:
    id: int
    employer_id: int
    region_id: int
    status: str
    window_start: dt.date
    window_end: dt.date
    planned_on: dt.date
    spoc_id: int | None


async def combine_open_touches(db: AsyncSession, log: MergeLog, loser_id: int, survivor_id: int,
                               now: dt.datetime) -> dict[str, str]:
    """Combine the loser's open touches into the survivor's, region by region (module docstring).

    Answers {cancelled touch id: "into #kept id"}, for the merge's audit event ("#26: into #27").
    """
    t, r, a = (metadata.tables[n] for n in ("touch", "touch_request", "spoc_assignment"))
    touches = [_OpenTouch(*row) for row in await db.execute(
        select(t.c.id, t.c.employer_id, t.c.region_id, t.c.status, t.c.window_start, t.c.window_end,
               t.c.planned_on, t.c.spoc_id)
        .where(t.c.employer_id.in_([loser_id, survivor_id]), t.c.status.in_(_OPEN_TOUCHES))
        .order_by(t.c.planned_on, t.c.id))]
    if not any(x.employer_id == loser_id for x in touches):
        return {}
    open_requests: dict[int, list[Any]] = {}
    for req in await db.execute(select(r.c.id, r.c.touch_id, r.c.window_start, r.c.window_end).where(
            r.c.touch_id.in_([x.id for x in touches]), r.c.status.in_(_OPEN_REQUESTS)).order_by(r.c.id)):
        open_requests.setdefault(req.touch_id, []).append(req)
    # After _end_duplicate_assignments: where both had a SPOC, the survivor's is the active one.
    spocs = {region_id: spoc_id for region_id, spoc_id in await db.execute(select(a.c.region_id, a.c.spoc_id).where(
        a.c.employer_id == survivor_id, a.c.ended_at.is_(None)))}
    theirs: dict[int, list[_OpenTouch]] = {}
    for x in touches:
        if x.employer_id == survivor_id:
            theirs.setdefault(x.region_id, []).append(x)
    combined: dict[str, str] = {}
    for lost in (x for x in touches if x.employer_id == loser_id):
        region = theirs.setdefault(lost.region_id, [])
        found = next(filter(None, (_combination(lost, other, open_requests) for other in region)), None)
        if found is None:
            if region:
                log.count(t.name, "to_combine", 1)
            spoc = spocs.get(lost.region_id)
            if lost.status == TouchStatus.QUEUED and spoc is not None and spoc != lost.spoc_id:
                await update_row(db, log, t, {"id": lost.id}, {"spoc_id": spoc})
                log.count(t.name, "reassigned", 1)
            continue
        kept, gone = found
        request_status = (RequestStatus.SCHEDULED if kept.status == TouchStatus.SCHEDULED
                          else RequestStatus.QUEUED).value
        moving = open_requests.pop(gone.id, [])
        for req in moving:
            await update_row(db, log, r, {"id": req.id}, {"touch_id": kept.id, "status": request_status})
        open_requests.setdefault(kept.id, []).extend(moving)
        await update_row(db, log, t, {"id": kept.id}, {"window_start": kept.window_start,
                                                        "window_end": kept.window_end})
        await update_row(db, log, t, {"id": gone.id}, {
            "status": TouchStatus.CANCELLED.value, "cancelled_at": now,
            "cancel_reason": f"combined into touch #{kept.id} when employer #{loser_id} was merged into "
                             f"#{survivor_id}"})
        log.count(t.name, "combined", 1)
        combined[str(gone.id)] = f"into #{kept.id}"
        # From here on the kept touch, with its narrowed window, is the region's open touch.
        region[:] = [kept, *(x for x in region if x.id not in (kept.id, gone.id))]
    return combined


def _combination(lost: _OpenTouch, other: _OpenTouch,
                 open_requests: dict[int, list[Any]]) -> tuple[_OpenTouch, _OpenTouch] | None:
    """(kept with its new window, cancelled) for two open touches of one region, or None when they stay
    apart: two appointments, or no window that every open request allows around the kept touch's day."""
    scheduled = [x for x in (other, lost) if x.status == TouchStatus.SCHEDULED]
    if len(scheduled) == 2:
        return None
    kept = scheduled[0] if scheduled else other
    gone = lost if kept is other else other
    moving = open_requests.get(gone.id, [])
    window = (max([kept.window_start, *(q.window_start for q in moving)]),
              min([kept.window_end, *(q.window_end for q in moving)]))
    if not window[0] <= kept.planned_on <= window[1]:
        return None
    return replace(kept, window_start=window[0], window_end=window[1]), gone
