"""Sector partnerships: scope checks, members, convenings with attendance (business vs public, counted
touches), stage changes and action teams. The shell around ``crm.partnerships.indicators``.

Who may do what mirrors councils: view = admins, leads/SPOCs of any of its regions, the owner
(convening) organization's staff, and members with a sign-in (an industry chair); manage = admins,
leads of any of its regions and the owner organization's staff.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import ColumnElement, Select, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit import service as audit
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.auth.service import seat_user
from crm.councils.compliance import MEETING_YEARS_AHEAD, MILESTONE_YEARS_AHEAD, Badge
from crm.councils.schemas import NAME_MAX, TEXT_MAX
from crm.councils.service import (
    attendance_touch,
    check_record_days,
    is_owner_staff,
    refresh_meeting_note,
    release_attendance_touch,
    require_held,
    today,
)
from crm.db import begin_write, lock_row
from crm.directory.models import Organization, Region
from crm.directory.service import check_member_employer, regions_served
from crm.emails import optional_email
from crm.employers.models import Employer, EmployerContact, EmployerStatus
from crm.employers.naics import naics_prefix_problem
from crm.employers.service import can_reach_contacts, locked_employer
from crm.errors import Conflict, FieldConflict, FieldError
from crm.partnerships.indicators import (
    MeetingAttendanceView,
    PartnershipInputError,
    Stage,
    SupportRole,
    partnership_indicators,
    validate_stage,
)
from crm.partnerships.models import (
    BUSINESS_KINDS,
    MEMBER_KINDS,
    MILESTONE_STATUSES,
    ActionTeam,
    Milestone,
    PartnershipAttendance,
    PartnershipMeeting,
    PartnershipMember,
    SectorPartnership,
    partnership_region,
    regions_key,
)
from crm.partnerships.schemas import (
    ActionTeamIn,
    ConveningIn,
    MilestoneIn,
    PartnerMemberIn,
    PartnershipIn,
    PartnershipPatch,
)
from crm.seen import Changed, digest, last_change
from crm.sqltext import name_key
from crm.touches.requests import human_date


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def input_error(exc: PartnershipInputError) -> FieldError:
    return FieldError(exc.field, exc.message)


# ----------------------------------------------------------------------------------------------
# scope
# ----------------------------------------------------------------------------------------------

def region_ids(p: SectorPartnership) -> set[int]:
    return {r.id for r in p.regions}


def can_manage(principal: Principal, p: SectorPartnership) -> bool:
    return (principal.is_admin or any(principal.can_in_region(r, Role.lead) for r in region_ids(p))
            or is_owner_staff(principal, p.owner_organization_id))


def member_partnership_ids(user_id: int) -> Select[int]:
    return select(PartnershipMember.partnership_id).where(
        PartnershipMember.user_id == user_id, PartnershipMember.removed_at.is_(None))


def visible_condition(principal: Principal) -> ColumnElement[bool]:
    if principal.is_admin:
        return true()
    conds: list[ColumnElement[bool]] = []
    regions = principal.regions_for(Role.lead, Role.spoc)
    if regions:
        conds.append(SectorPartnership.id.in_(select(partnership_region.c.partnership_id).where(
            partnership_region.c.region_id.in_(regions))))
    if principal.is_crm_user and principal.organization_id is not None:
        conds.append(SectorPartnership.owner_organization_id == principal.organization_id)
    conds.append(SectorPartnership.id.in_(member_partnership_ids(principal.id)))
    return or_(*conds) if conds else false()


async def get_partnership(db: AsyncSession, partnership_id: int) -> SectorPartnership:
    p = await db.get(SectorPartnership, partnership_id)
    if p is None:
        raise NotFoundException(f"Partnership #{partnership_id} not found")
    return p


async def partnership_for_view(db: AsyncSession, principal: Principal, partnership_id: int) -> SectorPartnership:
    p = await get_partnership(db, partnership_id)
    if await db.scalar(select(SectorPartnership.id).where(SectorPartnership.id == partnership_id,
                                                          visible_condition(principal))) is None:
        raise PermissionDeniedException("You are not in this partnership and do not manage it")
    return p


async def partnership_for_chair(db: AsyncSession, principal: Principal, partnership_id: int) -> SectorPartnership:
    p = await get_partnership(db, partnership_id)
    if principal.is_admin:
        return p
    if await db.scalar(member_partnership_ids(principal.id).where(
            PartnershipMember.partnership_id == partnership_id)) is None:
        raise PermissionDeniedException("You are not a member of this partnership")
    return p


async def partnership_for_manage(db: AsyncSession, principal: Principal, partnership_id: int) -> SectorPartnership:
    p = await partnership_for_view(db, principal, partnership_id)
    if not can_manage(principal, p):
        raise PermissionDeniedException("Only the convening organization's staff and the regions' leads manage "
                                        "this partnership")
    return p


async def list_partnerships(db: AsyncSession, principal: Principal, *, limit: int = 25, offset: int = 0,
                            only_member: bool = False) -> tuple[list[SectorPartnership], int]:
    cond = (SectorPartnership.id.in_(member_partnership_ids(principal.id)) if only_member
            else visible_condition(principal))
    total = await db.scalar(select(func.count(SectorPartnership.id)).where(cond)) or 0
    rows = await db.scalars(select(SectorPartnership).where(cond)
                            .order_by(SectorPartnership.name, SectorPartnership.id).limit(limit).offset(offset))
    return list(rows), total


async def employer_partnerships(db: AsyncSession, employer_id: int) -> list[tuple[PartnershipMember,
                                                                                 SectorPartnership]]:
    rows = await db.execute(
        select(PartnershipMember, SectorPartnership)
        .join(SectorPartnership, SectorPartnership.id == PartnershipMember.partnership_id)
        .where(PartnershipMember.employer_id == employer_id, PartnershipMember.removed_at.is_(None))
        .order_by(SectorPartnership.name, PartnershipMember.id))
    return [(m, p) for m, p in rows]


# ----------------------------------------------------------------------------------------------
# partnerships
# ----------------------------------------------------------------------------------------------

async def _regions(db: AsyncSession, codes: list[str]) -> tuple[list[Region], list[tuple[str, str]]]:
    """The regions with these codes (any case), and the problem of the list: none named, or unknown codes."""
    wanted = {c.strip().upper() for c in codes if c.strip()}
    if not wanted:
        return [], [("regions", "name at least one region")]
    if any(len(code) > 32 for code in wanted):
        return [], [("regions", "name regions by their codes (LA-BASIN)")]
    found = list(await db.scalars(select(Region).where(Region.code.in_(wanted)).order_by(Region.code)))
    missing = wanted - {r.code for r in found}
    return found, [("regions", f"unknown region code(s): {', '.join(sorted(missing))}")] if missing else []


def _stage(value: str) -> str:
    try:
        return validate_stage(value).value
    except PartnershipInputError as exc:
        raise input_error(exc) from None


def _naics_problems(prefixes: list[str]) -> list[tuple[str, str]]:
    """A problem on ``naics_prefixes`` naming each bad entry by its place in the list, with the routing rules'
    reason (a prefix of no NAICS sector is refused); none when every entry is right."""
    wrong = [f"entry {n} ({prefix[:12]}): {problem}" for n, prefix in enumerate(prefixes, start=1)
             if (problem := naics_prefix_problem(prefix))]
    return [("naics_prefixes", "; ".join(wrong))] if wrong else []


def _naics_prefixes(prefixes: list[str]) -> list[str]:
    """The sector's NAICS prefixes as kept (distinct, sorted); a 422 on ``naics_prefixes`` (``_naics_problems``)."""
    if wrong := _naics_problems(prefixes):
        raise FieldError(*wrong[0])
    return sorted(set(prefixes))


def _name_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    if "name" not in values:
        return []
    name = _clean(values["name"])
    return [("name", "is required" if not name else f"at most {NAME_MAX} characters")] if (
        not name or len(name) > NAME_MAX) else []


async def partnership_problems(db: AsyncSession, actor: Principal,
                               values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of a new partnership's fields at once, as organization and user create say theirs:
    name, stage, sectors, description, regions, owner and whether the owner serves the regions. ``values``
    may lack fields a form already refused (the page checks what did parse)."""
    wrong = _name_problems(values)
    if values.get("stage") is not None:
        try:
            _stage(values["stage"])
        except FieldError as exc:
            wrong += exc.fields
    wrong += _naics_problems(values.get("naics_prefixes") or [])
    if len(values.get("description") or "") > TEXT_MAX:
        wrong.append(("description", f"at most {TEXT_MAX} characters"))
    regions: list[Region] = []
    if "regions" in values:
        regions, problems = await _regions(db, values["regions"])
        wrong += problems
    owner: Organization | None = None
    if (owner_id := values.get("owner_organization_id")) is not None:
        if (owner := await db.get(Organization, owner_id)) is None:
            wrong.append(("owner_organization_id", f"unknown organization #{owner_id}"))
    if (owner is not None and regions and is_owner_staff(actor, owner.id)
            and not (actor.is_admin or any(actor.can_in_region(r.id, Role.lead) for r in regions))):
        # Its convenings count against employers' contact budgets: only where the convener works.
        served = await regions_served(db, owner.id)
        if outside := [r.code for r in regions if r.id not in served]:
            wrong.append(("regions", f"{owner.name} does not serve {', '.join(outside)}"))
    name = _clean(values.get("name"))
    if name and regions and await db.scalar(select(SectorPartnership.id).where(
            SectorPartnership.name_key == name_key(name),
            SectorPartnership.regions_key == regions_key(regions))) is not None:
        # As organizations: said with the other problems, else a 409 of its own (a form sent twice).
        if not wrong:
            raise FieldConflict("name", _taken(name, regions))
        wrong.append(("name", _taken(name, regions)))
    return wrong


def _taken(name: str, regions: list[Region]) -> str:
    return f"a partnership named {name!r} already exists in {', '.join(r.code for r in regions)}"


async def _flush_name(db: AsyncSession, p: SectorPartnership) -> None:
    """Write the partnership; one of the same name and regions written meanwhile (the same form sent twice at
    once, or a rename) is a 409 at the name: uq_sector_partnership_name_regions."""
    # The message is read before the write that may fail: its savepoint's rollback expires the partnership.
    taken = _taken(p.name, p.regions)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:
        raise FieldConflict("name", taken) from None


async def create_partnership(db: AsyncSession, actor: Principal, data: PartnershipIn) -> SectorPartnership:
    """A new partnership; a 422 names every field that is wrong at once (``partnership_problems``), a 403 when
    the actor may not manage it. Audited."""
    if wrong := await partnership_problems(db, actor, msgspec.structs.asdict(data)):
        raise FieldError(*wrong[0], *wrong[1:])
    regions, _ = await _regions(db, data.regions)
    p = SectorPartnership(name=_clean(data.name) or "", owner_organization_id=data.owner_organization_id,
                          stage=_stage(data.stage), naics_prefixes=sorted(set(data.naics_prefixes)), regions=regions,
                          regions_key=regions_key(regions), description=(data.description or "").strip() or None)
    if not can_manage(actor, p):
        raise PermissionDeniedException("Partnerships are created by their convening organization's staff or a "
                                        "lead of one of their regions")
    db.add(p)
    await _flush_name(db, p)
    await db.refresh(p, ["owner_organization", "regions"])
    audit.record(db, actor, "partnership.create", "sector_partnership", p.id,
                 after={"name": p.name, "stage": p.stage, "regions": [r.code for r in regions],
                        "owner_organization_id": p.owner_organization_id, "naics_prefixes": p.naics_prefixes})
    return p


EDITED_FIELDS = ("name", "stage", "naics_prefixes", "description")


def partnership_seen(p: SectorPartnership) -> str:
    """The digest of what a PATCH may change (``crm.seen``): the stage form carries it."""
    return digest([getattr(p, k) for k in EDITED_FIELDS])


async def update_partnership(db: AsyncSession, actor: Principal, p: SectorPartnership,
                             patch: PartnershipPatch) -> SectorPartnership:
    """Change the fields the patch has; one that says what it ``seen`` is refused (409) when someone saved
    meanwhile, under the partnership's row lock (a stale stage form would undo their stage change)."""
    locked = await lock_row(db, SectorPartnership, p.id)
    if locked is None:
        raise NotFoundException(f"Partnership #{p.id} not found")
    p = locked
    if patch.seen and patch.seen != partnership_seen(p):
        who = (await last_change(db, "sector_partnership", p.id,
                                 ("partnership.update", "partnership.stage", "partnership.create"))).by
        raise Changed(f"{p.name} was changed meanwhile by {who}: nothing was saved. It is shown as it is now "
                      f"(stage {p.stage.replace('_', ' ')}); choose again.")
    fields = EDITED_FIELDS
    before = audit.snapshot(p, fields)
    changed = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET and k != "seen"}
    if wrong := await partnership_problems(db, actor, changed):  # every field at once, as create
        raise FieldError(*wrong[0], *wrong[1:])
    if patch.name is not msgspec.UNSET:
        p.name = _clean(patch.name) or ""
    if patch.stage is not msgspec.UNSET:
        p.stage = _stage(patch.stage)
    if patch.naics_prefixes is not msgspec.UNSET:
        p.naics_prefixes = _naics_prefixes(patch.naics_prefixes)
    if patch.description is not msgspec.UNSET:
        p.description = (patch.description or "").strip() or None
    await _flush_name(db, p)
    old, new = audit.diff(before, audit.snapshot(p, fields))
    if new:
        action = "partnership.stage" if set(new) == {"stage"} else "partnership.update"
        audit.record(db, actor, action, "sector_partnership", p.id, before=old, after=new)
    return p


# ----------------------------------------------------------------------------------------------
# members
# ----------------------------------------------------------------------------------------------

async def members(db: AsyncSession, partnership_id: int, *, include_removed: bool = False) -> list[PartnershipMember]:
    stmt = select(PartnershipMember).where(PartnershipMember.partnership_id == partnership_id)
    if not include_removed:
        stmt = stmt.where(PartnershipMember.removed_at.is_(None))
    rows = list(await db.scalars(stmt.order_by(PartnershipMember.id)))
    rank = {k: i for i, k in enumerate(MEMBER_KINDS)}
    return sorted(rows, key=lambda m: (m.removed_at is not None, rank.get(m.kind, 9), m.display.casefold()))


def member_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of a member's fields that needs no database (kind, e-mail, what each kind sits for), at
    once; ``values`` may lack fields a form already refused (the page checks what did parse)."""
    wrong: list[tuple[str, str]] = []
    kind = values.get("kind")
    if kind is not None and kind not in MEMBER_KINDS:
        wrong.append(("kind", f"unknown kind {kind!r}; expected one of: {', '.join(MEMBER_KINDS)}"))
    try:
        optional_email(values.get("email"))
    except ValueError as exc:
        wrong.append(("email", str(exc)))
    employer_id, contact_id = values.get("employer_id"), values.get("employer_contact_id")
    if kind == "champion" and contact_id is None:
        wrong.append(("employer_contact_id", "a business champion is one of the employer's contacts"))
    if kind in BUSINESS_KINDS:
        if employer_id is None and contact_id is None:
            wrong.append(("employer_id", "a member employer is required"))
        if values.get("organization_id") is not None or values.get("support_role") is not None:
            wrong.append(("organization_id", "business members sit for an employer, not an organization"))
    elif kind == "support":
        if employer_id is not None or contact_id is not None:
            wrong.append(("employer_id", "the support team is organizations and people, not employers"))
        if values.get("support_role") not in {r.value for r in SupportRole}:
            wrong.append(("support_role", "must be one of: " + ", ".join(r.value for r in SupportRole)))
        if values.get("organization_id") is None and not _clean(values.get("name")):
            wrong.append(("name", "name the person or choose an organization"))
    return wrong


async def _lock_roster(db: AsyncSession, p: SectorPartnership) -> None:
    """Take the partnership's row lock before reading its roster: two seats added at once would each
    pass the duplicate check against a roster without the other."""
    if await lock_row(db, SectorPartnership, p.id) is None:
        raise NotFoundException(f"Partnership #{p.id} not found")


async def add_member(db: AsyncSession, actor: Principal, p: SectorPartnership,
                     data: PartnerMemberIn) -> PartnershipMember:
    if wrong := member_problems(msgspec.structs.asdict(data)):
        raise FieldError(*wrong[0], *wrong[1:])
    await _lock_roster(db, p)
    email = optional_email(data.email)
    name, title = _clean(data.name), _clean(data.title)
    employer_id, contact_id, org_id, support_role = data.employer_id, data.employer_contact_id, None, None
    if contact_id is not None:
        contact = await db.get(EmployerContact, contact_id)
        if contact is None or (employer_id is not None and contact.employer_id != employer_id):
            raise FieldError("employer_contact_id", "is not a contact of the given employer")
        employer_id = contact.employer_id
        # The contact's address only for who may reach the employer's people (not partners: SPEC §3).
        known = contact.email if can_reach_contacts(actor) else None
        name, email, title = name or contact.name, email or known, title or contact.title
    if data.kind in BUSINESS_KINDS:
        # Locked before it is read: a merge committed meanwhile is seen (the seat would stay on the tombstone).
        employer = await locked_employer(db, employer_id)
        if employer is None:
            raise FieldError("employer_id", f"unknown employer #{employer_id}")
        if employer.status == EmployerStatus.merged:
            raise FieldError("employer_id", f"employer #{employer_id} was merged into #{employer.merged_into_id}")
        await check_member_employer(db, actor, await db.get_one(Organization, p.owner_organization_id), employer)
    else:
        support_role = SupportRole(data.support_role or "").value
        org_id = data.organization_id
        if org_id is not None and await db.get(Organization, org_id) is None:
            raise FieldError("organization_id", f"unknown organization #{org_id}")
    user_id = await seat_user(db, data.user_id, email)
    for m in await members(db, p.id):
        same_person = (email and m.email == email) or (user_id is not None and m.user_id == user_id) or (
            contact_id is not None and m.employer_contact_id == contact_id)
        same_seat = m.kind == data.kind and (
            (data.kind == "employer" and m.employer_id == employer_id and (m.name or "") == (name or ""))
            or (data.kind == "support" and m.organization_id == org_id and (m.name or "") == (name or "")))
        if same_person or same_seat:
            raise FieldError("email" if email and m.email == email else (
                "employer_contact_id" if data.kind == "champion" else "employer_id" if data.kind == "employer"
                else "organization_id"), f"{m.display} is already a member of this partnership")
    member = PartnershipMember(partnership_id=p.id, kind=data.kind, name=name, email=email, title=title,
                               employer_id=employer_id, employer_contact_id=contact_id, organization_id=org_id,
                               support_role=support_role, user_id=user_id)
    db.add(member)
    await db.flush()
    await db.refresh(member, ["employer", "employer_contact", "organization", "user"])
    audit.record(db, actor, "partnership.member_add", "partnership_member", member.id, employer_id=employer_id,
                 after={"partnership_id": p.id, "kind": member.kind, "name": member.name,
                        "employer_id": employer_id, "organization_id": org_id, "support_role": support_role})
    return member


async def get_member(db: AsyncSession, p: SectorPartnership, member_id: int) -> PartnershipMember:
    member = await db.get(PartnershipMember, member_id)
    if member is None or member.partnership_id != p.id:
        raise NotFoundException(f"Member #{member_id} is not in this partnership")
    return member


async def remove_member(db: AsyncSession, actor: Principal, p: SectorPartnership, member_id: int,
                        now: dt.datetime | None = None) -> PartnershipMember:
    await _lock_roster(db, p)
    member = await get_member(db, p, member_id)
    if member.removed_at is not None:
        raise Conflict(f"{member.display} was already removed")
    member.removed_at = now or dt.datetime.now(dt.UTC)
    await db.flush()
    audit.record(db, actor, "partnership.member_remove", "partnership_member", member.id,
                 employer_id=member.employer_id, after={"partnership_id": p.id, "kind": member.kind,
                                                         "removed_at": member.removed_at.isoformat()})
    return member


# ----------------------------------------------------------------------------------------------
# convenings and attendance
# ----------------------------------------------------------------------------------------------

async def meetings(db: AsyncSession, partnership_id: int) -> list[PartnershipMeeting]:
    return list(await db.scalars(select(PartnershipMeeting).where(PartnershipMeeting.partnership_id == partnership_id)
                                 .order_by(PartnershipMeeting.held_on.desc(), PartnershipMeeting.id.desc())))


async def indicators(db: AsyncSession, p: SectorPartnership, on: dt.date | None = None) -> list[Badge]:
    rows = await db.execute(select(PartnershipMeeting.held_on, PartnershipMeeting.business_count,
                                   PartnershipMeeting.public_count)
                            .where(PartnershipMeeting.partnership_id == p.id))
    views = [MeetingAttendanceView(held_on=h, business_count=b, public_count=c) for h, b, c in rows]
    return partnership_indicators(views, on or today())


async def add_meeting(db: AsyncSession, actor: Principal, p: SectorPartnership,
                      data: ConveningIn) -> PartnershipMeeting:
    check_record_days(("held_on", data.held_on, MEETING_YEARS_AHEAD))
    meeting = PartnershipMeeting(partnership_id=p.id, held_on=data.held_on,
                                 agenda=(data.agenda or "").strip() or None,
                                 minutes=(data.minutes or "").strip() or None)
    db.add(meeting)
    await db.flush()
    audit.record(db, actor, "partnership.meeting_add", "partnership_meeting", meeting.id,
                 after={"partnership_id": p.id, "held_on": data.held_on.isoformat()})
    return meeting


async def get_meeting(db: AsyncSession, p: SectorPartnership, meeting_id: int, *,
                      for_update: bool = False) -> PartnershipMeeting:
    meeting = await db.get(PartnershipMeeting, meeting_id, with_for_update=for_update, populate_existing=for_update)
    if meeting is None or meeting.partnership_id != p.id:
        raise NotFoundException(f"Convening #{meeting_id} is not a convening of this partnership")
    return meeting


async def attendance(db: AsyncSession, meeting_ids: list[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {m: set() for m in meeting_ids}
    if meeting_ids:
        rows = await db.execute(select(PartnershipAttendance.meeting_id, PartnershipAttendance.member_id).where(
            PartnershipAttendance.meeting_id.in_(meeting_ids), PartnershipAttendance.present.is_(True)))
        for meeting_id, member_id in rows:
            out[meeting_id].add(member_id)
    return out


def touch_region_id(p: SectorPartnership, employer: Employer | None) -> int:
    """The convening counts in the employer's own region when the partnership covers it."""
    ids = sorted(r.id for r in p.regions)
    if employer is not None and employer.region_id in ids:
        return employer.region_id
    return min(p.regions, key=lambda r: r.code).id


async def set_attendance(db: AsyncSession, actor: Principal, p: SectorPartnership, meeting_id: int, member_id: int,
                         present: bool) -> tuple[PartnershipAttendance, PartnershipMeeting]:
    # One tick of a convening at a time (see councils.service.set_attendance); the counts too.
    await begin_write(db)
    meeting = await get_meeting(db, p, meeting_id, for_update=True)
    require_held(meeting.held_on, present)
    member = await db.get(PartnershipMember, member_id)
    if member is None or member.partnership_id != p.id or member.removed_at is not None:
        raise FieldError("member_id", f"#{member_id} is not a member of this partnership")
    row = await db.scalar(select(PartnershipAttendance).where(
        PartnershipAttendance.meeting_id == meeting.id, PartnershipAttendance.member_id == member.id))
    if row is None:
        row = PartnershipAttendance(meeting_id=meeting.id, member_id=member.id, present=False)
        db.add(row)
    was, touch_before = row.present, row.touch_id
    where = f"at {p.name} convening on {human_date(meeting.held_on)}"
    note = f"{member.display} {where}"
    if present and not was and member.employer_id is not None and row.touch_id is None:
        row.touch_id = await attendance_touch(db, actor, row, PartnershipMember, employer_id=member.employer_id,
                                              region_id=touch_region_id(p, member.employer), held_on=meeting.held_on,
                                              channel="event", note=note)
    elif not present and was:
        await release_attendance_touch(db, actor, row, note)
    row.present = present
    await db.flush()
    await refresh_meeting_note(db, PartnershipAttendance, PartnershipMember, row.touch_id or touch_before, where,
                               lambda m: m.display)
    await _recount(db, meeting)
    if present != was:
        audit.record(db, actor, "partnership.attendance", "partnership_meeting", meeting.id,
                     employer_id=member.employer_id, before={"member_id": member.id, "present": was},
                     after={"member_id": member.id, "present": present, "business_count": meeting.business_count,
                            "public_count": meeting.public_count})
    return row, meeting


async def _recount(db: AsyncSession, meeting: PartnershipMeeting) -> None:
    """Store the derived head counts, so indicators read one row per meeting."""
    rows = await db.execute(
        select(PartnershipMember.kind, func.count(PartnershipAttendance.id))
        .join(PartnershipMember, PartnershipMember.id == PartnershipAttendance.member_id)
        .where(PartnershipAttendance.meeting_id == meeting.id, PartnershipAttendance.present.is_(True))
        .group_by(PartnershipMember.kind))
    counts: dict[str, int] = {kind: n for kind, n in rows}
    meeting.business_count = sum(counts.get(k, 0) for k in BUSINESS_KINDS)
    meeting.public_count = counts.get("support", 0)
    await db.flush()


# ----------------------------------------------------------------------------------------------
# action teams
# ----------------------------------------------------------------------------------------------

async def action_teams(db: AsyncSession, partnership_id: int) -> list[ActionTeam]:
    return list(await db.scalars(select(ActionTeam).where(ActionTeam.partnership_id == partnership_id)
                                 .order_by(ActionTeam.name, ActionTeam.id)))


async def add_action_team(db: AsyncSession, actor: Principal, p: SectorPartnership, data: ActionTeamIn) -> ActionTeam:
    name = _clean(data.name)
    if not name:
        raise FieldError("name", "is required")
    for field, member_id, business in (("business_chair_id", data.business_chair_id, True),
                                       ("support_staff_id", data.support_staff_id, False)):
        if member_id is None:
            continue
        member = await db.get(PartnershipMember, member_id)
        if member is None or member.partnership_id != p.id or member.removed_at is not None:
            raise FieldError(field, f"#{member_id} is not a member of this partnership")
        if member.is_business != business:
            raise FieldError(field, "must be a business member" if business else "must be on the support team")
    team = ActionTeam(partnership_id=p.id, name=name, business_chair_id=data.business_chair_id,
                      support_staff_id=data.support_staff_id)
    db.add(team)
    await db.flush()
    await db.refresh(team, ["business_chair", "support_staff", "milestones"])
    audit.record(db, actor, "partnership.action_team_add", "action_team", team.id,
                 after={"partnership_id": p.id, "name": name})
    return team


async def get_action_team(db: AsyncSession, p: SectorPartnership, team_id: int) -> ActionTeam:
    team = await db.get(ActionTeam, team_id)
    if team is None or team.partnership_id != p.id:
        raise NotFoundException(f"Action team #{team_id} is not in this partnership")
    return team


def _milestone_status(value: str) -> str:
    if value not in MILESTONE_STATUSES:
        raise FieldError("status", f"unknown status {value!r}; expected one of: {', '.join(MILESTONE_STATUSES)}")
    return value


async def add_milestone(db: AsyncSession, actor: Principal, p: SectorPartnership, team_id: int,
                        data: MilestoneIn) -> Milestone:
    team = await get_action_team(db, p, team_id)
    title = _clean(data.title)
    if not title:
        raise FieldError("title", "is required")
    if any(m.title.casefold() == title.casefold() for m in team.milestones):
        raise FieldError("title", f"{title!r} is already a milestone of this action team")
    check_record_days(("due_on", data.due_on, MILESTONE_YEARS_AHEAD))
    milestone = Milestone(action_team_id=team.id, title=title, due_on=data.due_on,
                          status=_milestone_status(data.status))
    db.add(milestone)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:
        raise FieldError("title", f"{title!r} is already a milestone of this action team") from None
    audit.record(db, actor, "partnership.milestone_add", "action_team_milestone", milestone.id,
                 after={"action_team_id": team.id, "title": title, "due_on": data.due_on.isoformat(),
                        "status": milestone.status})
    return milestone


async def set_milestone_status(db: AsyncSession, actor: Principal, p: SectorPartnership, team_id: int,
                               milestone_id: int, status: str) -> Milestone:
    team = await get_action_team(db, p, team_id)
    milestone = next((m for m in team.milestones if m.id == milestone_id), None)
    if milestone is None:
        raise NotFoundException(f"Milestone #{milestone_id} is not on this action team")
    before = milestone.status
    milestone.status = _milestone_status(status)
    await db.flush()
    if before != milestone.status:
        audit.record(db, actor, "partnership.milestone_status", "action_team_milestone", milestone.id,
                     before={"status": before}, after={"status": milestone.status})
    return milestone


STAGES = [s.value for s in Stage]
