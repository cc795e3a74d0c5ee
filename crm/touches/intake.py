"""The intake shell (SPEC §3): resolve, lock, decide with the pure core, apply — in one transaction.

Concurrency: on PostgreSQL every decision for an employer runs while holding that employer's
row lock (``SELECT ... FOR UPDATE``), so concurrent requests from several processes are decided
one after another and each sees the touches the previous one created. On SQLite the
transaction starts with ``BEGIN IMMEDIATE`` (``crm.db.begin_write``), which serializes writers
of the whole database. The partial unique index on open requests is the last line of defence
against a duplicate that slips past both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.exceptions import PermissionDeniedException
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm.audit import service as audit
from crm.auth.models import Role, User
from crm.auth.principal import Principal
from crm.db import begin_write
from crm.directory.models import Organization, Region
from crm.directory.service import region_id_for
from crm.employers.models import Employer, EmployerStatus
from crm.employers.resolve import resolve_employer
from crm.employers.schemas import EmployerIn
from crm.employers.service import create_employer
from crm.errors import Conflict, FieldError
from crm.notify.service import enqueue
from crm.touches.assign import route_spoc
from crm.touches.budget import counted_dates, load_policy
from crm.touches.models import IdempotencyRecord, Touch, TouchRequest
from crm.touches.request_schemas import TouchRequestIn, TouchRequestOut
from crm.touches.requests import REQUEST_AUDIT_FIELDS, decision_message, human_date, request_out_of, touch_openers
from crm.touches.routing import (
    OPEN_REQUEST_STATUSES,
    OPEN_TOUCH_STATUSES,
    Bundle,
    Decision,
    Hold,
    NewRequest,
    NewTouch,
    OpenRequestView,
    OpenTouchView,
    PacingPolicy,
    Priority,
    Purpose,
    Refuse,
    RefuseReason,
    RequestStatus,
    ReturnExisting,
    RoutingError,
    TouchStatus,
    decide_request,
    resolve_window,
)

TOUCH_AUDIT_FIELDS = ("status", "spoc_id", "window_start", "window_end", "planned_on", "override_reason")
_OPEN_REQUESTS = sorted(s.value for s in OPEN_REQUEST_STATUSES)
_OPEN_TOUCHES = sorted(s.value for s in OPEN_TOUCH_STATUSES)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What intake answers: 201 for a new request, 200 for the existing one (or a replayed key)."""

    status_code: int
    body: TouchRequestOut | None
    request: TouchRequest | None
    created: bool
    replayed_body: bytes | None = None

    def encoded(self) -> bytes:
        return self.replayed_body if self.replayed_body is not None else msgspec.json.encode(self.body)


def _is_pg(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def write_turn(db: AsyncSession) -> AsyncIterator[None]:
    """Run a read-decide-write transaction and commit it, one at a time per process on SQLite.

    SQLite admits one writer; forty requests waiting in its busy handler (sleep-and-poll) wait
    longer than its timeout, while waiting in an asyncio lock costs nothing and is first come,
    first served. The transaction commits inside the turn so the database lock is free when the
    next one begins. PostgreSQL needs no turn: row locks serialize per employer.
    """
    if _is_pg(db):
        yield
        await db.commit()
        return
    loop = asyncio.get_running_loop()
    lock = _turns.setdefault(loop, asyncio.Lock())
    async with lock:
        try:
            yield
            await db.commit()
        except BaseException:
            await db.rollback()
            raise


async def lock_employer(db: AsyncSession, employer_id: int) -> None:
    """Serialize every routing decision for this employer (PostgreSQL; SQLite holds the database lock)."""
    if _is_pg(db):
        # Only the id column: FOR UPDATE may not reach the outer joins Employer's eager loads add.
        await db.execute(select(Employer.id).where(Employer.id == employer_id).with_for_update())


def request_hash(data: TouchRequestIn) -> str:
    return hashlib.sha256(msgspec.json.encode(data)).hexdigest()


async def _replay(db: AsyncSession, actor: Principal, key: str, digest: str) -> IntakeResult | None:
    if _is_pg(db):
        # Two requests with the same key at once: the second waits here and then replays the first.
        await db.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                         {"k": f"idempotency:{actor.id}:{key}"})
    record = await db.scalar(select(IdempotencyRecord).where(IdempotencyRecord.user_id == actor.id,
                                                             IdempotencyRecord.key == key))
    if record is None:
        return None
    if record.request_hash != digest:
        raise FieldError("Idempotency-Key", "was already used with a different request body")
    return IntakeResult(record.status_code, None, None, created=False, replayed_body=record.response_body.encode())


def _validate(data: TouchRequestIn, today: dt.date) -> tuple[Purpose, Priority, tuple[dt.date, dt.date]]:
    try:
        purpose = Purpose(data.purpose)
    except ValueError:
        raise FieldError("purpose", f"unknown purpose {data.purpose!r}; one of {', '.join(Purpose)}") from None
    try:
        priority = Priority(data.priority)
    except ValueError:
        raise FieldError("priority", f"must be one of {', '.join(Priority)}") from None
    try:
        window = resolve_window(data.window_start, data.window_end, today)
    except RoutingError as exc:
        raise FieldError(exc.field, exc.message) from None
    if data.employer_id is None and data.employer is None:
        raise FieldError("employer_id", "give an employer_id or an employer {name, website, fein, city, zip}")
    if data.employer_id is not None and data.employer is not None:
        raise FieldError("employer", "give either employer_id or employer, not both")
    if data.employer is not None:
        given = (data.employer.name, data.employer.website, data.employer.fein)
        if not any((v or "").strip() for v in given):
            raise FieldError("employer.name", "give the employer's name, website or FEIN")
    return purpose, priority, window


async def _region_id(db: AsyncSession, actor: Principal, code: str | None, employer: Employer | None) -> int:
    if code:
        return await region_id_for(db, code)
    if employer is not None and employer.region_id is not None:
        return employer.region_id
    if actor.organization_id is not None:
        org = await db.get(Organization, actor.organization_id, options=[selectinload(Organization.regions)],
                           populate_existing=True)
        if org is not None and org.regions:
            return min(org.regions, key=lambda r: r.code).id
    raise FieldError("region", "is required (the employer has no region)")


async def _provisional_employer(db: AsyncSession, actor: Principal, data: TouchRequestIn,
                                region_id: int) -> Employer:
    query = data.employer
    assert query is not None
    name = (query.name or "").strip() or (query.website or "").strip() or f"FEIN {query.fein}"
    region_code = await db.scalar(select(Region.code).where(Region.id == region_id))
    employer = await create_employer(db, actor, EmployerIn(
        legal_name=name[:200], website=query.website or None, fein=query.fein or None, city=query.city or None,
        zip=query.zip or None, region=region_code))
    if employer.status != EmployerStatus.provisional:
        # SPEC §3.1: an employer created from a request stays provisional until a SPOC verifies it,
        # whoever submitted the request.
        employer.status = EmployerStatus.provisional.value
        audit.record(db, actor, "employer.update", "employer", employer.id, employer_id=employer.id,
                     before={"status": "active"}, after={"status": "provisional"},
                     note="created from a touch request")
    return employer


def _override_touch(decision: Decision, window: tuple[dt.date, dt.date], policy: PacingPolicy) -> NewTouch:
    if isinstance(decision, Refuse) and decision.reason == RefuseReason.DO_NOT_CONTACT:
        raise Conflict("This employer asked not to be contacted; pacing overrides cannot lift do-not-contact")
    day = window[0]
    while day <= window[1]:
        # An override lifts the budget and the gap, never the employer's own blackout dates.
        if not any(start <= day <= end for start, end in policy.blackout):
            return NewTouch(window, day)
        day += dt.timedelta(days=1)
    raise FieldError("window_end", "every day of the window is in the employer's blackout dates")


async def _notify_spoc(db: AsyncSession, touch: Touch, req: TouchRequest, now: dt.datetime, verb: str) -> None:
    if touch.spoc_id is None:
        return
    spoc = await db.get(User, touch.spoc_id)
    if spoc is None:
        return
    employer = req.employer
    name = employer.display_name if employer else "an employer"
    enqueue(db, spoc.email, f"Touch #{touch.id} with {name}: {verb} request from {req.requester_org.name}",
            f"{req.requester.name} ({req.requester_org.name}) asks for a touch with {name}.\n"
            f"Purpose: {req.purpose.replace('_', ' ')}\nWindow: {human_date(req.window_start)} to "
            f"{human_date(req.window_end)}\nTouch #{touch.id} is planned for {human_date(touch.planned_on)}.\n\n"
            f"{req.summary}", now)


async def _notify_requester(db: AsyncSession, actor: Principal, req: TouchRequest, now: dt.datetime) -> None:
    out = await request_out_of(db, req)
    enqueue(db, actor.email, f"Your touch request #{req.id}: {req.status.replace('_', ' ')}",
            f"{out.decision}.\n\nEmployer: {out.employer_name or 'to be confirmed'}\n"
            f"Purpose: {req.purpose.replace('_', ' ')}", now)


async def open_views(db: AsyncSession, employer_id: int) -> tuple[list[OpenRequestView], list[OpenTouchView]]:
    requests = [OpenRequestView(id=r.id, requester_org_id=r.requester_org_id, employer_id=employer_id,
                                purpose=Purpose(r.purpose), status=RequestStatus(r.status))
                for r in (await db.execute(select(TouchRequest.id, TouchRequest.requester_org_id,
                                                  TouchRequest.purpose, TouchRequest.status).where(
                    TouchRequest.employer_id == employer_id, TouchRequest.status.in_(_OPEN_REQUESTS)))).all()]
    touches = [OpenTouchView(id=t.id, employer_id=employer_id, region_id=t.region_id, status=TouchStatus(t.status),
                             window_start=t.window_start, window_end=t.window_end, planned_date=t.planned_on)
               for t in (await db.execute(select(Touch.id, Touch.region_id, Touch.status, Touch.window_start,
                                                 Touch.window_end, Touch.planned_on).where(
                   Touch.employer_id == employer_id, Touch.status.in_(_OPEN_TOUCHES)))).all()]
    return requests, touches


async def _existing(db: AsyncSession, org_id: int, employer_id: int, purpose: str) -> TouchRequest | None:
    return await db.scalar(select(TouchRequest).where(
        TouchRequest.requester_org_id == org_id, TouchRequest.employer_id == employer_id,
        TouchRequest.purpose == purpose, TouchRequest.status.in_(_OPEN_REQUESTS)).order_by(TouchRequest.id))


async def _apply(db: AsyncSession, actor: Principal, req: TouchRequest, employer: Employer, decision: Decision,
                 now: dt.datetime, override_reason: str | None) -> None:
    """Write a decision for a new request (already added to the session) and its audit trail."""
    if isinstance(decision, Refuse):
        if decision.reason == RefuseReason.DO_NOT_CONTACT:
            raise Conflict(f"{employer.display_name} asked not to be contacted (do-not-contact)")
        raise FieldError("window_end", "the employer's pacing budget and blackout dates allow no touch in this "
                                       "window or the year after it")
    touch: Touch | None = None
    if isinstance(decision, Hold):
        req.status = RequestStatus.HELD.value
        req.release_on = decision.release_on
    elif isinstance(decision, Bundle):
        touch = await db.get_one(Touch, decision.touch_id)
        before = audit.snapshot(touch, TOUCH_AUDIT_FIELDS)
        touch.window_start, touch.window_end = decision.new_window
        touch.planned_on = decision.planned_date
        req.touch_id = touch.id
        req.status = (RequestStatus.SCHEDULED if touch.status == TouchStatus.SCHEDULED else RequestStatus.QUEUED).value
        changed_before, changed_after = audit.diff(before, audit.snapshot(touch, TOUCH_AUDIT_FIELDS))
        audit.record(db, actor, "touch.bundle", "touch", touch.id, employer_id=employer.id,
                     before=changed_before or None, after={**changed_after, "purpose": req.purpose})
    elif isinstance(decision, NewTouch):
        spoc_id = await route_spoc(db, employer, req.region_id, actor, now=now)
        touch = Touch(employer_id=employer.id, region_id=req.region_id, spoc_id=spoc_id, status="queued",
                      source="routed", window_start=decision.window[0], window_end=decision.window[1],
                      planned_on=decision.planned_date, override_reason=override_reason, created_by_id=actor.id)
        db.add(touch)
        await db.flush()
        req.touch_id = touch.id
        req.status = RequestStatus.QUEUED.value
        audit.record(db, actor, "touch.override" if override_reason else "touch.create", "touch", touch.id,
                     employer_id=employer.id, after=audit.snapshot(touch, TOUCH_AUDIT_FIELDS), note=override_reason)
    await db.flush()
    await db.refresh(req, ["touch", "employer", "requester", "requester_org", "region"])
    if req.touch is not None:
        await db.refresh(req.touch, ["spoc"])
    audit.record(db, actor, "touch_request.create", "touch_request", req.id, employer_id=employer.id,
                 after=audit.snapshot(req, REQUEST_AUDIT_FIELDS),
                 note=decision_message(req, await touch_openers(db, [req])))
    if touch is not None:
        await _notify_spoc(db, touch, req, now, "bundled" if isinstance(decision, Bundle) else "new")
    await _notify_requester(db, actor, req, now)


async def submit_request(db: AsyncSession, actor: Principal, data: TouchRequestIn, *, today: dt.date,
                         now: dt.datetime | None = None, idempotency_key: str | None = None) -> IntakeResult:
    """Take one touch request through SPEC §3 in the session's transaction (the caller commits)."""
    now = now or dt.datetime.now(dt.UTC)
    # SQLite: the write lock is taken before the first read, or two intakes could decide on
    # the same snapshot. PostgreSQL: a no-op; the employer row lock below does the job.
    await begin_write(db)
    digest = request_hash(data)
    if idempotency_key is not None:
        replay = await _replay(db, actor, idempotency_key, digest)
        if replay is not None:
            return replay
    result = await _submit(db, actor, data, today=today, now=now)
    if idempotency_key is not None:
        db.add(IdempotencyRecord(user_id=actor.id, key=idempotency_key, request_hash=digest,
                                 status_code=result.status_code, response_body=result.encoded().decode()))
        await db.flush()
    return result


async def _submit(db: AsyncSession, actor: Principal, data: TouchRequestIn, *, today: dt.date,
                  now: dt.datetime) -> IntakeResult:
    purpose, priority, window = _validate(data, today)
    if actor.organization_id is None:
        raise FieldError("requester", "your account belongs to no organization, so it cannot request touches")
    summary = data.summary.strip()
    override = (data.override_reason or "").strip() or None
    region_hint = None
    if data.region:
        region_hint = await _region_id(db, actor, data.region, None)
    query = data.employer
    resolution = await resolve_employer(
        db, employer_id=data.employer_id, name=query.name if query else None,
        website=query.website if query else None, fein=query.fein if query else None,
        city=query.city if query else None, zip=query.zip if query else None, region_id=region_hint)
    employer = resolution.employer if resolution.kind == "match" else None
    region_id = region_hint if region_hint is not None else await _region_id(db, actor, None, employer)
    if override is not None and not actor.can_in_region(region_id, Role.lead):
        raise PermissionDeniedException("Only a lead of this region may override the pacing budget")
    req = TouchRequest(requester_id=actor.id, requester_org_id=actor.organization_id, region_id=region_id,
                       purpose=purpose.value, priority=priority.value, summary=summary, window_start=window[0],
                       window_end=window[1], status=RequestStatus.NEEDS_MATCH.value)

    if resolution.kind == "review":
        # Ambiguous: a person confirms the employer; no touch until then (SPEC §3.1).
        assert query is not None
        req.employer_query = {k: v for k, v in msgspec.structs.asdict(query).items() if v}
        req.candidate_ids = [e.id for e, _ in resolution.candidates]
        db.add(req)
        await db.flush()
        await db.refresh(req, ["touch", "employer", "requester", "requester_org", "region"])
        audit.record(db, actor, "touch_request.create", "touch_request", req.id,
                     after={**audit.snapshot(req, REQUEST_AUDIT_FIELDS), "candidate_ids": req.candidate_ids},
                     note=decision_message(req))
        await _notify_requester(db, actor, req, now)
        return IntakeResult(201, await request_out_of(db, req), req, created=True)

    if employer is None:
        employer = await _provisional_employer(db, actor, data, region_id)
    await lock_employer(db, employer.id)
    req.employer_id = employer.id

    existing = await _existing(db, actor.organization_id, employer.id, purpose.value)
    if existing is not None:
        return IntakeResult(200, await request_out_of(db, existing), existing, created=False)
    open_requests, open_touches = await open_views(db, employer.id)
    policy = await load_policy(db, employer.id, region_id)
    dates = await counted_dates(db, employer.id)
    decision = decide_request(
        NewRequest(requester_org_id=actor.organization_id, employer_id=employer.id, region_id=region_id,
                   purpose=purpose, priority=priority, window_start=window[0], window_end=window[1]),
        open_requests, open_touches, dates, policy, today)
    if isinstance(decision, ReturnExisting):
        found = await db.get_one(TouchRequest, decision.request_id)
        return IntakeResult(200, await request_out_of(db, found), found, created=False)
    if override is not None and isinstance(decision, Hold | Refuse):
        decision = _override_touch(decision, window, policy)
    try:
        async with db.begin_nested():
            db.add(req)
            await _apply(db, actor, req, employer, decision, now, override)
    except IntegrityError:
        # A concurrent duplicate won the partial unique index: hand back its request.
        found = await _existing(db, actor.organization_id, employer.id, purpose.value)
        if found is None:
            raise
        return IntakeResult(200, await request_out_of(db, found), found, created=False)
    return IntakeResult(201, await request_out_of(db, req), req, created=True)


def result_headers(result: IntakeResult) -> dict[str, Any]:
    return {"Idempotent-Replayed": "true"} if result.replayed_body is not None else {}
