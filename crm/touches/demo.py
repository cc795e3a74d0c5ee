"""Demo touch traffic: partner requests, bundles, a scheduled and a completed touch with a hand-off,
a held request and an unassigned touch in every demo region -- so each demo login finds work.

Everything goes through the product's own intake and SPOC workflow (``submit_request``,
``workflow.schedule/complete/log_touch``), one transaction per step as in production, so the
demo shows real decisions (bundling, pacing, routing), audit events and outbox notifications.
Run after ``crm.demo.load_demo`` has committed; a database that already has touch requests is
left alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm import clock
from crm.auth.models import Role, RoleGrant, User
from crm.auth.principal import Principal, principal_select
from crm.demo import DEMO_REGION_CODES
from crm.directory.models import Organization, Region, organization_region
from crm.employers.models import Employer, EmployerStatus, SpocAssignment
from crm.touches import workflow
from crm.touches.intake import submit_request, write_turn
from crm.touches.models import Touch, TouchRequest
from crm.touches.request_schemas import TouchRequestIn
from crm.touches.touch_schemas import CompleteIn, HandOffIn, LogTouchIn, OutcomeIn, ScheduleIn

T = TypeVar("T")

# (purpose, summary) a partner of each kind typically asks for.
ASKS: dict[str, tuple[str, str]] = {
    "workforce_board": ("hiring", "Hiring event for warehouse and production roles; we can pre-screen candidates."),
    "ajcc": ("hiring", "Job seekers from our AJCC are ready for entry-level openings."),
    "community_college": ("work_based_learning", "Paid internships for second-year students this spring."),
    "adult_education": ("training_upskilling", "ESL for the workplace, on site, for current line staff."),
    "k12": ("work_based_learning", "Job shadowing day for 11th-grade pathway students."),
    "lea": ("work_based_learning", "Job shadowing day for 11th-grade pathway students."),
    "cbo": ("reentry_fair_chance", "Fair-chance hiring: supported candidates with case management."),
    "probation": ("reentry_fair_chance", "Fair-chance hiring for clients completing vocational training."),
    "corrections": ("reentry_fair_chance", "Pre-release job interviews for CDCR trainees."),
    "economic_development": ("layoff_aversion", "Check-in on expansion plans and incentive programs."),
    "state_agency": ("apprenticeship", "Registering an apprenticeship program for maintenance technicians."),
}
DEFAULT_ASK = ("labor_market_info", "Short conversation about skills the employer is short of.")


@dataclass
class TouchDemoReport:
    requests: int = 0
    touches: int = 0
    held: int = 0
    hand_offs: int = 0
    skipped: bool = False
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.skipped:
            return "Demo touch requests already present: left as they are."
        return (f"Demo touch traffic: {self.requests} partner requests on {self.touches} touches "
                f"({self.held} held, {self.hand_offs} hand-offs waiting for an answer).")


@dataclass(frozen=True)
class _Partner:
    principal: Principal
    kind: str


async def load_touches_demo(sessionmaker: async_sessionmaker[AsyncSession], *, first: Iterable[str] = (),
                            now: dt.datetime | None = None) -> TouchDemoReport:
    """Drive the demo regions' partners and SPOCs through the product's own intake and workflow.

    ``first``: e-mails of the partners to cast first (the demo sign-ins), so they see requests,
    outcomes and a hand-off of their own.
    """
    now = now or clock.now()
    today = clock.local_date(now)
    report = TouchDemoReport()
    async with sessionmaker() as db:
        if await db.scalar(select(func.count()).select_from(TouchRequest)):
            report.skipped = True
            return report
        regions = {r.code: r.id for r in await db.scalars(select(Region).where(Region.code.in_(DEMO_REGION_CODES)))}
    for code in DEMO_REGION_CODES:
        if code in regions:
            await _region(sessionmaker, code, regions[code], set(first), today, now, report)
    async with sessionmaker() as db:
        report.touches = await db.scalar(select(func.count()).select_from(Touch).where(Touch.source == "routed")) or 0
    return report


async def _region(sessionmaker: async_sessionmaker[AsyncSession], code: str, region_id: int, first: set[str],
                  today: dt.date, now: dt.datetime, report: TouchDemoReport) -> None:
    async with sessionmaker() as db:
        partners = await _partners(db, region_id, first)
        assigned = list((await db.execute(
            select(SpocAssignment.employer_id, SpocAssignment.spoc_id).join(Employer)
            .where(SpocAssignment.region_id == region_id, SpocAssignment.ended_at.is_(None),
                   Employer.status == EmployerStatus.active.value, Employer.do_not_contact.is_(False))
            .order_by(SpocAssignment.employer_id).limit(40))).all())
        unassigned = await db.scalar(
            select(Employer.id).where(Employer.region_id == region_id, Employer.status == EmployerStatus.active.value,
                                      Employer.do_not_contact.is_(False),
                                      ~Employer.id.in_(select(SpocAssignment.employer_id).where(
                                          SpocAssignment.region_id == region_id, SpocAssignment.ended_at.is_(None))))
            .order_by(Employer.id))
        acme = await db.scalar(select(Employer.id).where(Employer.legal_name == "ACME Corporation",
                                                         Employer.region_id == region_id))
    if len(partners) < 3 or len(assigned) < 10:
        report.notes.append(f"{code}: too few partners or assigned employers for demo traffic")
        return
    window = (today, today + dt.timedelta(days=30))
    employers = [e for e, _ in assigned if e != acme]
    spoc_of = dict(assigned)

    async def ask(partner: _Partner, employer_id: int, days: int = 30, purpose: str | None = None) -> Any:
        what, summary = ASKS.get(partner.kind, DEFAULT_ASK)
        data = TouchRequestIn(purpose=purpose or what, employer_id=employer_id, region=code, summary=summary,
                              window_start=window[0], window_end=today + dt.timedelta(days=days))
        result = await _step(sessionmaker, lambda db: submit_request(db, partner.principal, data, today=today,
                                                                        now=now))
        report.requests += 1
        return result.body

    # 1. Several partners want the same employers: the first opens a touch, the others bundle into it.
    acme_first = [acme] if acme is not None else []
    for n, employer_id in enumerate(acme_first + employers[:5]):
        for partner in partners[n % len(partners):][:1 + n % 3] or partners[:1]:
            await ask(partner, employer_id)
    # 2. A touch the SPOC has scheduled: a visit next week at 10:00 California time.
    scheduled = await ask(partners[0], employers[5])
    await _as_user(sessionmaker, spoc_of[employers[5]], lambda db, me: workflow.schedule(
        db, me, scheduled.touch_id, ScheduleIn(scheduled_at=dt.datetime.combine(
            today + dt.timedelta(days=6), dt.time(10, 0)), channel="visit"), now))
    # 3. A completed touch with an outcome per request and a warm hand-off the receiving partner must answer.
    done = [await ask(partners[1], employers[6]), await ask(partners[2], employers[6])]
    receiver = next((p for p in partners if p.principal.organization_id not in
                     {partners[1].principal.organization_id, partners[2].principal.organization_id}), partners[0])
    receiver_org = receiver.principal.organization_id
    assert receiver_org is not None
    await _as_user(sessionmaker, spoc_of[employers[6]], lambda db, me: workflow.complete(db, me, done[0].touch_id,
        CompleteIn(outcomes=[
            OutcomeIn(request_id=done[0].id, outcome="interested",
                      note="Wants to meet candidates next month; send three resumes to the HR manager."),
            OutcomeIn(request_id=done[1].id, outcome="follow_up",
                      note="Open to it after their busy season; I will raise it again in the spring.")],
            notes="Met the plant manager and HR; good visit.", channel="visit",
            hand_offs=[HandOffIn(to_org_id=receiver_org,
                                 need="Incumbent-worker training for 12 forklift operators")]), now))
    report.hand_offs += 1
    # 4. The employer called in twice lately (logged touches count toward its budget), so a short
    #    request waits: held until the budget allows, then released into the next touch.
    busy = employers[7]
    for ago in (12, 3):
        # A def, not a lambda: mypy cannot infer a lambda with the extra ``ago=ago`` parameter.
        async def log_call(db: AsyncSession, me: Principal, ago: int = ago) -> Touch:
            return await workflow.log_touch(db, me, LogTouchIn(
                employer_id=busy, channel="call", occurred_on=today - dt.timedelta(days=ago), region=code,
                notes="The employer called in about open positions."), now)
        await _as_user(sessionmaker, spoc_of[busy], log_call)
    held = await ask(partners[0], busy, days=14, purpose="event")
    report.held += held.status == "held"
    # 5. An employer with no SPOC: the touch waits in the region's unassigned queue for the lead.
    if unassigned is not None:
        await ask(partners[1], unassigned)


async def _step(sessionmaker: async_sessionmaker[AsyncSession], fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One write transaction, as a request handler runs it."""
    async with sessionmaker() as db, write_turn(db):
        return await fn(db)


async def _as_user(sessionmaker: async_sessionmaker[AsyncSession], user_id: int,
                   fn: Callable[[AsyncSession, Principal], Awaitable[T]]) -> T:
    async with sessionmaker() as db:
        me = await _principal(db, User.id == user_id)
    return await _step(sessionmaker, lambda db: fn(db, me))


async def _principal(db: AsyncSession, where: Any) -> Principal:
    found = Principal.from_rows((await db.execute(principal_select().where(where))).all())
    assert found is not None
    return found


async def _partners(db: AsyncSession, region_id: int, first: set[str]) -> list[_Partner]:
    """The region's partner users, one per organization, those named in ``first`` first."""
    rows = (await db.execute(
        select(User.id, User.email, Organization.id, Organization.kind)
        .join(RoleGrant, RoleGrant.user_id == User.id).join(Organization, Organization.id == User.organization_id)
        .join(organization_region, organization_region.c.organization_id == Organization.id)
        .where(RoleGrant.role == Role.partner.value, organization_region.c.region_id == region_id,
               User.is_active.is_(True))
        .order_by(User.id))).all()
    seen: set[int] = set()
    chosen = []
    for row in sorted(rows, key=lambda r: (r.email not in first, r.id)):
        if row[2] not in seen:
            seen.add(row[2])
            chosen.append(row)
    # After the named ones, take the kinds in turn (a board, a college, a CBO, ...), not ten boards in a row.
    named = [r for r in chosen if r.email in first]
    seen_of_kind: dict[str, int] = {}

    def turn(row: Any) -> tuple[int, int]:  # the n-th partner of its kind goes in round n
        seen_of_kind[row.kind] = seen_of_kind.get(row.kind, -1) + 1
        return seen_of_kind[row.kind], row.id

    rest = sorted((r for r in chosen if r.email not in first), key=turn)
    return [_Partner(await _principal(db, User.id == r[0]), r.kind) for r in named + rest]
