"""`/api/touches` (the SPOC queue and its workflow actions) and `/api/employers/{id}/timeline`."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import HeaderParameter, JSONBody, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock
from crm.auth.guards import requires_crm_user, requires_staff
from crm.auth.principal import Principal
from crm.db import begin_write
from crm.deps import Db, Me, PathId, QueryId
from crm.employers.models import Employer
from crm.errors import FieldError
from crm.openapi import choice_parameter
from crm.pagination import Limit, Offset
from crm.touches import queue, timeline, workflow
from crm.touches.intake import recorded_answer, remember_answer, write_turn
from crm.touches.models import Touch
from crm.touches.routing import TouchStatus
from crm.touches.touch_schemas import (
    BundledRequestOut,
    CancelIn,
    CompleteIn,
    LogTouchIn,
    PersonRef,
    ReassignedOut,
    ReassignIn,
    ScheduleIn,
    TimelineOut,
    TouchOut,
    TouchPage,
)


def now_utc() -> dt.datetime:
    return clock.now()


def touch_out(t: Touch, hand_offs: list[int] | None = None) -> TouchOut:
    """Staff-only view of a touch (partners never get this shape); ``hand_offs``: the ids of the hand-offs it
    made (``queue.hand_offs_by_touch``)."""
    return TouchOut(
        id=t.id, status=t.status, source=t.source, employer_id=t.employer_id, employer_name=t.employer.legal_name,
        region=t.region.code, spoc=PersonRef(t.spoc.id, t.spoc.name) if t.spoc else None, channel=t.channel,
        window_start=t.window_start, window_end=t.window_end, planned_on=t.planned_on, scheduled_at=t.scheduled_at,
        completed_at=t.completed_at, cancelled_at=t.cancelled_at, cancel_reason=t.cancel_reason, notes=t.notes,
        override_reason=t.override_reason, contacts=[PersonRef(c.id, c.name) for c in t.contacts],
        requests=[BundledRequestOut(
            id=r.id, status=r.status, purpose=r.purpose, priority=r.priority, requester_org=r.requester_org.name,
            requester=r.requester.name, summary=r.summary, window_start=r.window_start, window_end=r.window_end,
            outcome=r.outcome, outcome_note=r.outcome_note) for r in t.requests],
        hand_offs=hand_offs or [], seen=workflow.schedule_seen(t),
    )


async def one_touch_out(db: AsyncSession, t: Touch) -> TouchOut:
    return touch_out(t, [h.id for h in (await queue.hand_offs_by_touch(db, [t])).get(t.id, [])])


@dataclass(frozen=True, slots=True)
class Logged:
    """What logging a touch answered: the touch's JSON, and whether it is the replay of an earlier answer."""

    status_code: int
    body: bytes
    replayed: bool

    def touch(self) -> TouchOut:
        return msgspec.json.decode(self.body, type=TouchOut)


async def log_touch_once(db: Db, principal: Principal, data: LogTouchIn, now: dt.datetime,
                         key: str | None) -> Logged:
    """Log a touch, once per ``key``: a repeat of the key (a double-click, a form sent again after Back, an
    API retry) logs nothing and answers as the first did; the same key with other values is refused."""
    await begin_write(db)
    digest = hashlib.sha256(b"touch.log:" + msgspec.json.encode(data)).hexdigest()
    if key is not None and (record := await recorded_answer(db, principal, key)) is not None:
        if record.request_hash != digest:
            raise FieldError("Idempotency-Key", "was already used with a different request body")
        return Logged(record.status_code, record.response_body.encode(), replayed=True)
    body = msgspec.json.encode(await one_touch_out(db, await workflow.logged_touch(db, principal, data, now)))
    if key is not None:
        remember_answer(db, principal, key, digest, 201, body)
        await db.flush()
    return Logged(201, body, replayed=False)


async def _reloaded(db: Db, touch: Touch) -> TouchOut:
    await db.refresh(touch, ["requests", "contacts", "spoc"])
    return await one_touch_out(db, touch)


class TouchApi(Controller):
    path = "/api/touches"
    tags = ["touches"]
    guards = [requires_staff]

    @get("/")
    async def list_touches(
        self, db: Db, principal: Me, limit: Limit = 50, offset: Offset = 0,
        status: Annotated[str | None, choice_parameter(("open", *TouchStatus), max_length=16,
                                                       description="open (default) or a touch status")] = None,
        region: Annotated[str | None, Parameter(max_length=32)] = None,
        employer_id: QueryId = None,
        due_before: Annotated[dt.date | None, Parameter(description="planned on or before")] = None,
        due_after: Annotated[dt.date | None, Parameter(description="planned on or after")] = None,
        unassigned: Annotated[bool, Parameter(description="only touches without a SPOC")] = False,
    ) -> TouchPage:
        """The caller's queue: own touches, an away SPOC's touches they back up, a lead's whole region."""
        rows, total = await queue.list_queue(
            db, principal, limit=limit, offset=offset, status=status, region=region, employer_id=employer_id,
            due_before=due_before, due_after=due_after, unassigned=unassigned)
        made = await queue.hand_offs_by_touch(db, rows)
        return TouchPage(items=[touch_out(t, [h.id for h in made.get(t.id, [])]) for t in rows], total=total,
                         limit=limit, offset=offset)

    @post("/", status_code=201)
    async def log_touch(
        self, db: Db, principal: Me, data: JSONBody[LogTouchIn],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", min_length=1,
                                                                max_length=200)] = None,
    ) -> Response[TouchOut]:
        """Log an unsolicited touch (the employer called in); it counts toward the pacing budget.

        With an ``Idempotency-Key`` header, a repeat of the key logs nothing and answers the first response again.
        """
        async with write_turn(db):
            logged = await log_touch_once(db, principal, data, now_utc(), idempotency_key)
        content: Any = msgspec.json.decode(logged.body)
        return Response(content, status_code=logged.status_code, media_type=MediaType.JSON,
                        headers={"Idempotent-Replayed": "true"} if logged.replayed else {})

    @get("/{touch_id:int}")
    async def get_touch(self, db: Db, principal: Me, touch_id: PathId) -> TouchOut:
        return await one_touch_out(db, await queue.get_touch(db, principal, touch_id))

    @post("/{touch_id:int}/schedule", status_code=200)
    async def schedule(self, db: Db, principal: Me, touch_id: PathId, data: JSONBody[ScheduleIn]) -> TouchOut:
        return await _reloaded(db, await workflow.schedule(db, principal, touch_id, data, now_utc()))

    @post("/{touch_id:int}/complete", status_code=200)
    async def complete(self, db: Db, principal: Me, touch_id: PathId, data: JSONBody[CompleteIn]) -> TouchOut:
        return await _reloaded(db, await workflow.complete(db, principal, touch_id, data, now_utc()))

    @post("/{touch_id:int}/cancel", status_code=200)
    async def cancel(self, db: Db, principal: Me, touch_id: PathId, data: JSONBody[CancelIn]) -> TouchOut:
        return await _reloaded(db, await workflow.cancel(db, principal, touch_id, data, now_utc()))

    @post("/{touch_id:int}/reassign", status_code=200)
    async def reassign(self, db: Db, principal: Me, touch_id: PathId,
                       data: JSONBody[ReassignIn]) -> ReassignedOut:
        """Give the touch to another SPOC or lead of its region: leads of the region (and admins) only.

        An unassigned touch of an employer with no SPOC in the region also makes them the employer's SPOC
        there (``assignment_id``), so its next requests go to them; otherwise the employer's SPOC is unchanged.
        """
        done = await workflow.reassign(db, principal, touch_id, data, now_utc())
        out = await _reloaded(db, done.touch)
        return ReassignedOut(**msgspec.structs.asdict(out), message=done.said,
                             assignment_id=done.assignment.id if done.assignment else None)


class TimelineApi(Controller):
    path = "/api/employers"
    tags = ["employers"]
    guards = [requires_crm_user]

    @get("/{employer_id:int}/timeline")
    async def employer_timeline(self, db: Db, principal: Me, employer_id: PathId, limit: Limit = 50,
                                offset: Offset = 0) -> TimelineOut:
        """Every request and touch across all partners, newest first, plus the pacing budget left.

        Another organization's requests show only date, status and purpose.
        """
        employer = await db.get(Employer, employer_id)  # without its profile (aliases, contacts): not shown
        if employer is None:
            raise NotFoundException(f"Employer #{employer_id} not found")
        history = await timeline.history(db, employer_id)
        items = timeline.history_entries(principal, history)
        budgets = await timeline.budgets(db, employer, clock.today(), history)
        return TimelineOut(employer_id=employer_id, budget=[timeline.budget_out(b) for b in budgets],
                           items=items[offset:offset + limit], total=len(items), limit=limit, offset=offset)
