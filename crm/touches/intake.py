"""The intake shell (SPEC §3): resolve, lock, decide with the pure core, apply — in one transaction.

Concurrency: on PostgreSQL every decision for an employer runs while holding that employer's
row lock (``SELECT ... FOR UPDATE``), so concurrent requests from several processes are decided
one after another and each sees the touches the previous one created. On SQLite the
transaction starts with ``BEGIN IMMEDIATE`` after queueing for the process's write turn
(``crm.db.begin_write``), which serializes writers of the whole database. The partial unique
index on open requests is the last line of defence against a duplicate that slips past both:
the request is inserted with ``ON CONFLICT DO NOTHING`` on it, and a conflict answers with the
request that won.

Cost: intake is the hottest write path, so it reads each thing once and writes with Core
statements. For a request by employer id that opens a touch: the employer (read with its row
lock), its open requests, its touches (which give the counted dates and the open touches),
the pacing policy, the SPOC assignment with its people, then one INSERT each for the touch,
the request, the audit events and the outbox messages. The answer is built from values at
hand; nothing is read back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import msgspec
from litestar.exceptions import PermissionDeniedException
from sqlalchemy import Select, Table, bindparam, case, exists, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import selectinload

from crm.audit import service as audit
from crm.auth.models import Role, User
from crm.auth.principal import Principal
from crm.db import begin_write, lock_keys, share_keys
from crm.directory.models import Organization, Region
from crm.directory.service import region_id_for
from crm.employers.models import Employer, EmployerStatus
from crm.employers.resolve import EmployerRef, Resolution, employer_ref, identity_keys, resolve_employer
from crm.employers.schemas import EmployerIn
from crm.employers.service import create_employer, lock_employer, typed_problems
from crm.employers.zips import ZipPlace, files_at, zip_place
from crm.errors import Conflict, FieldError
from crm.notify.service import insert_messages, message_row, page_link
from crm.templating import words
from crm.touches.assign import RoutedSpoc, route
from crm.touches.budget import load_policy, region_key
from crm.touches.models import _OPEN_REQUESTS_SQL, IdempotencyRecord, Touch, TouchRequest
from crm.touches.request_schemas import EmployerQueryIn, SpocRef, TouchRequestIn, TouchRequestOut
from crm.touches.requests import (
    REQUEST_AUDIT_FIELDS,
    TouchRef,
    describe,
    hold_words,
    human_date,
    request_out_by_id,
)
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
    blocking_limits,
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
    request_id: int | None
    created: bool
    replayed_body: bytes | None = None

    def encoded(self) -> bytes:
        return self.replayed_body if self.replayed_body is not None else msgspec.json.encode(self.body)


def _is_pg(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


@asynccontextmanager
async def write_turn(db: AsyncSession) -> AsyncIterator[None]:
    """End a read-decide-write transaction inside the handler: commit on success, roll back on error.

    Committing here rather than when the response starts hands the write lock on (SQLite's, and
    the process's write turn that ``begin_write`` took) as early as possible.
    """
    try:
        yield
        await db.commit()
    except BaseException:
        await db.rollback()
        raise


def request_hash(data: TouchRequestIn) -> str:
    return hashlib.sha256(msgspec.json.encode(data)).hexdigest()


async def recorded_answer(db: AsyncSession, actor: Principal, key: str) -> IdempotencyRecord | None:
    """The first answer this user got for ``key`` (an ``Idempotency-Key`` header, or the one-time key a form
    was rendered with), or None. Call in the write transaction that will record the answer: a second
    request with the same key waits here until the first commits (PostgreSQL: an advisory lock; SQLite:
    ``begin_write`` already serializes writers), and the record's unique key stops any that slips past."""
    if _is_pg(db):
        await db.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                         {"k": f"idempotency:{actor.id}:{key}"})
    return await db.scalar(select(IdempotencyRecord).where(IdempotencyRecord.user_id == actor.id,
                                                           IdempotencyRecord.key == key))


def remember_answer(db: AsyncSession, actor: Principal, key: str, digest: str, status_code: int,
                    body: bytes) -> None:
    """Record the answer to ``key`` (in the transaction that wrote what it answers), for repeats to replay."""
    db.add(IdempotencyRecord(user_id=actor.id, key=key, request_hash=digest, status_code=status_code,
                             response_body=body.decode()))


async def _replay(db: AsyncSession, actor: Principal, key: str, digest: str) -> IntakeResult | None:
    record = await recorded_answer(db, actor, key)
    if record is None:
        return None
    if record.request_hash != digest:
        raise FieldError("Idempotency-Key", "was already used with a different request body")
    return IntakeResult(record.status_code, None, None, created=False, replayed_body=record.response_body.encode())


def _validate(data: TouchRequestIn, today: dt.date) -> tuple[Purpose, Priority, tuple[dt.date, dt.date]]:
    """The request's purpose, priority and window; one FieldError names every problem of the body at once
    (a typed employer's website, FEIN and ZIP too, checked as creating it would)."""
    wrong: list[tuple[str, str]] = []
    purpose = priority = window = None
    try:
        purpose = Purpose(data.purpose)
    except ValueError:
        wrong.append(("purpose", f"unknown purpose {data.purpose!r}; one of {', '.join(Purpose)}"))
    try:
        priority = Priority(data.priority)
    except ValueError:
        wrong.append(("priority", f"must be one of {', '.join(Priority)}"))
    try:
        window = resolve_window(data.window_start, data.window_end, today)
    except RoutingError as exc:
        wrong.append((exc.field, exc.message))
    if data.employer_id is None and data.employer is None:
        wrong.append(("employer_id", "give an employer_id or an employer {name, website, fein, city, zip}"))
    if data.employer_id is not None and data.employer is not None:
        wrong.append(("employer", "give either employer_id or employer, not both"))
    if data.employer is not None:
        typed = data.employer
        if not any((v or "").strip() for v in (typed.name, typed.website, typed.fein)):
            wrong.append(("employer.name", "give the employer's name, website or FEIN"))
        wrong += [(f"employer.{field}", message) for field, message in typed_problems(
            name=typed.name, website=typed.website, fein=typed.fein, zip=typed.zip)]
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    assert purpose is not None and priority is not None and window is not None
    return purpose, priority, window


async def _region(db: AsyncSession, actor: Principal, employer: EmployerRef | None,
                  at_zip: ZipPlace | None) -> tuple[int, str]:
    """(id, code) of the region a request without ``region`` goes to: the employer's (a new one's: its
    California ZIP's, SPEC §2 county → region), else the one region the organization serves. A new
    employer's region is not guessed among several: it would be filed there."""
    if employer is not None and employer.region_id is not None and employer.region_code is not None:
        return employer.region_id, employer.region_code
    if employer is None and at_zip is not None:
        return at_zip.region_id, at_zip.region_code
    if actor.organization_id is not None:
        org = await db.get(Organization, actor.organization_id, options=[selectinload(Organization.regions)],
                           populate_existing=True)
        if org is not None and len(org.regions) == 1:
            return org.regions[0].id, org.regions[0].code
        if org is not None and org.regions:
            codes = ", ".join(sorted(r.code for r in org.regions))
            raise FieldError("region", f"choose the region: the employer's is not known yet, and your organization "
                                       f"serves several ({codes})")
    raise FieldError("region", "is required (the employer has no region)")


async def employer_as_typed(db: AsyncSession, actor: Principal, typed: Mapping[str, Any],
                            region_id: int, at_zip: ZipPlace | None) -> Employer:
    """Create the employer a partner typed (``name``, ``website``, ``fein``, ``city``, ``zip``): in its
    California ZIP's county (``at_zip``, ``zip_place`` of the typed ZIP; and so that county's region,
    whichever region the request goes to), else in the request's region. Staff who may not create employers
    in the ZIP's region file it in the request's."""
    name = str(typed.get("name") or "").strip() or str(typed.get("website") or "").strip() \
        or f"FEIN {typed.get('fein')}"
    county = region = None
    if at_zip is not None and files_at(actor, at_zip):
        county = at_zip.county
    else:
        region = await db.scalar(select(Region.code).where(Region.id == region_id))
    return await create_employer(db, actor, EmployerIn(
        legal_name=name[:200], website=typed.get("website") or None, fein=typed.get("fein") or None,
        city=typed.get("city") or None, zip=typed.get("zip") or None, county=county, region=region))


async def _resolve(db: AsyncSession, query: EmployerQueryIn, region_hint: tuple[int, str] | None) -> Resolution:
    return await resolve_employer(db, name=query.name, website=query.website, fein=query.fein, city=query.city,
                                  zip=query.zip, region_id=region_hint[0] if region_hint else None)


async def _provisional_employer(db: AsyncSession, actor: Principal, data: TouchRequestIn,
                                region_id: int, at_zip: ZipPlace | None) -> EmployerRef:
    assert data.employer is not None
    employer = await employer_as_typed(db, actor, msgspec.structs.asdict(data.employer), region_id, at_zip)
    if employer.status != EmployerStatus.provisional:
        # SPEC §3.1: an employer created from a request stays provisional until a SPOC verifies it,
        # whoever submitted the request.
        employer.status = EmployerStatus.provisional.value
        audit.record(db, actor, "employer.update", "employer", employer.id, employer_id=employer.id,
                     before={"status": "active"}, after={"status": "provisional"},
                     note="created from a touch request")
    return EmployerRef.of(employer)


def hold_reason_for(policy: PacingPolicy, counted: list[dt.date], window: tuple[dt.date, dt.date]) -> str | None:
    """Why a request is held: the limits that keep a touch off every day it asked for, in words (None: the
    budget, ``describe``'s default)."""
    return hold_words(blocking_limits(policy, counted, *window), policy.min_gap_days)


def override_touch(decision: Decision, window: tuple[dt.date, dt.date], policy: PacingPolicy) -> NewTouch:
    """A lead's override of a hold or a no-date refusal: a new touch on the window's first day outside the
    employer's blackout dates (the budget and the gap lifted; do-not-contact never)."""
    if isinstance(decision, Refuse) and decision.reason == RefuseReason.DO_NOT_CONTACT:
        raise Conflict("This employer asked not to be contacted; pacing overrides cannot lift do-not-contact")
    day = window[0]
    while day <= window[1]:
        # An override lifts the budget and the gap, never the employer's own blackout dates.
        if not any(start <= day <= end for start, end in policy.blackout):
            return NewTouch(window, day)
        day += dt.timedelta(days=1)
    raise FieldError("window_end", "every day of the window is in the employer's blackout dates")


@dataclass(frozen=True, slots=True)
class OpenTouch:
    """An open touch as intake may answer about it: its SPOC's name and e-mail, whether it has requests."""

    view: OpenTouchView
    spoc_id: int | None
    spoc_name: str | None
    spoc_email: str | None
    has_requests: bool
    scheduled_at: dt.datetime | None = None  # its appointment, which the answer says with its time


@dataclass(frozen=True, slots=True)
class EmployerState:
    """What the decision needs about one employer, read once under its lock."""

    open_requests: list[OpenRequestView]
    open_touches: dict[int, OpenTouch]
    counted: list[dt.date]


# Intake's statements are built once: building a SQLAlchemy statement (and its aliases) costs
# more CPU than SQLite takes to run it. Each takes bound parameters by name.
_request_t, _touch_t, _user_t = (cast(Table, m.__table__) for m in (TouchRequest, Touch, User))


@cache
def _open_requests_stmt() -> Select[*tuple[Any, ...]]:
    r = _request_t.c
    return select(r.id, r.requester_org_id, r.purpose, r.status).where(
        r.employer_id == bindparam("employer_id"), r.status.in_(_OPEN_REQUESTS))


@cache
def _touches_stmt() -> Select[*tuple[Any, ...]]:
    t, u, r = _touch_t.c, _user_t.c, _request_t.c
    has_requests = case((t.status.in_(_OPEN_TOUCHES), exists().where(r.touch_id == t.id)), else_=False)
    return (select(t.id, t.region_id, t.status, t.window_start, t.window_end, t.planned_on, t.scheduled_at,
                   t.spoc_id, u.name, u.email, has_requests.label("has_requests"))
            .select_from(_touch_t.outerjoin(_user_t, u.id == t.spoc_id))
            .where(t.employer_id == bindparam("employer_id"), t.status != TouchStatus.CANCELLED.value)
            .order_by(t.planned_on))


async def employer_state(db: AsyncSession, employer_id: int, now: dt.datetime) -> EmployerState:
    """The employer's open requests, and its touches: every uncancelled one counts against the budget
    (SPEC §3.4), the open ones can take a bundle unless their appointment is past ``now``. Two statements."""
    conn = await db.connection()
    params = {"employer_id": employer_id}
    requests = [OpenRequestView(id=r.id, requester_org_id=r.requester_org_id, employer_id=employer_id,
                                purpose=Purpose(r.purpose), status=RequestStatus(r.status))
                for r in await conn.execute(_open_requests_stmt(), params)]
    counted: list[dt.date] = []
    touches: dict[int, OpenTouch] = {}
    for t in await conn.execute(_touches_stmt(), params):
        counted.append(t.planned_on)
        if t.status in OPEN_TOUCH_STATUSES:
            touches[t.id] = OpenTouch(
                OpenTouchView(id=t.id, employer_id=employer_id, region_id=t.region_id, status=TouchStatus(t.status),
                              window_start=t.window_start, window_end=t.window_end, planned_date=t.planned_on,
                              appointment_passed=t.scheduled_at is not None and t.scheduled_at <= now),
                t.spoc_id, t.name, t.email, bool(t.has_requests), t.scheduled_at)
    return EmployerState(requests, touches, counted)


@cache
def _request_insert(dialect: str) -> Any:
    """INSERT of a new request that inserts nothing when an open duplicate holds the unique index."""
    c = _request_t.c
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(_request_t).on_conflict_do_nothing(
        index_elements=[c.requester_org_id, c.employer_id, c.purpose], index_where=text(_OPEN_REQUESTS_SQL))
    # PostgreSQL answers the id in the same round trip; SQLite's cursor knows it without a fetch.
    return stmt.returning(c.id) if dialect == "postgresql" else stmt


async def _insert_request(conn: AsyncConnection, values: dict[str, Any]) -> int | None:
    """The new request's id, or None when an open duplicate won the unique index."""
    result = await conn.execute(_request_insert(conn.dialect.name), values)
    if conn.dialect.name == "postgresql":
        return cast("int | None", result.scalar_one_or_none())
    return result.lastrowid if result.rowcount else None


@cache
def _touch_insert() -> Any:
    # No explicit RETURNING: SQLAlchemy adds it on PostgreSQL and reads SQLite's lastrowid, which
    # saves aiosqlite a thread hand-off for the fetch.
    return insert(_touch_t)


@cache
def _touch_window_update() -> Any:
    t = _touch_t.c
    return update(_touch_t).where(t.id == bindparam("touch_id")).values(
        window_start=bindparam("new_start"), window_end=bindparam("new_end"), planned_on=bindparam("new_planned"),
        updated_at=bindparam("at"))


@dataclass(frozen=True, slots=True)
class _Asked:
    """The request as validated, before anything is written."""

    purpose: Purpose
    priority: Priority
    window: tuple[dt.date, dt.date]
    summary: str
    region_id: int
    region_code: str
    override: str | None


def _answer(actor: Principal, asked: _Asked, *, request_id: int, status: str, employer_id: int | None,
            employer_name: str | None, created_at: dt.datetime, touch: TouchRef | None = None,
            opened_touch: bool = False, release_on: dt.date | None = None,
            hold_reason: str | None = None) -> TouchRequestOut:
    """The answer for a request this intake wrote, from the values at hand."""
    return TouchRequestOut(
        id=request_id, status=status, touch_id=touch.id if touch else None, employer_id=employer_id,
        spoc=SpocRef(id=touch.spoc_id, name=touch.spoc_name or "") if touch and touch.spoc_id is not None else None,
        planned_date=touch.planned_on if touch else None, release_on=release_on,
        decision=describe(status, touch, opened_touch=opened_touch, release_on=release_on,
                          window_end=asked.window[1], hold_reason=hold_reason),
        employer_name=employer_name, region=asked.region_code, purpose=asked.purpose.value,
        priority=asked.priority.value, summary=asked.summary, window_start=asked.window[0],
        window_end=asked.window[1], requester=actor.name, requester_org=actor.organization_name or "",
        outcome=None, outcome_note=None, created_at=created_at)


def _request_audit(out: TouchRequestOut, release_on: dt.date | None) -> dict[str, Any]:
    values = {"status": out.status, "touch_id": out.touch_id, "release_on": release_on,
              "window_start": out.window_start, "window_end": out.window_end, "outcome": None,
              "decline_reason": None, "employer_id": out.employer_id}
    return audit.values(REQUEST_AUDIT_FIELDS, values)


# In a needs_match request's employer_query: the partner left the region to the employer, so the
# region the request waits in (the organization's) gives way to the confirmed employer's.
OWN_REGION = {"region": "the employer's own"}


async def _needs_match(db: AsyncSession, actor: Principal, asked: _Asked, query: Any, candidate_ids: list[int],
                       now: dt.datetime, *, region_chosen: bool) -> IntakeResult:
    """Ambiguous employer: a person confirms it; no touch until then (SPEC §3.1)."""
    employer_query = {k: v for k, v in msgspec.structs.asdict(query).items() if v}
    if not region_chosen:
        employer_query.update(OWN_REGION)
    created = dt.datetime.now(dt.UTC)
    request_id = await db.scalar(insert(_request_t).values(
        requester_id=actor.id, requester_org_id=actor.organization_id, region_id=asked.region_id,
        purpose=asked.purpose.value, priority=asked.priority.value, summary=asked.summary,
        window_start=asked.window[0], window_end=asked.window[1], status=RequestStatus.NEEDS_MATCH.value,
        employer_query=employer_query, candidate_ids=candidate_ids, created_at=created, updated_at=created,
    ).returning(_request_t.c.id))
    assert request_id is not None
    name = employer_query.get("name") or employer_query.get("website") or employer_query.get("fein")
    out = _answer(actor, asked, request_id=request_id, status=RequestStatus.NEEDS_MATCH.value, employer_id=None,
                  employer_name=str(name) if name else None, created_at=created)
    await audit.insert_rows(db, [audit.row(
        actor, "touch_request.create", "touch_request", request_id, at=created,
        after={**_request_audit(out, None), "candidate_ids": candidate_ids}, note=out.decision)])
    await insert_messages(db, [_requester_message(actor, out, now)])
    return IntakeResult(201, out, request_id, created=True)


def _requester_message(actor: Principal, out: TouchRequestOut, now: dt.datetime) -> dict[str, Any]:
    return message_row(actor.email, f"Your touch request #{out.id}: {out.status.replace('_', ' ')}",
                       f"{out.decision}.\n\nEmployer: {out.employer_name or 'to be confirmed'}\n"
                       f"Purpose: {words(out.purpose)}" + page_link(f"/requests/{out.id}"), now)


def _spoc_message(email: str, touch: TouchRef, out: TouchRequestOut, actor: Principal, employer_name: str,
                  now: dt.datetime, verb: str) -> dict[str, Any]:
    org = actor.organization_name
    return message_row(
        email, f"Touch #{touch.id} with {employer_name}: {verb} request from {org}",
        f"{actor.name} ({org}) asks for a touch with {employer_name}.\n"
        f"Purpose: {words(out.purpose)}\nWindow: {human_date(out.window_start)} to "
        f"{human_date(out.window_end)}\nTouch #{touch.id} is planned for {human_date(touch.planned_on)}.\n\n"
        f"{out.summary}" + page_link(f"/queue/touches/{touch.id}"), now)


async def submit_request(db: AsyncSession, actor: Principal, data: TouchRequestIn, *, today: dt.date,
                         now: dt.datetime | None = None, idempotency_key: str | None = None) -> IntakeResult:
    """Take one touch request through SPEC §3 in the session's transaction (the caller commits)."""
    now = now or dt.datetime.now(dt.UTC)
    # SQLite: the write lock is taken before the first read, or two intakes could decide on
    # the same snapshot. PostgreSQL: only begins; the employer row lock below does the job.
    await begin_write(db)
    digest = request_hash(data)
    if idempotency_key is not None:
        replay = await _replay(db, actor, idempotency_key, digest)
        if replay is not None:
            return replay
    result = await _submit(db, actor, data, today=today, now=now)
    if idempotency_key is not None:
        remember_answer(db, actor, idempotency_key, digest, result.status_code, result.encoded())
        await db.flush()
    return result


async def _submit(db: AsyncSession, actor: Principal, data: TouchRequestIn, *, today: dt.date,
                  now: dt.datetime) -> IntakeResult:
    purpose, priority, window = _validate(data, today)
    if actor.organization_id is None:
        raise FieldError("requester", "your account belongs to no organization, so it cannot request touches")
    org_id = actor.organization_id
    region_hint: tuple[int, str] | None = None
    shared: int | None = None  # the region whose settings this intake holds (shared) before its employer
    if data.region:
        region_hint = (await region_id_for(db, data.region), data.region.strip().upper())
        shared = region_hint[0]
        await share_keys(db, region_key(shared))
    query = data.employer
    employer: EmployerRef | None
    if data.employer_id is not None:
        if shared is None:  # the employer's region: read it first, the region comes before the employer's lock
            shared = (await _region(db, actor, await employer_ref(db, data.employer_id), None))[0]
            await share_keys(db, region_key(shared))
        # Read under its row lock (PostgreSQL): every decision for this employer waits for ours.
        employer, needs_match, candidate_ids = await employer_ref(db, data.employer_id, for_update=True), False, []
    else:
        assert query is not None
        resolution = await _resolve(db, query, region_hint)
        if resolution.kind == "none" and _is_pg(db):
            # About to create the employer: concurrent requests naming the same new employer take turns
            # here, and the later ones find the one the first created. (SQLite: this transaction has held
            # the database's write lock since it began.)
            await lock_keys(db, *identity_keys(query.name, query.website, query.fein))
            resolution = await _resolve(db, query, region_hint)
        employer = EmployerRef.of(resolution.employer) if resolution.kind == "match" and resolution.employer \
            else None
        needs_match = resolution.kind == "review"
        candidate_ids = [e.id for e, _ in resolution.candidates]
    # A new employer's California ZIP places it (and, with no region given, the request): read once.
    at_zip = await zip_place(db, data.employer.zip) if employer is None and data.employer is not None else None
    region_id, region_code = region_hint if region_hint is not None else await _region(db, actor, employer, at_zip)
    if shared is None and not needs_match:
        # Known only now (a typed employer's region, or the organization's one region); no employer is locked
        # yet on this path, so the order stays region, then employer.
        shared = region_id
        await share_keys(db, region_key(shared))
    elif shared != region_id and not needs_match:
        # Named by id, the employer was merged meanwhile into a record of another region: taking that
        # region now, after the employer's lock, could deadlock with a lead changing its settings.
        raise Conflict(f"Employer #{data.employer_id} was merged just now into a record of another region: "
                       "send the request again")
    override = (data.override_reason or "").strip() or None
    if override is not None and not actor.can_in_region(region_id, Role.lead):
        raise PermissionDeniedException("Only a lead of this region may override the pacing budget")
    asked = _Asked(purpose, priority, window, data.summary.strip(), region_id, region_code, override)

    if needs_match:
        assert query is not None
        return await _needs_match(db, actor, asked, query, candidate_ids, now, region_chosen=region_hint is not None)

    if employer is None:
        employer = await _provisional_employer(db, actor, data, region_id, at_zip)
        await db.flush()  # its audit events before the intake's (Core inserts do not autoflush)
        await lock_employer(db, employer.id)
    elif data.employer_id is None:
        # By id it was read FOR UPDATE already. Read again under the lock: a merge that held it
        # meanwhile made the matched employer a tombstone, and the request follows it to the survivor.
        employer = await employer_ref(db, employer.id, for_update=True)

    state = await employer_state(db, employer.id, now)
    policy = await load_policy(db, employer.id, region_id)
    decision = decide_request(
        NewRequest(requester_org_id=org_id, employer_id=employer.id, region_id=region_id, purpose=purpose,
                   priority=priority, window_start=window[0], window_end=window[1]),
        state.open_requests, [t.view for t in state.open_touches.values()], state.counted, policy, today)
    if isinstance(decision, ReturnExisting):
        return IntakeResult(200, await request_out_by_id(db, decision.request_id), decision.request_id,
                            created=False)
    if override is not None and isinstance(decision, Hold | Refuse):
        decision = override_touch(decision, window, policy)
    if isinstance(decision, Refuse):
        if decision.reason == RefuseReason.DO_NOT_CONTACT:
            raise Conflict(f"{employer.display_name} asked not to be contacted (do-not-contact)")
        raise FieldError("window_end", "the employer's pacing budget and blackout dates allow no touch in this "
                                       "window or the year after it")
    return await _apply(db, actor, asked, employer, state, decision, policy, now)


async def _apply(db: AsyncSession, actor: Principal, asked: _Asked, employer: EmployerRef, state: EmployerState,
                 decision: Bundle | NewTouch | Hold, policy: PacingPolicy, now: dt.datetime) -> IntakeResult:
    """Write the decision for a new request, its audit events and notices; answer from what was written."""
    created = dt.datetime.now(dt.UTC)
    conn = await db.connection()
    employer_name = employer.display_name
    events: list[dict[str, Any]] = []
    touch: TouchRef | None = None
    spoc_email: str | None = None
    opened_touch = False
    new_touch_id: int | None = None
    undo: dict[str, Any] = {}
    hold_reason = None
    if isinstance(decision, Hold):
        status, release_on = RequestStatus.HELD.value, decision.release_on
        hold_reason = hold_reason_for(policy, state.counted, asked.window)
    else:
        release_on = None
        if isinstance(decision, Bundle):
            found = state.open_touches[decision.touch_id]
            view = found.view
            before = {"window_start": view.window_start, "window_end": view.window_end,
                      "planned_on": view.planned_date}
            after = {"window_start": decision.new_window[0], "window_end": decision.new_window[1],
                     "planned_on": decision.planned_date}
            changed = {k: v for k, v in after.items() if before[k] != v}
            if changed:
                await conn.execute(_touch_window_update(), {
                    "touch_id": view.id, "new_start": after["window_start"], "new_end": after["window_end"],
                    "new_planned": after["planned_on"], "at": created})
                undo = {"touch_id": view.id, "new_start": before["window_start"], "new_end": before["window_end"],
                        "new_planned": before["planned_on"], "at": created}
            events.append(audit.row(
                actor, "touch.bundle", "touch", view.id, at=created, employer_id=employer.id,
                before=audit.values(tuple(changed), before) or None,
                after={**audit.values(tuple(changed), changed), "purpose": asked.purpose.value}))
            touch = TouchRef(view.id, view.status.value, decision.planned_date, found.spoc_id, found.spoc_name,
                             asked.region_code, found.scheduled_at)
            spoc_email, opened_touch = found.spoc_email, not found.has_requests
            status = (RequestStatus.SCHEDULED if view.status == TouchStatus.SCHEDULED else RequestStatus.QUEUED).value
        else:
            routed: RoutedSpoc = await route(db, employer.id, employer.county_id, employer.naics_code,
                                             asked.region_id, actor, now=now)
            values = {"employer_id": employer.id, "region_id": asked.region_id, "spoc_id": routed.user_id,
                      "status": TouchStatus.QUEUED.value, "source": "routed", "window_start": decision.window[0],
                      "window_end": decision.window[1], "planned_on": decision.planned_date,
                      "override_reason": asked.override, "created_by_id": actor.id}
            new_touch_id = (await conn.execute(_touch_insert(), {
                **values, "channel": None, "scheduled_at": None, "completed_at": None, "cancelled_at": None,
                "cancel_reason": None, "notes": None, "created_at": created, "updated_at": created}
            )).inserted_primary_key[0]  # type: ignore[index]  # one row inserted: never None
            assert new_touch_id is not None
            events.append(audit.row(
                actor, "touch.override" if asked.override else "touch.create", "touch", new_touch_id, at=created,
                employer_id=employer.id, after=audit.values(TOUCH_AUDIT_FIELDS, values),
                note=asked.override))
            touch = TouchRef(new_touch_id, TouchStatus.QUEUED.value, decision.planned_date, routed.user_id,
                             routed.name, asked.region_code)
            spoc_email, opened_touch = routed.email, True
            status = RequestStatus.QUEUED.value

    request_id = await _insert_request(conn, {
        "requester_id": actor.id, "requester_org_id": actor.organization_id, "employer_id": employer.id,
        "region_id": asked.region_id, "purpose": asked.purpose.value, "priority": asked.priority.value,
        "summary": asked.summary, "window_start": asked.window[0], "window_end": asked.window[1], "status": status,
        "touch_id": touch.id if touch else None, "release_on": release_on, "hold_reason": hold_reason,
        "outcome": None, "outcome_note": None,
        "decline_reason": None, "closed_at": None, "employer_query": None, "candidate_ids": None,
        "created_at": created, "updated_at": created})
    if request_id is None:
        # A concurrent duplicate holds the open-request index: undo this one's touch change and
        # answer with the request that won (as a savepoint would, without one on the usual path).
        if new_touch_id is not None:
            await conn.execute(_touch_t.delete().where(_touch_t.c.id == new_touch_id))
        elif undo:
            await conn.execute(_touch_window_update(), undo)
        existing = await db.scalar(select(TouchRequest.id).where(
            TouchRequest.requester_org_id == actor.organization_id, TouchRequest.employer_id == employer.id,
            TouchRequest.purpose == asked.purpose.value, TouchRequest.status.in_(_OPEN_REQUESTS))
            .order_by(TouchRequest.id))
        if existing is None:
            raise Conflict("This request collided with another one for the same employer and purpose; send it again")
        return IntakeResult(200, await request_out_by_id(db, existing), existing, created=False)

    out = _answer(actor, asked, request_id=request_id, status=status, employer_id=employer.id,
                  employer_name=employer_name, created_at=created, touch=touch, opened_touch=opened_touch,
                  release_on=release_on, hold_reason=hold_reason)
    events.append(audit.row(actor, "touch_request.create", "touch_request", request_id, at=created,
                            employer_id=employer.id, after=_request_audit(out, release_on), note=out.decision))
    await audit.insert_rows(db, events)
    messages = []
    if touch is not None and spoc_email is not None:
        messages.append(_spoc_message(spoc_email, touch, out, actor, employer_name, now,
                                      "bundled" if isinstance(decision, Bundle) else "new"))
    messages.append(_requester_message(actor, out, now))
    await insert_messages(db, messages)
    return IntakeResult(201, out, request_id, created=True)


def result_headers(result: IntakeResult) -> dict[str, Any]:
    return {"Idempotent-Replayed": "true"} if result.replayed_body is not None else {}
