"""Advisory councils: scope checks, roster, meetings, attendance (as counted touches), recommendations.

The imperative shell around ``crm.councils.compliance``: it loads rows into the core's plain views,
asks the core, and writes. Who may do what:

* view: admins; leads and SPOCs of the council's region; staff of the owner organization; and
  the people on the roster who have a sign-in (an industry chair sees their own councils).
* manage (create, edit, roster, meetings, attendance, recommendations): admins, leads of the
  council's region and the owner organization's staff — never a chair-only user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

import msgspec
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit import service as audit
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.auth.service import seat_user
from crm.clock import local_date, today
from crm.councils.compliance import (
    MEETING_YEARS_AHEAD,
    TERM_END_YEARS_AHEAD,
    TERM_START_YEARS_AHEAD,
    Badge,
    ComplianceInputError,
    CouncilView,
    MeetingView,
    MemberRole,
    MemberType,
    MemberView,
    council_badges,
    is_current,
    record_day_problem,
    validate_member_term,
    validate_roster,
)
from crm.councils.models import (
    RECOMMENDATION_STATUSES,
    AdvisoryCouncil,
    CouncilMeeting,
    CouncilMember,
    MeetingAttendance,
    Recommendation,
)
from crm.councils.schemas import (
    NAME_MAX,
    TEXT_MAX,
    CouncilIn,
    CouncilPatch,
    MeetingIn,
    MemberIn,
    RecommendationIn,
    RecommendationPatch,
)
from crm.db import begin_write, lock_row
from crm.directory.models import Organization
from crm.directory.service import check_member_employer, regions_served
from crm.emails import optional_email
from crm.employers.models import EmployerContact, EmployerStatus, SpocAssignment
from crm.employers.naics import naics_prefix_problem
from crm.employers.service import lock_employer, lock_employer_of, locked_employer, region_id_for
from crm.errors import Conflict, FieldConflict, FieldError
from crm.seen import Changed, digest, last_change
from crm.sqltext import name_key
from crm.touches.models import Touch
from crm.touches.requests import human_date

COUNCIL_FIELDS = ("name", "owner_organization_id", "region_id", "program", "naics_prefix", "description")
MEMBER_FIELDS = ("name", "email", "title", "organization_id", "employer_id", "employer_contact_id", "user_id",
                 "member_type", "role", "term_start", "term_end")


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


# ----------------------------------------------------------------------------------------------
# scope
# ----------------------------------------------------------------------------------------------

def is_owner_staff(principal: Principal, owner_organization_id: int) -> bool:
    """A CRM user (not a chair-only sign-in) of the owner organization."""
    return principal.is_crm_user and principal.organization_id == owner_organization_id


def can_manage(principal: Principal, council: AdvisoryCouncil) -> bool:
    return (principal.is_admin or principal.can_in_region(council.region_id, Role.lead)
            or is_owner_staff(principal, council.owner_organization_id))


def visible_condition(principal: Principal) -> ColumnElement[bool]:
    """SQL filter for the councils ``principal`` may see (see the module docstring)."""
    if principal.is_admin:
        return true()
    conds: list[ColumnElement[bool]] = []
    regions = principal.regions_for(Role.lead, Role.spoc)
    if regions:
        conds.append(AdvisoryCouncil.region_id.in_(regions))
    if principal.is_crm_user and principal.organization_id is not None:
        conds.append(AdvisoryCouncil.owner_organization_id == principal.organization_id)
    conds.append(AdvisoryCouncil.id.in_(member_council_ids(principal.id)))
    return or_(*conds) if conds else false()


def member_council_ids(user_id: int) -> Select[int]:
    """Councils on whose roster the user currently sits (not removed; term not ended before today)."""
    return select(CouncilMember.council_id).where(
        CouncilMember.user_id == user_id, CouncilMember.removed_at.is_(None),
        or_(CouncilMember.term_end.is_(None), CouncilMember.term_end >= today()))


async def get_council(db: AsyncSession, council_id: int) -> AdvisoryCouncil:
    council = await db.get(AdvisoryCouncil, council_id)
    if council is None:
        raise NotFoundException(f"Council #{council_id} not found")
    return council


async def council_for_view(db: AsyncSession, principal: Principal, council_id: int) -> AdvisoryCouncil:
    council = await get_council(db, council_id)
    visible = await db.scalar(select(AdvisoryCouncil.id).where(
        AdvisoryCouncil.id == council_id, visible_condition(principal)))
    if visible is None:
        raise PermissionDeniedException("You are not on this council and do not manage it")
    return council


async def council_for_chair(db: AsyncSession, principal: Principal, council_id: int) -> AdvisoryCouncil:
    """The chair's read-only view: membership is the only way in (admins may look too)."""
    council = await get_council(db, council_id)
    if principal.is_admin:
        return council
    if await db.scalar(member_council_ids(principal.id).where(CouncilMember.council_id == council_id)) is None:
        raise PermissionDeniedException("You are not a member of this council")
    return council


async def council_for_manage(db: AsyncSession, principal: Principal, council_id: int) -> AdvisoryCouncil:
    council = await council_for_view(db, principal, council_id)
    if not can_manage(principal, council):
        raise PermissionDeniedException("Only the owner organization's staff and the region's leads manage "
                                        "this council")
    return council


async def list_councils(db: AsyncSession, principal: Principal, *, limit: int = 25, offset: int = 0,
                        only_member: bool = False) -> tuple[list[AdvisoryCouncil], int]:
    cond = AdvisoryCouncil.id.in_(member_council_ids(principal.id)) if only_member else visible_condition(principal)
    total = await db.scalar(select(func.count(AdvisoryCouncil.id)).where(cond)) or 0
    rows = await db.scalars(select(AdvisoryCouncil).where(cond).order_by(AdvisoryCouncil.name, AdvisoryCouncil.id)
                            .limit(limit).offset(offset))
    return list(rows), total


# ----------------------------------------------------------------------------------------------
# councils
# ----------------------------------------------------------------------------------------------

def _length_problems(values: Mapping[str, Any], *bounds: tuple[str, int]) -> list[tuple[str, str]]:
    return [(field, f"at most {most} characters") for field, most in bounds if len(values.get(field) or "") > most]


async def council_problems(db: AsyncSession, actor: Principal, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of a new council's fields at once, as organization and user create say theirs: name,
    program, description, NAICS prefix, region, owner and whether the owner serves the region. ``values``
    may lack fields a form already refused (the page checks what did parse); a region or owner left out
    is not checked against the other."""
    wrong: list[tuple[str, str]] = []
    if "name" in values:
        name = _clean(values["name"])
        if not name:
            wrong.append(("name", "is required"))
        elif len(name) > NAME_MAX:
            wrong.append(("name", f"at most {NAME_MAX} characters"))
    wrong += _length_problems(values, ("program", NAME_MAX), ("description", TEXT_MAX))
    if values.get("naics_prefix") and (problem := naics_prefix_problem(values["naics_prefix"])):
        wrong.append(("naics_prefix", problem))
    region_id: int | None = None
    if (code := values.get("region")) is not None:
        if not code.strip():
            wrong.append(("region", "is required"))
        elif len(code) > 32:
            wrong.append(("region", "is not a region code"))
        else:
            try:
                region_id = await region_id_for(db, code)
            except FieldError as exc:
                wrong += exc.fields
    owner: Organization | None = None
    if (owner_id := values.get("owner_organization_id")) is not None:
        if (owner := await db.get(Organization, owner_id)) is None:
            wrong.append(("owner_organization_id", f"unknown organization #{owner_id}"))
    if (owner is not None and region_id is not None and is_owner_staff(actor, owner.id)
            and not (actor.is_admin or actor.can_in_region(region_id, Role.lead))
            and region_id not in await regions_served(db, owner.id)):
        # Its attendance counts against employers' contact budgets: only where the owner works.
        wrong.append(("region", f"is not a region {owner.name} serves"))
    name = _clean(values.get("name"))
    if name and owner is not None and region_id is not None and await db.scalar(select(AdvisoryCouncil.id).where(
            AdvisoryCouncil.owner_organization_id == owner.id, AdvisoryCouncil.region_id == region_id,
            AdvisoryCouncil.name_key == name_key(name))) is not None:
        # As organizations: said with the other problems, else a 409 of its own (a form sent twice).
        if not wrong:
            raise FieldConflict("name", _taken(owner.name, name))
        wrong.append(("name", _taken(owner.name, name)))
    return wrong


def _taken(owner: str, name: str) -> str:
    return f"{owner} already has a council named {name!r} in this region"


async def create_council(db: AsyncSession, actor: Principal, data: CouncilIn) -> AdvisoryCouncil:
    """A new council; a 422 names every field that is wrong at once (``council_problems``), a 403 when the
    actor may not manage it. Audited."""
    if wrong := await council_problems(db, actor, msgspec.structs.asdict(data)):
        raise FieldError(*wrong[0], *wrong[1:])
    region_id = await region_id_for(db, data.region)
    council = AdvisoryCouncil(name=_clean(data.name) or "", owner_organization_id=data.owner_organization_id,
                              region_id=region_id, program=_clean(data.program), naics_prefix=data.naics_prefix or None,
                              description=(data.description or "").strip() or None)
    if not can_manage(actor, council):
        raise PermissionDeniedException("Councils are created by their owner organization's staff or the "
                                        "region's leads")
    db.add(council)
    await _flush_name(db, council)
    await db.refresh(council, ["owner_organization", "region"])
    audit.record(db, actor, "council.create", "advisory_council", council.id,
                 after=audit.snapshot(council, COUNCIL_FIELDS))
    return council


async def _flush_name(db: AsyncSession, council: AdvisoryCouncil) -> None:
    """Write the council; one of the same name written meanwhile (the same form sent twice at once) is a 409
    at the name: uq_advisory_council_owner_region_name."""
    # The message is read before the write that may fail: its savepoint's rollback expires the council.
    with db.no_autoflush:
        taken = _taken((await db.get_one(Organization, council.owner_organization_id)).name, council.name)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:
        raise FieldConflict("name", taken) from None


EDITED_FIELDS = ("name", "program", "naics_prefix", "description")  # what the edit form shows and saves


def council_seen(council: AdvisoryCouncil) -> str:
    """The digest of what the edit form shows (``crm.seen``)."""
    return digest([getattr(council, k) for k in EDITED_FIELDS])


async def update_council(db: AsyncSession, actor: Principal, council: AdvisoryCouncil,
                         patch: CouncilPatch) -> AdvisoryCouncil:
    """Change the fields the patch has; one that says what it ``seen`` is refused (409) when someone saved
    meanwhile, under the council's row lock (the edit form sends every field: a stale one would blank theirs)."""
    locked = await lock_row(db, AdvisoryCouncil, council.id)
    if locked is None:
        raise NotFoundException(f"Council #{council.id} not found")
    council = locked
    if patch.seen and patch.seen != council_seen(council):
        who = (await last_change(db, "advisory_council", council.id, ("council.update", "council.create"))).by
        raise Changed(f"{council.name} was changed meanwhile by {who}: nothing was saved. What is saved now is "
                      "shown; your entries are kept below — check them against it and save again.")
    before = audit.snapshot(council, COUNCIL_FIELDS)
    fields = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET and k != "seen"}
    wrong = [(field, problem) for field, problem in (
        ("name", "is required" if "name" in fields and not _clean(fields["name"]) else None),
        ("naics_prefix", fields.get("naics_prefix") and naics_prefix_problem(fields["naics_prefix"])))
        if problem]
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    if "name" in fields:
        council.name = cast(str, _clean(fields["name"]))
    if "program" in fields:
        council.program = _clean(fields["program"])
    if "naics_prefix" in fields:
        council.naics_prefix = fields["naics_prefix"] or None
    if "description" in fields:
        council.description = (fields["description"] or "").strip() or None
    await _flush_name(db, council)
    old, new = audit.diff(before, audit.snapshot(council, COUNCIL_FIELDS))
    if new:
        audit.record(db, actor, "council.update", "advisory_council", council.id, before=old, after=new)
    return council


# ----------------------------------------------------------------------------------------------
# roster
# ----------------------------------------------------------------------------------------------

async def members(db: AsyncSession, council_id: int, *, include_removed: bool = False) -> list[CouncilMember]:
    stmt = select(CouncilMember).where(CouncilMember.council_id == council_id)
    if not include_removed:
        stmt = stmt.where(CouncilMember.removed_at.is_(None))
    rows = list(await db.scalars(stmt.order_by(CouncilMember.name, CouncilMember.id)))
    # Chair first, then vice-chairs, then members; removed seats last (a stable sort keeps names in order).
    rank = {MemberRole.CHAIR.value: 0, MemberRole.VICE_CHAIR.value: 1, MemberRole.MEMBER.value: 2}
    return sorted(rows, key=lambda m: (m.removed_at is not None, rank.get(m.role, 3)))


def member_view(m: CouncilMember) -> MemberView:
    return MemberView(member_type=MemberType(m.member_type), role=MemberRole(m.role),
                      organization_id=m.organization_id, employer_id=m.employer_id,
                      term_start=m.term_start, term_end=m.term_end, name=m.name)


async def meetings(db: AsyncSession, council_id: int) -> list[CouncilMeeting]:
    return list(await db.scalars(select(CouncilMeeting).where(CouncilMeeting.council_id == council_id)
                                 .order_by(CouncilMeeting.held_on.desc(), CouncilMeeting.id.desc())))


async def meeting_views(db: AsyncSession, council_id: int) -> list[MeetingView]:
    """Every meeting of the council with how many people were ticked present (unticked rows stay as
    ``present = false``), in one statement."""
    present = await db.execute(
        select(CouncilMeeting.held_on, func.count(MeetingAttendance.id))
        .outerjoin(MeetingAttendance, and_(MeetingAttendance.meeting_id == CouncilMeeting.id,
                                           MeetingAttendance.present.is_(True)))
        .where(CouncilMeeting.council_id == council_id).group_by(CouncilMeeting.id, CouncilMeeting.held_on))
    return [MeetingView(held_on, count) for held_on, count in present]


async def badges(db: AsyncSession, council: AdvisoryCouncil, on: dt.date | None = None) -> list[Badge]:
    roster = await members(db, council.id)
    view = CouncilView(owner_organization_id=council.owner_organization_id,
                       members=[member_view(m) for m in roster], meetings=await meeting_views(db, council.id))
    return council_badges(view, on or today())


def _enum(field: str, value: str, allowed: type[MemberType] | type[MemberRole]) -> str:
    try:
        return allowed(value).value
    except ValueError:
        raise FieldError(field, f"unknown {field} {value!r}; expected one of: "
                                f"{', '.join(v.value for v in allowed)}") from None


def compliance_error(exc: ComplianceInputError) -> FieldError:
    return FieldError(exc.field, exc.message)


def member_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of a seat's fields that needs no database (name, type, role, term, e-mail, for whom it
    sits), at once; ``values`` may lack fields a form already refused (the page checks what did parse)."""
    wrong: list[tuple[str, str]] = []
    if "name" in values and not _clean(values["name"]):
        wrong.append(("name", "is required"))
    for field, allowed in (("member_type", MemberType), ("role", MemberRole)):
        if values.get(field) is not None:
            try:
                _enum(field, values[field], allowed)
            except FieldError as exc:
                wrong.extend(exc.fields)
    for field, years in (("term_start", TERM_START_YEARS_AHEAD), ("term_end", TERM_END_YEARS_AHEAD)):
        if problem := record_day_problem(values.get(field), today(), years):
            wrong.append((field, problem))
    try:
        validate_member_term(values.get("term_start"), values.get("term_end"))
    except ComplianceInputError as exc:
        wrong.append((exc.field, exc.message))
    if values.get("organization_id") is not None and (values.get("employer_id") is not None
                                                      or values.get("employer_contact_id") is not None):
        wrong.append(("organization_id", "a member sits for an employer or for an organization, not both"))
    try:
        optional_email(values.get("email"))
    except ValueError as exc:
        wrong.append(("email", str(exc)))
    return wrong


async def _lock_roster(db: AsyncSession, council: AdvisoryCouncil) -> None:
    """Take the council's row lock before reading its roster: two seats added at once would each
    pass the duplicate and one-chair checks against a roster without the other."""
    if await lock_row(db, AdvisoryCouncil, council.id) is None:
        raise NotFoundException(f"Council #{council.id} not found")


async def add_member(db: AsyncSession, actor: Principal, council: AdvisoryCouncil, data: MemberIn) -> CouncilMember:
    if wrong := member_problems(msgspec.structs.asdict(data)):
        raise FieldError(*wrong[0], *wrong[1:])
    await _lock_roster(db, council)
    name = cast(str, _clean(data.name))
    member_type, role = MemberType(data.member_type).value, MemberRole(data.role).value
    employer_id = data.employer_id
    if data.employer_contact_id is not None:
        contact = await db.get(EmployerContact, data.employer_contact_id)
        if contact is None or (employer_id is not None and contact.employer_id != employer_id):
            raise FieldError("employer_contact_id", "is not a contact of the given employer")
        employer_id = contact.employer_id
    if employer_id is not None:
        # Locked before it is read: a merge committed meanwhile is seen (the seat would stay on the tombstone).
        employer = await locked_employer(db, employer_id)
        if employer is None:
            raise FieldError("employer_id", f"unknown employer #{employer_id}")
        if employer.status == EmployerStatus.merged:
            raise FieldError("employer_id", f"employer #{employer_id} was merged into #{employer.merged_into_id}")
        await check_member_employer(db, actor, await db.get_one(Organization, council.owner_organization_id), employer)
    if data.organization_id is not None and await db.get(Organization, data.organization_id) is None:
        raise FieldError("organization_id", f"unknown organization #{data.organization_id}")
    email = optional_email(data.email)
    # A chair's sign-in, given or linked through the roster e-mail they were invited with.
    user_id = await seat_user(db, data.user_id, email)
    current = await members(db, council.id)
    _check_duplicate(current, name, email, employer_id, data.organization_id, data.employer_contact_id, user_id)
    member = CouncilMember(council_id=council.id, name=name, email=email, title=_clean(data.title),
                           organization_id=data.organization_id, employer_id=employer_id,
                           employer_contact_id=data.employer_contact_id, user_id=user_id, member_type=member_type,
                           role=role, term_start=data.term_start, term_end=data.term_end)
    try:
        validate_roster([*(member_view(m) for m in current), member_view(member)])
    except ComplianceInputError as exc:
        raise compliance_error(exc) from None
    db.add(member)
    await db.flush()
    await db.refresh(member, ["organization", "employer", "employer_contact", "user"])
    audit.record(db, actor, "council.member_add", "council_member", member.id, employer_id=employer_id,
                 after={"council_id": council.id, **audit.snapshot(member, MEMBER_FIELDS)})
    return member


def _check_duplicate(current: list[CouncilMember], name: str, email: str | None, employer_id: int | None,
                     organization_id: int | None, contact_id: int | None, user_id: int | None) -> None:
    """The same person may hold one current seat (a new term is added after the old one is removed)."""
    for m in current:
        if email and m.email == email:
            raise FieldError("email", f"{email} is already a member of this council ({m.name})")
        if contact_id is not None and m.employer_contact_id == contact_id:
            raise FieldError("employer_contact_id", f"{m.name} is already a member of this council")
        if user_id is not None and m.user_id == user_id:
            raise FieldError("user_id", f"{m.name} is already a member of this council")
        if m.name.casefold() == name.casefold() and (m.employer_id, m.organization_id) == (employer_id,
                                                                                           organization_id):
            raise FieldError("name", f"{m.name} ({m.affiliation}) is already a member of this council")


async def get_member(db: AsyncSession, council: AdvisoryCouncil, member_id: int) -> CouncilMember:
    member = await db.get(CouncilMember, member_id)
    if member is None or member.council_id != council.id:
        raise NotFoundException(f"Member #{member_id} is not on this council")
    return member


async def remove_member(db: AsyncSession, actor: Principal, council: AdvisoryCouncil, member_id: int,
                        reason: str | None = None, now: dt.datetime | None = None) -> CouncilMember:
    """End a seat: the row stays (roster history), it only stops counting."""
    await _lock_roster(db, council)
    member = await get_member(db, council, member_id)
    if member.removed_at is not None:
        raise Conflict(f"{member.name} was already removed")
    member.removed_at = now or dt.datetime.now(dt.UTC)
    member.removed_reason = _clean(reason)
    await db.flush()
    audit.record(db, actor, "council.member_remove", "council_member", member.id, employer_id=member.employer_id,
                 after={"council_id": council.id, "name": member.name, "removed_at": member.removed_at.isoformat()},
                 note=member.removed_reason)
    return member


# ----------------------------------------------------------------------------------------------
# meetings and attendance
# ----------------------------------------------------------------------------------------------

async def add_meeting(db: AsyncSession, actor: Principal, council: AdvisoryCouncil, data: MeetingIn) -> CouncilMeeting:
    check_record_days(("held_on", data.held_on, MEETING_YEARS_AHEAD))
    meeting = CouncilMeeting(council_id=council.id, held_on=data.held_on,
                             agenda=(data.agenda or "").strip() or None, minutes=(data.minutes or "").strip() or None)
    db.add(meeting)
    await db.flush()
    audit.record(db, actor, "council.meeting_add", "council_meeting", meeting.id,
                 after={"council_id": council.id, "held_on": data.held_on.isoformat()})
    return meeting


async def get_meeting(db: AsyncSession, council: AdvisoryCouncil, meeting_id: int, *,
                      for_update: bool = False) -> CouncilMeeting:
    meeting = await db.get(CouncilMeeting, meeting_id, with_for_update=for_update, populate_existing=for_update)
    if meeting is None or meeting.council_id != council.id:
        raise NotFoundException(f"Meeting #{meeting_id} is not a meeting of this council")
    return meeting


async def attendance(db: AsyncSession, meeting_ids: list[int]) -> dict[int, set[int]]:
    """meeting id → ids of members ticked present."""
    out: dict[int, set[int]] = {m: set() for m in meeting_ids}
    if meeting_ids:
        rows = await db.execute(select(MeetingAttendance.meeting_id, MeetingAttendance.member_id).where(
            MeetingAttendance.meeting_id.in_(meeting_ids), MeetingAttendance.present.is_(True)))
        for meeting_id, member_id in rows:
            out[meeting_id].add(member_id)
    return out


async def record_meeting_touch(db: AsyncSession, actor: Principal, *, employer_id: int, region_id: int,
                               held_on: dt.date, channel: str, note: str,
                               now: dt.datetime | None = None) -> Touch:
    """An employer's attendance at a meeting is a completed touch: it counts toward pacing (SPEC §3.4)."""
    spoc_id = await db.scalar(select(SpocAssignment.spoc_id).where(
        SpocAssignment.employer_id == employer_id, SpocAssignment.region_id == region_id,
        SpocAssignment.ended_at.is_(None)))
    touch = Touch(employer_id=employer_id, region_id=region_id, spoc_id=spoc_id, status="completed",
                  source="meeting", channel=channel, window_start=held_on, window_end=held_on, planned_on=held_on,
                  completed_at=now or dt.datetime.now(dt.UTC), notes=note, created_by_id=actor.id)
    db.add(touch)
    await db.flush()
    audit.record(db, actor, "touch.meeting_attended", "touch", touch.id, employer_id=employer_id,
                 after={"channel": channel, "planned_on": held_on.isoformat(), "source": "meeting"}, note=note)
    return touch


def check_record_days(*days: tuple[str, dt.date | None, int]) -> None:
    """422 naming every (field, day, years ahead) whose day is out of bounds (``record_day_problem``)."""
    wrong = [(field, problem) for field, day, years in days if (problem := record_day_problem(day, today(), years))]
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])


def require_held(held_on: dt.date, present: bool) -> None:
    """Who came is ticked once the meeting has happened: a tick for a meeting still to come would
    count a completed touch, dated in the future, against the employer's pacing budget."""
    if present and held_on > today():
        raise FieldError("present", f"the meeting of {human_date(held_on)} has not happened yet; "
                                    "tick who came on that day or after")


async def attendance_touch(db: AsyncSession, actor: Principal, row: Any, member_model: Any, *, employer_id: int,
                           region_id: int, held_on: dt.date, channel: str, note: str) -> int:
    """The touch an employer's attendance stands for: one per employer and meeting, however many of its
    people came -- the touch of a colleague already ticked present, else a new one."""
    attendance = type(row)
    shared = await db.scalar(
        select(attendance.touch_id).join(member_model, member_model.id == attendance.member_id)
        .where(attendance.meeting_id == row.meeting_id, attendance.present.is_(True),
               attendance.touch_id.is_not(None), member_model.employer_id == employer_id).limit(1))
    if shared is not None:
        return int(shared)
    # The touch counts toward pacing, which intake decides under this lock; a merge that moved the seat to
    # its survivor while this waited gives the survivor the touch, not the merged record.
    current = await lock_employer_of(db, lambda: db.scalar(select(member_model.employer_id)
                                                           .where(member_model.id == row.member_id)))
    if current is None:  # the seat no longer names an employer: the one it named when ticked
        await lock_employer(db, employer_id)
    else:
        employer_id = current
    touch = await record_meeting_touch(db, actor, employer_id=employer_id, region_id=region_id, held_on=held_on,
                                       channel=channel, note=note)
    return touch.id


async def release_attendance_touch(db: AsyncSession, actor: Principal, row: Any, note: str) -> None:
    """Unticking one attendee: their employer's touch goes when no colleague present still shares it."""
    attendance = type(row)
    if row.touch_id is not None and not await db.scalar(select(func.count()).select_from(attendance).where(
            attendance.touch_id == row.touch_id, attendance.id != row.id, attendance.present.is_(True))):
        await remove_meeting_touch(db, actor, row.touch_id, note)
    row.touch_id = None


async def remove_meeting_touch(db: AsyncSession, actor: Principal, touch_id: int | None, note: str) -> None:
    """Unticking the last attendee of an employer cancels its meeting touch, which gives the pacing budget
    back. Cancelled, not deleted: its history stays, and its number is never given to another touch
    (SQLite reuses the highest id of a deleted row)."""
    if touch_id is None:
        return
    touch = await db.get(Touch, touch_id)
    if touch is None or touch.status == "cancelled":
        return
    touch.status, touch.cancelled_at = "cancelled", dt.datetime.now(dt.UTC)
    touch.cancel_reason = "Attendance unticked: nobody of the employer is recorded at this meeting any more"
    await db.flush()
    audit.record(db, actor, "touch.meeting_attendance_removed", "touch", touch_id, employer_id=touch.employer_id,
                 before={"status": "completed"}, after={"status": "cancelled"}, note=note)


async def refresh_meeting_note(db: AsyncSession, attendance: Any, member_model: Any, touch_id: int | None,
                               where: str, label: Any) -> None:
    """A meeting touch says who of the employer came: every attendee sharing it, as ticked now."""
    if touch_id is None:
        return
    touch = await db.get(Touch, touch_id)
    if touch is None or touch.status == "cancelled":
        return
    members = list(await db.scalars(select(member_model).join(attendance, attendance.member_id == member_model.id)
                                    .where(attendance.touch_id == touch_id, attendance.present.is_(True))
                                    .order_by(member_model.id)))
    if members:
        touch.notes = f"{', '.join(label(m) for m in members)} {where}"


async def set_attendance(db: AsyncSession, actor: Principal, council: AdvisoryCouncil, meeting_id: int,
                         member_id: int, present: bool) -> MeetingAttendance:
    # Ticks of one meeting are decided one at a time (its row lock; SQLite: the write lock), so two
    # colleagues ticked at once share one touch and neither tick is lost.
    await begin_write(db)
    meeting = await get_meeting(db, council, meeting_id, for_update=True)
    require_held(meeting.held_on, present)
    member = await db.get(CouncilMember, member_id)
    if member is None or member.council_id != council.id or member.removed_at is not None:
        raise FieldError("member_id", f"#{member_id} is not a member of this council")
    if not is_current(member_view(member), meeting.held_on):
        raise FieldError("member_id", f"{member.name}'s term does not cover the meeting on "
                                      f"{meeting.held_on.isoformat()}")
    row = await db.scalar(select(MeetingAttendance).where(
        MeetingAttendance.meeting_id == meeting.id, MeetingAttendance.member_id == member.id))
    if row is None:
        row = MeetingAttendance(meeting_id=meeting.id, member_id=member.id, present=False)
        db.add(row)
    was, touch_before = row.present, row.touch_id
    where = f"at {council.name} meeting on {human_date(meeting.held_on)}"
    note = f"{member.name} {where}"
    if present and not was:
        if member.employer_id is not None and row.touch_id is None:
            row.touch_id = await attendance_touch(db, actor, row, CouncilMember, employer_id=member.employer_id,
                                                  region_id=council.region_id, held_on=meeting.held_on,
                                                  channel="meeting", note=note)
    elif not present and was:
        await release_attendance_touch(db, actor, row, note)
    row.present = present
    await db.flush()
    await refresh_meeting_note(db, MeetingAttendance, CouncilMember, row.touch_id or touch_before, where,
                               lambda m: m.name)
    if present != was:
        audit.record(db, actor, "council.attendance", "council_meeting", meeting.id, employer_id=member.employer_id,
                     before={"member_id": member.id, "present": was}, after={"member_id": member.id,
                                                                              "present": present})
    return row


# ----------------------------------------------------------------------------------------------
# recommendations
# ----------------------------------------------------------------------------------------------

def _status(value: str) -> str:
    if value not in RECOMMENDATION_STATUSES:
        raise FieldError("status", f"unknown status {value!r}; expected one of: {', '.join(RECOMMENDATION_STATUSES)}")
    return value


async def recommendations(db: AsyncSession, council_id: int) -> list[Recommendation]:
    """The council's recommendations, newest first by their meeting's date (one made outside a meeting by
    the California day it was recorded), ties by id."""
    rows = list(await db.execute(
        select(Recommendation, CouncilMeeting.held_on)
        .outerjoin(CouncilMeeting, CouncilMeeting.id == Recommendation.meeting_id)
        .where(Recommendation.council_id == council_id)))
    # Sorted here, not in SQL: the recorded day is the California date of a UTC instant, which neither
    # database computes alike, and a council has tens of recommendations.
    rows.sort(key=lambda r: (r.held_on or local_date(r.Recommendation.created_at), r.Recommendation.id), reverse=True)
    return [r.Recommendation for r in rows]


async def add_recommendation(db: AsyncSession, actor: Principal, council: AdvisoryCouncil,
                             data: RecommendationIn) -> Recommendation:
    text = data.text.strip()
    if not text:
        raise FieldError("text", "is required")
    if data.meeting_id is not None:
        meeting = await db.get(CouncilMeeting, data.meeting_id)
        if meeting is None or meeting.council_id != council.id:
            raise FieldError("meeting_id", f"#{data.meeting_id} is not a meeting of this council")
    rec = Recommendation(council_id=council.id, meeting_id=data.meeting_id, text=text, status=_status(data.status),
                         owner=_clean(data.owner))
    db.add(rec)
    await db.flush()
    audit.record(db, actor, "council.recommendation_add", "council_recommendation", rec.id,
                 after={"council_id": council.id, "status": rec.status, "owner": rec.owner})
    return rec


async def update_recommendation(db: AsyncSession, actor: Principal, council: AdvisoryCouncil, rec_id: int,
                                patch: RecommendationPatch) -> Recommendation:
    rec = await db.get(Recommendation, rec_id)
    if rec is None or rec.council_id != council.id:
        raise NotFoundException(f"Recommendation #{rec_id} is not on this council")
    fields = ("status", "owner", "follow_up")
    before = audit.snapshot(rec, fields)
    if patch.status is not msgspec.UNSET:
        rec.status = _status(patch.status)
    if patch.owner is not msgspec.UNSET:
        rec.owner = _clean(patch.owner)
    if patch.follow_up is not msgspec.UNSET:
        rec.follow_up = (patch.follow_up or "").strip() or None
    await db.flush()
    old, new = audit.diff(before, audit.snapshot(rec, fields))
    if new:
        audit.record(db, actor, "council.recommendation_update", "council_recommendation", rec.id, before=old,
                     after=new)
    return rec
