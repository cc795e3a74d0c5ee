"""The SPOC queue's queries (SPEC §4 "SPOC queue", issue 3): whose touches an actor sees, and the rows
of the queue page, the API's list and the held requests.

Who sees what is one rule (``visibility``) written as alternatives, each served by an index: a SPOC's
own touches (``ix_touch_spoc_status_planned``), a lead's region (``ix_touch_region_status_planned_employer``),
and an away SPOC's touches for their backup. As one ``OR`` the database could use none of them and
read every touch ever made (2,000,000 at California scale) for every page.

The page reads its rows as plain values (``QueueRow``), not ORM entities: up to 200 touches with their
employer, SPOC, contacts and bundled requests, where building and tracking entities cost more than
the queries and the HTML together. The API, and every action, work on ``Touch`` entities.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from litestar.exceptions import NotFoundException
from sqlalchemy import ColumnElement, Row, Select, Subquery, and_, exists, false, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.sql.base import ExecutableOption

from crm import clock
from crm.auth.models import Role, RoleGrant, User
from crm.auth.principal import Principal
from crm.directory.models import Organization, Region
from crm.directory.service import region_id_for
from crm.employers.models import Employer, EmployerContact, SpocAssignment
from crm.employers.service import search_query
from crm.errors import FieldError
from crm.ids import parse_id
from crm.touches.models import (
    OPEN_TOUCH_VALUES,
    EmployerBlackout,
    HandOff,
    Touch,
    TouchRequest,
    touch_contact,
    touch_is_open,
)
from crm.touches.requests import staff_hold_reason
from crm.touches.routing import TouchStatus
from crm.touches.workflow import require_region_staff

# What an API queue entry (``touch_out``) shows, and nothing more: the touch with its employer, region
# and SPOC in one statement, its contacts and bundled requests (with requester and organization) in one
# more each. The models' own eager loads would join regions, counties, organizations and each
# request's touch again for every row.
QUEUE_LOAD: tuple[ExecutableOption, ...] = (
    joinedload(Touch.employer).raiseload("*"), joinedload(Touch.region), joinedload(Touch.spoc).raiseload("*"),
    selectinload(Touch.contacts),
    selectinload(Touch.requests).raiseload("*"),
    selectinload(Touch.requests).joinedload(TouchRequest.requester).raiseload("*"),
    selectinload(Touch.requests).joinedload(TouchRequest.requester_org).raiseload("*"),
)


# ---------------------------------------------------------------- who sees which touches


async def covered_spocs(db: AsyncSession, actor: Principal) -> list[int]:
    """Away SPOCs for whom the actor is the backup on at least one active assignment."""
    backed_up = select(SpocAssignment.id).where(
        SpocAssignment.spoc_id == User.id, SpocAssignment.ended_at.is_(None),
        SpocAssignment.backup_spoc_id == actor.id)
    return list(await db.scalars(select(User.id).where(User.away.is_(True), exists(backed_up)).order_by(User.id)))


@dataclass(frozen=True, slots=True)
class Backup:
    name: str
    employers: int  # active assignments of the away SPOC naming them backup
    away: bool  # away too: those employers' new touches go by the region's routing rules
    gone: bool = False  # deactivated, or no longer a SPOC or lead of the region: routing skips them as well

    @property
    def off(self) -> bool:
        """Covers none of those employers (``routing.choose_spoc`` passes them by)."""
        return self.away or self.gone


@dataclass(frozen=True, slots=True)
class AwayState:
    """A SPOC's own away flag and who covers their employers while it is set (the queue page says so)."""

    away: bool
    backups: list[Backup]
    uncovered: int  # active assignments without a backup

    @property
    def employers(self) -> int:
        """The SPOC's employers (active assignments)."""
        return self.uncovered + sum(b.employers for b in self.backups)

    @property
    def covered(self) -> int:
        """Those whose new touches a backup gets while the SPOC is away: a backup away too takes none."""
        return sum(b.employers for b in self.backups if not b.off)

    def coverage(self) -> str:
        """How much of the SPOC's queue their backups cover while they are away, said before they mark
        themselves away: the rest stays theirs (``routing.choose_spoc``)."""
        if not self.employers:
            return ("No employers are assigned to you, so there is nothing for a backup to cover: "
                    "your open touches stay in your queue.")
        return " ".join(filter(None, (self.covered_words(), self.uncovered_words())))

    def marked_words(self) -> str:
        """What the SPOC is told on marking themselves away: how much their backups cover, and that the rest
        stays in their queue."""
        total, covered = self.employers, self.covered
        if not total:
            return "You are marked away"
        if not covered:
            return ("You are marked away, but none of your employers has a backup at work: their open touches "
                    "stay in your queue")
        yours = "your backup covers" if sum(not b.off for b in self.backups) == 1 else "your backups cover"
        if covered == total:
            return f"You are marked away: {yours} {'your one employer' if total == 1 else 'all your employers'}"
        left = total - covered
        return (f"You are marked away: {yours} {covered} of your {_employers(total)}; the open touches of the "
                f"other {'one' if left == 1 else left} stay in your queue")

    def covered_words(self) -> str:
        """"Your backup, Sam Ortiz, covers 49 of your 202 employers." ("" when none is covered)."""
        total, covered = self.employers, self.covered
        at_work = [b for b in self.backups if not b.off]
        if not covered:
            return ""
        how_many = ("your one employer" if total == 1 else "both your employers" if covered == total == 2
                    else f"all {total} of your employers" if covered == total
                    else f"{covered} of your {_employers(total)}")
        if len(at_work) == 1:
            return f"Your backup, {at_work[0].name}, covers {how_many}."
        return f"Your backups cover {how_many} ({', '.join(f'{b.name} {b.employers}' for b in at_work)})."

    def uncovered_words(self) -> str:
        """What becomes of the employers no backup at work covers while the SPOC is away ("" when none)."""
        total, left = self.employers, self.employers - self.covered
        if not left:
            return ""
        also_away = "".join(f" ({b.name}, the backup of {_employers(b.employers)}, "
                            f"{'can no longer take work here' if b.gone else 'is away too'})"
                            for b in self.backups if b.off)
        backup = f"backup{' at work' if also_away else ''}{also_away}"
        their = "its" if left == 1 else "their"
        rest = (f"while you are away, {their} new touches go by the region's routing rules, or to the unassigned "
                f"queue, and {their} open touches stay in your queue")
        if left == total:
            who = "Your one employer has no" if total == 1 else f"None of your {total} employers has a"
            return f"{who} {backup}: {rest}. Ask your lead for a backup."
        return f"The other {'one has' if left == 1 else f'{left} have'} no {backup}: {rest}."


def _employers(n: int) -> str:
    return f"{n} employer{'s' if n != 1 else ''}"


async def away_state(db: AsyncSession, actor: Principal) -> AwayState | None:
    """The actor's away flag and backups; None for a user who holds no SPOC role (nothing to cover)."""
    if not actor.has(Role.spoc):
        return None
    away = bool(await db.scalar(select(User.away).where(User.id == actor.id)))
    # One pass over the actor's active assignments, by backup (none: the row with a NULL backup), and whether
    # that backup may still work the assignment's region (as routing asks: active, a SPOC or lead there).
    works_there = and_(User.is_active.is_(True), exists().where(
        RoleGrant.user_id == User.id, RoleGrant.region_id == SpocAssignment.region_id,
        RoleGrant.role.in_([Role.spoc.value, Role.lead.value])))
    # Counted here, not grouped by in SQL: a few hundred rows at most.
    counts: Counter[tuple[int | None, str | None, bool, bool]] = Counter(
        (backup_id, name, bool(b_away), bool(works)) for backup_id, name, b_away, works in await db.execute(
            select(SpocAssignment.backup_spoc_id, User.name, User.away, works_there)
            .outerjoin(User, User.id == SpocAssignment.backup_spoc_id)
            .where(SpocAssignment.spoc_id == actor.id, SpocAssignment.ended_at.is_(None))))
    backups = sorted((Backup(name or "", n, b_away, gone=not works) for (backup_id, name, b_away, works), n
                      in counts.items() if backup_id is not None), key=lambda b: (b.name, b.gone))
    uncovered = sum(n for (backup_id, *_), n in counts.items() if backup_id is None)
    return AwayState(away, backups, uncovered)


def visibility(actor: Principal, covered: Sequence[int]) -> list[ColumnElement[bool]] | None:
    """The actor's queue as alternatives, each one an index's job; None means everything (admins).

    A lead sees their whole region (unassigned queue included); a SPOC their own touches and those
    of an away SPOC (one of ``covered``) whose assignment of the touch's employer names them backup.
    """
    if actor.is_admin:
        return None
    branches: list[ColumnElement[bool]] = [Touch.spoc_id == actor.id]
    if covered:
        backup_of_touch = select(SpocAssignment.id).where(
            SpocAssignment.employer_id == Touch.employer_id, SpocAssignment.region_id == Touch.region_id,
            SpocAssignment.ended_at.is_(None), SpocAssignment.spoc_id == Touch.spoc_id,
            SpocAssignment.backup_spoc_id == actor.id)
        branches.append(and_(Touch.spoc_id.in_(list(covered)), exists(backup_of_touch)))
    if lead_regions := actor.regions_for(Role.lead):
        branches.append(Touch.region_id.in_(sorted(lead_regions)))
    return branches


def _status(status: str | None, everyone: bool) -> ColumnElement[bool]:
    if status not in (None, "", "open"):
        return Touch.status == status
    # Inlined only for a queue of everyone's touches: then no SPOC or region index applies and the
    # literal lets SQLite read the open touches from their partial indexes. Next to spoc_id = ? or
    # region_id IN (...) the bound form is better: SQLite (no per-value statistics) would otherwise
    # walk every open touch of the state in date order through ix_touch_open_planned to find a
    # SPOC's 130.
    return touch_is_open() if everyone else Touch.status.in_(OPEN_TOUCH_VALUES)


async def _filters(db: AsyncSession, *, status: str | None, region: str | None, employer_id: int | None,
                   due_before: dt.date | None, due_after: dt.date | None, q: str | None,
                   unassigned: bool) -> list[ColumnElement[bool]]:
    if status not in (None, "", "open") and status not in {s.value for s in TouchStatus}:
        raise FieldError("status", f"must be open or one of {', '.join(s.value for s in TouchStatus)}")
    filters: list[ColumnElement[bool]] = []
    if region:
        filters.append(Touch.region_id == await region_id_for(db, region))
    if employer_id is not None:
        filters.append(Touch.employer_id == employer_id)
    if due_before is not None:
        filters.append(Touch.planned_on <= due_before)
    if due_after is not None:
        filters.append(Touch.planned_on >= due_after)
    if unassigned:
        filters.append(Touch.spoc_id.is_(None))
    if q and q.strip():
        employers = Touch.employer_id.in_(search_query(q).with_only_columns(Employer.id))
        # "#29" (or "29") is also touch #29, as cards, e-mails and the timeline name touches.
        touch_id = parse_id(q.strip().removeprefix("#"))
        filters.append(employers if touch_id is None else or_(employers, Touch.id == touch_id))
    return filters


@dataclass(frozen=True)
class Queue:
    """The actor's queue with filters: one SELECT of (id, planned_on) per alternative of ``visibility``.

    One SELECT per alternative, each served by its own index, combined with UNION: written as one OR
    they defeat every index. A page takes its ids (and nothing else) in order first, then reads only
    those touches: joining employers, regions and SPOCs to thousands of a region's touches before
    keeping 200 was most of a lead's page on PostgreSQL.
    """

    selects: list[Select[int, dt.date]]
    newest_first: bool = False  # completed or cancelled touches: the latest are the ones looked for

    def order(self, planned_on: Any, id_: Any) -> tuple[Any, Any]:
        return (planned_on.desc(), id_.desc()) if self.newest_first else (planned_on, id_)

    def _ids(self) -> Subquery:
        return (self.selects[0] if len(self.selects) == 1 else union(*self.selects)).subquery()

    def page(self, limit: int, offset: int = 0) -> Subquery:
        """The ids of one page, soonest first (``planned_on``, then ``id``; closed touches latest first),
        each with the queue's ``total``."""
        ids = self._ids()
        return (select(ids.c.id, func.count().over().label("total")).order_by(*self.order(ids.c.planned_on, ids.c.id))
                .limit(limit).offset(offset).subquery())

    async def total(self, db: AsyncSession) -> int:
        return await db.scalar(select(func.count()).select_from(self._ids())) or 0


async def queue_query(db: AsyncSession, actor: Principal, *, status: str | None = None, region: str | None = None,
                      employer_id: int | None = None, due_before: dt.date | None = None,
                      due_after: dt.date | None = None, q: str | None = None, unassigned: bool = False) -> Queue:
    """The actor's queue with filters; ``status`` None or "open" means queued + scheduled."""
    filters = await _filters(db, status=status, region=region, employer_id=employer_id,
                             due_before=due_before, due_after=due_after, q=q, unassigned=unassigned)
    branches = visibility(actor, [] if actor.is_admin else await covered_spocs(db, actor))
    closed = status in (TouchStatus.COMPLETED.value, TouchStatus.CANCELLED.value)
    if branches is None:
        return Queue([select(Touch.id, Touch.planned_on).where(_status(status, everyone=True), *filters)], closed)
    return Queue([select(Touch.id, Touch.planned_on).where(branch, _status(status, everyone=False), *filters)
                  for branch in branches], closed)


async def list_queue(db: AsyncSession, actor: Principal, *, limit: int, offset: int,
                     **filters: object) -> tuple[list[Touch], int]:
    """One page of the actor's queue as entities (soonest first), loaded as ``QUEUE_LOAD`` says, and the total."""
    queue = await queue_query(db, actor, **filters)  # type: ignore[arg-type]
    page = queue.page(limit, offset)
    rows = await db.scalars(select(Touch).join(page, page.c.id == Touch.id).order_by(*queue.order(Touch.planned_on,
                                                                                                 Touch.id))
                            .options(*QUEUE_LOAD))
    return list(rows), await queue.total(db)


async def get_touch(db: AsyncSession, actor: Principal, touch_id: int,
                    load: Sequence[ExecutableOption] = ()) -> Touch:
    """One touch of the actor's regions, loaded afresh (an action may just have changed it)."""
    touch = await db.scalar(select(Touch).where(Touch.id == touch_id).options(*QUEUE_LOAD, *load)
                            .execution_options(populate_existing=True))
    if touch is None:
        raise NotFoundException(f"Touch #{touch_id} not found")
    require_region_staff(actor, touch.region_id)
    return touch


# ---------------------------------------------------------------- the page's rows, as plain values


# Attribute names are the entities' (``touch.employer.legal_name``, ``touch.region.code``), so the one
# row template shows a QueueRow and a Touch alike.
@dataclass(frozen=True, slots=True)
class Named:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class EmployerRef:
    id: int
    legal_name: str
    do_not_contact: bool = False  # its card says the touch waits on an employer that asked not to be contacted


@dataclass(frozen=True, slots=True)
class RegionRef:
    id: int
    code: str


@dataclass(frozen=True, slots=True)
class RequestRow:
    id: int
    status: str
    purpose: str
    priority: str
    summary: str
    outcome: str | None
    outcome_note: str | None
    requester: Named
    requester_org: Named


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A touch as a queue row shows it."""

    id: int
    status: str
    source: str
    channel: str | None
    employer_id: int
    employer: EmployerRef
    region_id: int
    region: RegionRef
    spoc_id: int | None
    spoc: Named | None
    window_start: dt.date
    window_end: dt.date
    planned_on: dt.date
    scheduled_at: dt.datetime | None
    cancel_reason: str | None
    override_reason: str | None
    contacts: list[Named] = field(default_factory=list)
    requests: list[RequestRow] = field(default_factory=list)
    spoc_away: bool = False  # its SPOC is marked away (with no backup, or it would have gone to them)


async def queue_rows(db: AsyncSession, actor: Principal, *, limit: int,
                     **filters: object) -> tuple[list[QueueRow], int]:
    """The first ``limit`` touches of the actor's queue as rows (soonest first), and how many there are."""
    queue = await queue_query(db, actor, **filters)  # type: ignore[arg-type]
    page = queue.page(limit)
    spoc = aliased(User)
    found = (await db.execute(
        select(Touch.id, Touch.status, Touch.source, Touch.channel, Touch.employer_id, Employer.legal_name,
               Touch.region_id, Region.code, Touch.spoc_id, spoc.name, Touch.window_start, Touch.window_end,
               Touch.planned_on, Touch.scheduled_at, Touch.cancel_reason, Touch.override_reason, page.c.total,
               spoc.away, Employer.do_not_contact)
        .select_from(page).join(Touch, Touch.id == page.c.id).join(Employer, Employer.id == Touch.employer_id)
        .join(Region, Region.id == Touch.region_id).outerjoin(spoc, spoc.id == Touch.spoc_id)
        .order_by(*queue.order(Touch.planned_on, Touch.id)))).all()
    rows = [_row(r) for r in found]
    if rows:
        by_id = {r.id: r for r in rows}
        contacts = await db.execute(
            select(touch_contact.c.touch_id, EmployerContact.id, EmployerContact.name)
            .join(EmployerContact, EmployerContact.id == touch_contact.c.contact_id)
            .where(touch_contact.c.touch_id.in_(list(by_id))).order_by(EmployerContact.id))
        for touch_id, contact_id, name in contacts:
            by_id[touch_id].contacts.append(Named(contact_id, name))
        requests = await db.execute(
            select(TouchRequest.touch_id, TouchRequest.id, TouchRequest.status, TouchRequest.purpose,
                   TouchRequest.priority, TouchRequest.summary, TouchRequest.outcome, TouchRequest.outcome_note,
                   TouchRequest.requester_id, User.name, TouchRequest.requester_org_id, Organization.name)
            .join(User, User.id == TouchRequest.requester_id)
            .join(Organization, Organization.id == TouchRequest.requester_org_id)
            .where(TouchRequest.touch_id.in_(list(by_id))).order_by(TouchRequest.id))
        for (touch_id, id_, status, purpose, priority, summary, outcome, outcome_note,
             requester_id, requester_name, org_id, org_name) in requests:
            # touch_id IN (...) above: never NULL here.
            by_id[cast(int, touch_id)].requests.append(RequestRow(
                id_, status, purpose, priority, summary, outcome, outcome_note,
                Named(requester_id, requester_name), Named(org_id, org_name)))
    return rows, found[0].total if found else 0


def _row(r: Row[*tuple[Any, ...]]) -> QueueRow:
    (id_, status, source, channel, employer_id, employer_name, region_id, region_code, spoc_id, spoc_name,
     window_start, window_end, planned_on, scheduled_at, cancel_reason, override_reason, _total, spoc_away,
     do_not_contact) = r
    return QueueRow(id_, status, source, channel, employer_id,
                    EmployerRef(employer_id, employer_name, bool(do_not_contact)), region_id,
                    RegionRef(region_id, region_code), spoc_id,
                    Named(spoc_id, spoc_name) if spoc_id is not None else None,
                    window_start, window_end, planned_on, scheduled_at, cancel_reason, override_reason,
                    spoc_away=bool(spoc_away))


async def hand_offs_by_touch(db: AsyncSession, touches: Iterable[Any]) -> dict[int, list[Any]]:
    """Touch id -> the hand-offs it made (``id``, to which organization, what for, answered or not), for a page
    of touches (queue cards, API items) in one statement. Only completing or logging a touch (both completed)
    makes hand-offs: other touches have none, and a page without a completed one reads nothing."""
    completed = [t.id for t in touches if t.status == TouchStatus.COMPLETED.value]
    if not completed:
        return {}
    rows = await db.execute(
        select(HandOff.touch_id, HandOff.id, HandOff.need, HandOff.status, Organization.name.label("org"),
               User.name.label("person"))
        .join(Organization, Organization.id == HandOff.to_org_id).outerjoin(User, User.id == HandOff.to_user_id)
        .where(HandOff.touch_id.in_(completed))
        .order_by(HandOff.id))
    found: dict[int, list[Any]] = {}
    for row in rows:
        found.setdefault(row.touch_id, []).append(row)
    return found


@dataclass(frozen=True, slots=True)
class BlackoutClash:
    """One of the employer's blackout periods that an open touch's day falls in (its card warns)."""

    starts_on: dt.date
    ends_on: dt.date
    reason: str | None


def touch_days(touch: QueueRow | Touch) -> set[dt.date]:
    """The days an open touch would contact the employer: its planned day and its appointment's
    California day (the same day once scheduled, but the appointment is what the employer sees)."""
    days = {touch.planned_on}
    if touch.scheduled_at is not None:
        days.add(clock.local_date(touch.scheduled_at))
    return days


async def blackout_clashes(db: AsyncSession, touches: Sequence[QueueRow | Touch]) -> dict[int, list[BlackoutClash]]:
    """Touch id -> the employer's blackout periods (soonest first) that an open touch's planned day or
    appointment falls in, for the touches of one page in one statement (a query per card would cost
    the queue page 200 of them). Closed touches are history: they get no warning."""
    open_touches = [t for t in touches if t.status in OPEN_TOUCH_VALUES]
    if not open_touches:
        return {}
    days = {t.id: touch_days(t) for t in open_touches}
    first, last = min(min(d) for d in days.values()), max(max(d) for d in days.values())
    rows = await db.execute(
        select(EmployerBlackout.employer_id, EmployerBlackout.starts_on, EmployerBlackout.ends_on,
               EmployerBlackout.reason)
        .where(EmployerBlackout.employer_id.in_(sorted({t.employer_id for t in open_touches})),
               EmployerBlackout.ends_on >= first, EmployerBlackout.starts_on <= last)
        .order_by(EmployerBlackout.starts_on, EmployerBlackout.id))
    periods: dict[int, list[BlackoutClash]] = {}
    for employer_id, starts_on, ends_on, reason in rows:
        periods.setdefault(employer_id, []).append(BlackoutClash(starts_on, ends_on, reason))
    clashes = {t.id: [b for b in periods.get(t.employer_id, ())
                      if any(b.starts_on <= day <= b.ends_on for day in days[t.id])] for t in open_touches}
    return {touch_id: found for touch_id, found in clashes.items() if found}


@dataclass(frozen=True, slots=True)
class HeldRow:
    id: int
    release_on: dt.date | None
    employer_id: int | None
    employer_name: str | None
    requester_org: str
    purpose: str
    summary: str
    hold_reason: str | None  # None: the employer's pacing budget
    region_id: int


def held_own_regions(actor: Principal) -> frozenset[int]:
    """The regions where the actor's held requests are only those of their own (and covered) employers: the
    ones they work as a SPOC without leading them."""
    return frozenset() if actor.is_admin else actor.regions_for(Role.spoc) - actor.regions_for(Role.lead)


def held_scope(actor: Principal) -> ColumnElement[bool] | None:
    """The held requests the actor's queue lists, scoped as its touches (``visibility``); None means all (admins).

    A lead: every held request of the regions they lead. A SPOC, in the other regions they work: those of the
    employers they are the active SPOC of, and of those whose away SPOC's assignment names them backup (the
    employers whose touches they see and can act on); another SPOC's, or an unassigned employer's (a lead's
    unassigned queue), are not theirs to work. The requests API (``GET /api/touch-requests``) stays what the
    region's staff may read, every request of their regions: a record to look things up in, not a worklist.
    """
    if actor.is_admin:
        return None
    lead_regions = actor.regions_for(Role.lead)
    scope: list[ColumnElement[bool]] = []
    if lead_regions:
        scope.append(TouchRequest.region_id.in_(sorted(lead_regions)))
    if spoc_regions := held_own_regions(actor):
        a, spoc = aliased(SpocAssignment), aliased(User)
        theirs = select(a.id).join(spoc, spoc.id == a.spoc_id).where(
            a.employer_id == TouchRequest.employer_id, a.region_id == TouchRequest.region_id, a.ended_at.is_(None),
            or_(a.spoc_id == actor.id, and_(a.backup_spoc_id == actor.id, spoc.away.is_(True))))
        scope.append(and_(TouchRequest.region_id.in_(sorted(spoc_regions)), exists(theirs)))
    return or_(*scope) if scope else false()


HELD_SHOWN = 100  # held requests a queue page lists, soonest release first


async def held_requests(db: AsyncSession, actor: Principal, limit: int | None = None, *,
                        q: str | None = None, region: str | None = None) -> list[HeldRow]:
    """The held requests of the actor's queue (``held_scope``), soonest release first; ``q`` and
    ``region`` (a code) narrow them as they narrow the queue's touches."""
    stmt = (select(TouchRequest.id, TouchRequest.release_on, TouchRequest.employer_id, Employer.legal_name,
                   Organization.name, TouchRequest.purpose, TouchRequest.summary, TouchRequest.hold_reason,
                   TouchRequest.region_id)
            .outerjoin(Employer, Employer.id == TouchRequest.employer_id)
            .join(Organization, Organization.id == TouchRequest.requester_org_id)
            .where(TouchRequest.status == "held"))
    if (scope := held_scope(actor)) is not None:
        stmt = stmt.where(scope)
    if region:
        stmt = stmt.where(TouchRequest.region_id == await region_id_for(db, region))
    if q and q.strip():
        stmt = stmt.where(TouchRequest.employer_id.in_(search_query(q).with_only_columns(Employer.id)))
    rows = await db.execute(stmt.order_by(TouchRequest.release_on, TouchRequest.id).limit(limit or HELD_SHOWN))
    # The queue is staff's: a reason intake worded to the requester reads without the "you".
    return [HeldRow(*r[:7], staff_hold_reason(r.hold_reason), r.region_id) for r in rows]
