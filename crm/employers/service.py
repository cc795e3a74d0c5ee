"""Employer records: validation, search, updates and SPOC assignment (the imperative shell)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import ColumnElement, Select, and_, case, false, func, inspect, literal, or_, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, selectinload

from crm import seen
from crm.audit import service as audit
from crm.auth.models import Role, RoleGrant, User
from crm.auth.principal import Principal
from crm.db import lock_row
from crm.directory.models import County
from crm.directory.service import region_id_for
from crm.emails import optional_email
from crm.employers.candidates import next_prefix, refresh_keys, with_words
from crm.employers.matching import (
    LEGAL_FORMS,
    contact_is_new,
    name_key,
    normalize_domain,
    normalize_fein,
    normalize_name,
    normalize_phone,
    normalize_zip,
)
from crm.employers.models import (
    Employer,
    EmployerAlias,
    EmployerContact,
    EmployerStatus,
    SizeBand,
    SpocAssignment,
)
from crm.employers.naics import sector_code as naics_sector_code
from crm.employers.schemas import AssignIn, EmployerIn, EmployerPatch
from crm.employers.zips import unused_prefix, zip_place
from crm.errors import Conflict, FieldError
from crm.ids import parse_id
from crm.templating import sentence
from crm.touches.assign import eligible_spoc

RELATIONS = ("county", "region", "aliases", "contacts")
# Aliases and contacts are not loaded with every employer (models.py): what shows them asks for them.
PROFILE_LOAD = (selectinload(Employer.aliases), selectinload(Employer.contacts))
AUDITED_FIELDS = ("legal_name", "dba", "website", "domain", "fein", "phone", "naics_code", "size_band",
                  "address_line", "city", "zip", "county_id", "region_id", "status", "do_not_contact", "notes")
# The audited actions that change those fields (who changed it, for a stale form's refusal).
EDIT_ACTIONS = ("employer.create", "employer.update", "employer.verify")


_LOCK_TRIES = 5  # merges of one record in a row while a write waits: more is someone's script, refused


async def lock_employer(db: AsyncSession, employer_id: int) -> None:
    """Take the employer's row lock (PostgreSQL): the serialization point of every decision that
    adds to or reads its touches for pacing, intake's among them. SQLite has no row locks (a
    statement there would lock nothing): the transaction must have started with
    ``crm.db.begin_write``, which holds the database's write lock."""
    if db.get_bind().dialect.name == "postgresql":
        # Only the id column: FOR UPDATE may not reach the outer joins Employer's eager loads add.
        await db.execute(select(Employer.id).where(Employer.id == employer_id).with_for_update())


async def lock_employer_of(db: AsyncSession, employer_of: Callable[[], Awaitable[int | None]]) -> int | None:
    """Lock the employer a touch or request belongs to (``lock_employer``) and return its id as read under
    that lock; ``employer_of`` reads the row's employer id (None for none).

    A merge committed while this waited has moved the row to the survivor, whose lock is taken instead. The
    merged record's lock is let go first (a savepoint): holding it while waiting for the survivor's would
    take the two in the opposite order to an undo of the merge, which locks them by id, and deadlock with
    it (``resolve.employer_ref`` avoids the same). SQLite needs none of this: ``begin_write`` holds the
    database's write lock, so no merge commits between the read and the decision."""
    employer_id = await employer_of()
    if employer_id is None or db.get_bind().dialect.name != "postgresql":
        return employer_id
    for _ in range(_LOCK_TRIES):
        savepoint = await db.begin_nested()
        await lock_employer(db, employer_id)
        now_of = await employer_of()
        if now_of == employer_id:
            await savepoint.commit()
            return employer_id
        await savepoint.rollback()
        if now_of is None:
            return None
        employer_id = now_of
    raise Conflict("The employer is being merged or unmerged right now; try again")


async def locked_employer(db: AsyncSession, employer_id: int | None) -> Employer | None:
    """The employer read afresh under its row lock (``lock_employer``), or None for no id or an unknown one:
    a merge committed while this waited is seen, so nothing new lands on the tombstone."""
    if employer_id is None:
        return None
    await lock_employer(db, employer_id)
    return await db.get(Employer, employer_id, populate_existing=True)


def sector_for_naics(naics: str | None) -> str | None:
    """The NAICS sector code (``31-33`` for manufacturing) a 2-6 digit NAICS code falls in."""
    if not naics:
        return None
    sector = naics_sector_code(naics)
    if sector is None:
        raise FieldError("naics_code", f"{naics!r} is not in a NAICS 2022 sector")
    return sector


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def _website(raw: str | None) -> tuple[str | None, str | None]:
    """(website as typed, its normalized domain); ValueError when it is no web address."""
    website = _clean(raw)
    domain = normalize_domain(website) if website else None
    if website and not domain:
        raise ValueError(f"{website!r} is not a web address")
    return website, domain


# A ZIP as a person types it: five digits, or ZIP+4. (A spreadsheet's "9001" lost its leading zero
# and the import pads it; typed, it is a typo, and padding would file it in New Jersey.)
_TYPED_ZIP = re.compile(r"\d{5}(?:-?\d{4})?")


def _zip(raw: str | None) -> str | None:
    typed = _clean(raw)
    zip_code = normalize_zip(typed) if typed and _TYPED_ZIP.fullmatch(typed) else None
    if typed and not zip_code:
        raise ValueError(f"{typed!r} is not a ZIP code (five digits, or ZIP+4)")
    if zip_code and (why := unused_prefix(zip_code)):
        raise ValueError(why)
    return zip_code


def only_legal_form(name: str | None) -> str | None:
    """Why a typed employer name names no employer ("LLC", "Inc."), or None."""
    words = normalize_name(name or "").split()
    if words and all(w in LEGAL_FORMS or w == "the" for w in words):
        return f"{_clean(name)!r} is only a legal form: give the employer's name"
    return None


_FEIN_SHAPED = re.compile(r"\s*[0-9]{2}-?[0-9]{7}\s*")


def fein_typed(text: str | None) -> str | None:
    """The FEIN a search or a name field holds on its own ("95-4812736", "954812736"), as stored; else None."""
    if not text or not _FEIN_SHAPED.fullmatch(text):
        return None
    try:
        return normalize_fein(text.strip())
    except ValueError:
        return None


def typed_problems(*, website: str | None, fein: str | None, zip: str | None,
                   name: str | None = None) -> list[tuple[str, str]]:
    """What is wrong with an employer's name, website, FEIN and ZIP as someone typed them, each as
    ``create_employer`` would say it (intake checks a typed employer with it before anything else)."""
    wrong: list[tuple[str, str]] = []
    if why := only_legal_form(name):
        wrong.append(("name", why))
    elif name and _FEIN_SHAPED.fullmatch(name):
        # A new employer named "95-4812736" helps no one: it is the FEIN, typed in the name's place.
        wrong.append(("name", "is a FEIN: type it in the FEIN field, and the employer's name here"))
    for name, check, value in (("website", _website, website), ("fein", normalize_fein, _clean(fein)),
                               ("zip", _zip, zip)):
        try:
            check(value)
        except ValueError as exc:
            wrong.append((name, str(exc)))
    return wrong


async def _apply_fields(db: AsyncSession, employer: Employer, fields: dict[str, Any]) -> None:
    """Validate and normalize every given field onto the employer; one FieldError names every bad one."""
    wrong: list[tuple[str, str]] = []
    if "legal_name" in fields:
        legal = _clean(fields["legal_name"])
        key = name_key(legal) if legal else ""
        if not legal:
            wrong.append(("legal_name", "is required"))
        elif not key:
            wrong.append(("legal_name", "must contain letters or digits"))
        elif why := only_legal_form(legal):
            wrong.append(("legal_name", why))
        else:
            employer.legal_name, employer.name_key = legal, key
    if "dba" in fields:
        employer.dba = _clean(fields["dba"])
    if "website" in fields:
        try:
            employer.website, employer.domain = _website(fields["website"])
        except ValueError as exc:
            wrong.append(("website", str(exc)))
    if "fein" in fields:
        try:
            employer.fein = normalize_fein(_clean(fields["fein"]))
        except ValueError as exc:
            wrong.append(("fein", str(exc)))
    if "phone" in fields:
        phone = _clean(fields["phone"])
        employer.phone = normalize_phone(phone) if phone else None
        if phone and not employer.phone:
            wrong.append(("phone", f"{phone!r} is not a valid phone number"))
    if "naics_code" in fields:
        employer.naics_code = _clean(fields["naics_code"])
        try:
            employer.sector_code = sector_for_naics(employer.naics_code)
        except FieldError as exc:
            wrong += exc.fields
    if "size_band" in fields:
        band = _clean(fields["size_band"])
        if band and band not in {b.value for b in SizeBand}:
            wrong.append(("size_band", f"must be one of {', '.join(b.value for b in SizeBand)}"))
        employer.size_band = band
    for name in ("address_line", "city"):
        if name in fields:
            setattr(employer, name, _clean(fields[name]))
    if "zip" in fields:
        try:
            employer.zip = _zip(fields["zip"])
        except ValueError as exc:
            wrong.append(("zip", str(exc)))
    county_found = True
    if "county" in fields:
        county_name = _clean(fields["county"])
        county = None
        if county_name:
            county = await db.scalar(
                select(County).where(func.lower(County.name) == county_name.lower().removesuffix(" county"))
            )
            if county is None:
                county_found = False
                wrong.append(("county", f"unknown California county {county_name!r}"))
        employer.county_id = county.id if county else None
        if county:
            employer.region_id = county.region_id
    region_given = None
    if fields.get("region") is not None:
        try:
            region_given = region_id = await region_id_for(db, fields["region"])
        except FieldError as exc:
            wrong += exc.fields
        else:
            if employer.county_id is not None and fields.get("county") and region_id != employer.region_id:
                wrong.append(("region", "does not contain the given county"))
            elif county_found:
                employer.region_id = region_id
    if employer.county_id is None and employer.zip and not _clean(fields.get("county")) and not wrong:
        await _county_from_zip(db, employer, region_given)
    if "do_not_contact" in fields:
        employer.do_not_contact = bool(fields["do_not_contact"])
    if "notes" in fields:
        employer.notes = fields["notes"] or None
    if "status" in fields:
        if fields["status"] not in (EmployerStatus.active, EmployerStatus.provisional):
            wrong.append(("status", "can be set to active or provisional (merging has its own action)"))
        else:
            employer.status = fields["status"]
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])


async def _county_from_zip(db: AsyncSession, employer: Employer, region_given: int | None) -> None:
    """The county of an employer's California ZIP when nobody gave one, so county routing rules and
    county reports see it. It never moves the employer: only a county in the region it is in (or was
    just given) is taken, and an employer with no region gets the ZIP's."""
    place = await zip_place(db, employer.zip)
    if place is None:
        return
    region_id = region_given if region_given is not None else employer.region_id
    if region_id is None or region_id == place.region_id:
        employer.county_id, employer.region_id = place.county_id, place.region_id


def require_editable(actor: Principal, employer: Employer) -> None:
    """403 unless ``actor`` may edit the employer (``can_edit``); 409 for a merged record (edit its survivor)."""
    if not can_edit(actor, employer):
        raise PermissionDeniedException("Only SPOCs and leads of the employer's region may edit it")
    if employer.status == EmployerStatus.merged:
        raise Conflict(f"Employer #{employer.id} was merged into #{employer.merged_into_id}; edit that one")


def can_reach_contacts(principal: Principal) -> bool:
    """Whether the employer's people are shown with their e-mail and phone: to SPOCs, leads and admins.
    Partners see who they are (name, title) but reach them through the SPOC -- the one door of SPEC §3:
    an address book handed to every partner is the ten uncoordinated calls OneDoor exists to stop."""
    return principal.is_staff


def can_edit(principal: Principal, employer: Employer) -> bool:
    """Admins, and leads/SPOCs of the employer's region (unplaced employers: any lead/SPOC)."""
    if principal.is_admin:
        return True
    if employer.region_id is None:
        return principal.has(Role.lead, Role.spoc)
    return principal.can_in_region(employer.region_id, Role.lead, Role.spoc)


async def create_employer(db: AsyncSession, actor: Principal, data: EmployerIn) -> Employer:
    """Create an employer: staff directly, a partner's touch request (intake, when no employer on file is
    the one named) as ``provisional`` until a SPOC verifies it."""
    employer = Employer(legal_name="", name_key="")
    fields = msgspec.structs.asdict(data)
    await _apply_fields(db, employer, fields)
    if not actor.is_staff:
        employer.status = EmployerStatus.provisional.value
    elif employer.region_id is not None and not can_edit(actor, employer):
        raise PermissionDeniedException("You may only create employers in your own region")
    seen = {employer.name_key}
    for alias in data.aliases:
        key = name_key(alias)
        if key and key not in seen:
            seen.add(key)
            employer.aliases.append(EmployerAlias(name=_clean(alias) or alias, name_key=key))
    for n, contact in enumerate(data.contacts):
        row = contact_row(contact.name, contact.title, contact.email, contact.phone, at=f"contacts[{n}].")
        if same := same_person(row, employer.contacts):
            raise FieldError(*same_person_refusal(row, same, at=f"contacts[{n}]."))
        employer.contacts.append(row)
    db.add(employer)
    await db.flush()
    await db.refresh(employer, RELATIONS)
    await refresh_keys(db, [employer.id])  # typeahead and intake find it from now on
    audit.record(db, actor, "employer.create", "employer", employer.id, employer_id=employer.id,
                 after=audit.snapshot(employer, AUDITED_FIELDS))
    return employer


def contact_row(name: str, title: str | None, email: str | None, phone: str | None, *,
                at: str = "") -> EmployerContact:
    """A contact as kept; a blank name, a bad e-mail or phone is a 422 on ``{at}name``/``{at}email``/
    ``{at}phone`` (``contacts[1].email``), every problem at once."""
    wrong: list[tuple[str, str]] = []
    if not _clean(name):
        wrong.append((f"{at}name", "is required"))
    email_n = None
    try:
        email_n = optional_email(email)
    except ValueError as exc:
        wrong.append((f"{at}email", f"{email.strip()!r} {exc}" if email else str(exc)))
    phone_n = normalize_phone(phone) if _clean(phone) else None
    if _clean(phone) and not phone_n:
        wrong.append((f"{at}phone", f"{phone!r} is not a valid phone number"))
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    return EmployerContact(name=_clean(name), title=_clean(title), email=email_n, phone=phone_n)


def same_person(contact: EmployerContact, others: Iterable[EmployerContact]) -> EmployerContact | None:
    """The employer's contact who is already this person (``matching.contact_is_new``, the import's rule: the
    same e-mail, or without one the same name), or None."""
    this = {"name": contact.name, "email": contact.email}
    return next((o for o in others if o is not contact and (contact.id is None or o.id != contact.id)
                 and not contact_is_new(this, [{"name": o.name, "email": o.email}])), None)


def same_person_refusal(contact: EmployerContact, other: EmployerContact, *, at: str = "") -> tuple[str, str]:
    """The field and message refusing ``contact`` as a second record of ``other``."""
    if contact.email:
        return f"{at}email", f"{contact.email} is already {other.name}'s e-mail at this employer"
    return f"{at}name", f"{other.name} is already a contact of this employer (give an e-mail to tell them apart)"


async def add_alias(db: AsyncSession, actor: Principal, employer: Employer, alias: str) -> None:
    if not can_edit(actor, employer):
        raise PermissionDeniedException("You may not edit this employer")
    alias = _clean(alias) or ""
    key = name_key(alias)
    if not key:
        raise FieldError("alias", "is required")
    if key == employer.name_key or any(a.name_key == key for a in employer.aliases):
        raise FieldError("alias", f"{alias!r} is already a name of this employer")
    employer.aliases.append(EmployerAlias(name=alias, name_key=key))
    await db.flush()
    await refresh_keys(db, [employer.id])
    audit.record(db, actor, "employer.alias_add", "employer", employer.id, employer_id=employer.id,
                 after={"alias": alias})


def employer_seen(employer: Employer) -> str:
    """The digest of the employer's record as an edit form shows it (``crm.seen``)."""
    return seen.digest(audit.snapshot(employer, AUDITED_FIELDS))


async def update_employer(db: AsyncSession, actor: Principal, employer_id: int, patch: EmployerPatch) -> Employer:
    """Change the fields the patch has. One that says what it ``seen`` is refused (409) when someone saved
    meanwhile, compared under the employer's row lock: the edit form sends every field, and a stale one
    would put back what they corrected. Provisional → active is the SPOC's verification (SPEC §2), audited
    as ``employer.verify``. Only a patch with ``seen`` starts its own locked transaction (``lock_row`` commits
    one in progress): one without changes what it names, inside the caller's transaction, as before. Either
    reads the employer under its lock, so a merge committed meanwhile is refused, not edited on the tombstone."""
    if not patch.seen:
        await lock_employer(db, employer_id)
    elif await lock_row(db, Employer, employer_id) is None:
        raise NotFoundException(f"Employer #{employer_id} not found")
    employer = await get_employer(db, employer_id, fresh=True)
    require_editable(actor, employer)
    if patch.seen and patch.seen != employer_seen(employer):
        who = (await seen.last_change(db, "employer", employer.id, EDIT_ACTIONS)).by
        raise seen.Changed(f"{employer.legal_name} was changed meanwhile by {who}: nothing was saved. What is "
                           "saved now is shown; your entries are kept below — check them against it and save again.")
    before = audit.snapshot(employer, AUDITED_FIELDS)
    fields = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET and k != "seen"}
    await _apply_fields(db, employer, fields)
    if employer.region_id is not None and not can_edit(actor, employer):
        raise PermissionDeniedException("You may not move an employer into a region you do not work in")
    await db.flush()
    await refresh_keys(db, [employer.id])
    await db.refresh(employer, RELATIONS)
    old, new = audit.diff(before, audit.snapshot(employer, AUDITED_FIELDS))
    if new:
        verified = old.get("status") == EmployerStatus.provisional and new.get("status") == EmployerStatus.active
        audit.record(db, actor, "employer.verify" if verified else "employer.update", "employer", employer.id,
                     employer_id=employer.id, before=old, after=new)
    return employer


async def get_employer(db: AsyncSession, employer_id: int, *, fresh: bool = False) -> Employer:
    """The employer with its aliases and contacts (its profile), or a 404; ``fresh``: read from the database
    even if this session has it (as it is now that a lock is held)."""
    employer = await db.get(Employer, employer_id, options=PROFILE_LOAD, populate_existing=fresh)
    if employer is None:
        raise NotFoundException(f"Employer #{employer_id} not found")
    await load_profiles(db, [employer])
    return employer


async def load_profiles(db: AsyncSession, employers: Iterable[Employer]) -> None:
    """Load the aliases and contacts of employers this session loaded without them (a page showing them)."""
    missing = {e.id: e for e in employers if {"aliases", "contacts"} & inspect(e).unloaded}
    if missing:
        await db.scalars(select(Employer).where(Employer.id.in_(sorted(missing))).options(*PROFILE_LOAD)
                         .execution_options(populate_existing=True))


def search_query(q: str | None, region_id: int | None = None, status: str | None = None,
                 sector: str | None = None, no_spoc: bool = False, mine: int | None = None) -> Select[Employer]:
    """Employers whose names (legal, DBA, aliases) have a word beginning with each word of the query, or
    whose domain, FEIN or id it is; ``no_spoc``: only those with no SPOC in their own region (a lead's
    worklist: their requests wait in the unassigned queue); ``mine``: only those whose SPOC or backup that
    user is (a SPOC's own caseload)."""
    stmt = select(Employer)
    if mine is not None:
        stmt = stmt.where(select(SpocAssignment.id).where(
            SpocAssignment.employer_id == Employer.id, SpocAssignment.ended_at.is_(None),
            or_(SpocAssignment.spoc_id == mine, SpocAssignment.backup_spoc_id == mine)).exists())
    if no_spoc:
        stmt = stmt.where(Employer.region_id.is_not(None), ~select(SpocAssignment.id).where(
            SpocAssignment.employer_id == Employer.id, SpocAssignment.region_id == Employer.region_id,
            SpocAssignment.ended_at.is_(None)).exists())
    if status:
        stmt = stmt.where(Employer.status == status)
    else:
        stmt = stmt.where(Employer.status != EmployerStatus.merged)
    if region_id is not None:
        stmt = stmt.where(Employer.region_id == region_id)
    if sector:
        stmt = stmt.where(Employer.sector_code == sector)
    if q and q.strip():
        key = name_key(q)
        raw = q.strip().lower()
        # The ids each way of finding an employer gives, as one union probed by primary key: an OR of
        # conditions on the employer row made PostgreSQL read all 250,000 rows (0.14 s) for two words.
        found: list[Select[Any]] = []
        if key:
            # Every word begins a word of a name (indexed: ``with_words``); an employer whose stored
            # keys are missing (a bulk load not yet reindexed) is still found by its name's start.
            found += [select(Employer.id).where(_starts(Employer.name_key, key)),
                      select(EmployerAlias.employer_id).where(_starts(EmployerAlias.name_key, key))]
        if (by_words := with_words(q)) is not None:
            found.append(by_words)
        domain = normalize_domain(raw) if "." in raw else None
        if domain:
            found.append(select(Employer.id).where(Employer.domain == domain))
        if fein := fein_typed(raw):  # the FEIN a profile shows, with or without its dash
            found.append(select(Employer.id).where(Employer.fein == fein))
        # Only a number that can be an id is one ("²" or 20 digits are searched as text).
        if (employer_id := parse_id(raw.removeprefix("#"))) is not None:  # "#42" as the pages write it
            found.append(select(literal(employer_id)))
        if not found:
            return stmt.where(false())
        stmt = stmt.where(Employer.id.in_(union(*found)))
    return stmt


def _starts(column: InstrumentedAttribute[str], key: str) -> ColumnElement[bool]:
    """``column`` begins with ``key``, as an index range (LIKE 'x%' uses no index on either database)."""
    return and_(column >= key, column < next_prefix(key))


async def search_employers(db: AsyncSession, q: str | None, *, region: str | None = None,
                           status: str | None = None, sector: str | None = None, no_spoc: bool = False,
                           mine: int | None = None, limit: int = 25,
                           offset: int = 0) -> tuple[list[Employer], int]:
    region_id = await region_id_for(db, region) if region else None
    if status and status not in {s.value for s in EmployerStatus}:
        raise FieldError("status", f"must be one of {', '.join(s.value for s in EmployerStatus)}")
    stmt = search_query(q, region_id, status, sector, no_spoc, mine)
    total = await db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    # Names beginning with what was typed first ("Robinson Hill Farms" before "Hill and Robinson …" for
    # "robinson"), then by name.
    key = name_key(q) if q and q.strip() else ""
    first = (case((_starts(Employer.name_key, key), 0), else_=1),) if key else ()
    rows = (await db.scalars(stmt.order_by(*first, Employer.name_key, Employer.id).limit(limit).offset(offset))).all()
    return list(rows), total


async def assignments(db: AsyncSession, employer_id: int) -> list[SpocAssignment]:
    rows = await db.scalars(
        select(SpocAssignment)
        .where(SpocAssignment.employer_id == employer_id)
        .order_by(SpocAssignment.ended_at.is_not(None), SpocAssignment.started_at.desc(), SpocAssignment.id.desc())
    )
    return list(rows)


async def active_assignment(db: AsyncSession, employer_id: int, region_id: int) -> SpocAssignment | None:
    return await db.scalar(select(SpocAssignment).where(
        SpocAssignment.employer_id == employer_id, SpocAssignment.region_id == region_id,
        SpocAssignment.ended_at.is_(None)))


async def spoc_candidates(db: AsyncSession, region_id: int) -> list[User]:
    """Users who may own employers in the region (its SPOCs and leads)."""
    rows = await db.scalars(
        select(User).join(RoleGrant).where(
            RoleGrant.region_id == region_id, RoleGrant.role.in_([Role.spoc, Role.lead]), User.is_active.is_(True)
        ).distinct().order_by(User.name)
    )
    return list(rows)


async def assign_spoc(db: AsyncSession, actor: Principal, employer_id: int, data: AssignIn,
                      now: dt.datetime | None = None) -> SpocAssignment:
    """Make ``data.spoc_id`` the employer's SPOC in a region, ending the current assignment.

    Leads of the region (and admins) only. The partial unique index guarantees one active
    assignment; ``replaces_assignment_id`` turns a stale or concurrent reassignment into a 409.
    """
    region_id = await region_id_for(db, data.region)
    if not actor.can_in_region(region_id, Role.lead):
        raise PermissionDeniedException("Only a lead of this region may assign its SPOCs")
    employer = await get_employer(db, employer_id)
    # The SPOC and backup first (share-locked: an admin's removal of their role or deactivation waits for
    # this assignment, which it then counts as their caseload): user rows before employer rows.
    spoc = await eligible_spoc(db, data.spoc_id, region_id, "spoc_id")
    if data.backup_spoc_id is not None:
        if data.backup_spoc_id == data.spoc_id:
            raise FieldError("backup_spoc_id", "must be someone other than the SPOC")
        await eligible_spoc(db, data.backup_spoc_id, region_id, "backup_spoc_id")
    # Locked before its status is read: a merge moving the assignments has then finished, and its
    # tombstone is refused rather than given the SPOC its survivor would lack.
    await lock_employer(db, employer.id)
    await db.refresh(employer, ["status", "merged_into_id"])
    if employer.status == EmployerStatus.merged:
        raise Conflict(f"Employer #{employer.id} was merged into #{employer.merged_into_id}")
    now = now or dt.datetime.now(dt.UTC)
    current = await active_assignment(db, employer_id, region_id)
    current_id = current.id if current else None
    if current_id != data.replaces_assignment_id:
        now_said = (f"{current.spoc.name} is its SPOC in {data.region.upper()} now" if current is not None
                    else f"it has no SPOC in {data.region.upper()} now")
        raise Conflict(f"The SPOC assignment changed while you were looking: {now_said}. "
                       "Reload the page and try again")
    if current is not None and (current.spoc_id, current.backup_spoc_id) == (spoc.id, data.backup_spoc_id):
        raise FieldError("spoc_id", f"{spoc.name} is already the SPOC here, with the same backup")
    before = None
    if current is not None:
        before = {"assignment_id": current.id, "spoc_id": current.spoc_id, "backup_spoc_id": current.backup_spoc_id}
        ended = await db.execute(
            update(SpocAssignment)
            .where(SpocAssignment.id == current.id, SpocAssignment.employer_id == employer_id,
                   SpocAssignment.ended_at.is_(None))
            .values(ended_at=now)
        )
        if ended.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("The SPOC assignment changed meanwhile; reload and try again")
    assignment = SpocAssignment(
        employer_id=employer_id, region_id=region_id, spoc_id=spoc.id, backup_spoc_id=data.backup_spoc_id,
        started_at=now, reason=(data.reason or "").strip() or None, assigned_by_id=actor.id,
    )
    db.add(assignment)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:
        raise Conflict("Another SPOC was assigned to this employer in this region at the same moment") from None
    await db.refresh(assignment, ["region", "spoc", "backup_spoc", "assigned_by"])
    audit.record(db, actor, "spoc.assign" if current is None else "spoc.reassign", "spoc_assignment",
                 assignment.id, employer_id=employer_id, before=before,
                 after={"assignment_id": assignment.id, "spoc_id": spoc.id, "spoc": spoc.name,
                        "backup_spoc_id": data.backup_spoc_id, "region": data.region.upper()},
                 note=assignment.reason)
    await _hand_over_open_touches(db, actor, employer, region_id, current.spoc_id if current else None, spoc, now)
    return assignment


async def _hand_over_open_touches(db: AsyncSession, actor: Principal, employer: Employer, region_id: int,
                                  old_spoc_id: int | None, spoc: User, now: dt.datetime) -> None:
    """The employer's SPOC owns every touch: its open touches in the region that the old SPOC held (or
    nobody, in the unassigned queue) go with the assignment, so pages and intake name one SPOC. A touch a
    lead gave someone else by hand stays theirs. The new SPOC and the requesters riding them are told."""
    from crm.touches.models import OPEN_TOUCH_VALUES, Touch, TouchRequest
    from crm.touches.workflow import notify

    ids = sorted((await db.scalars(
        update(Touch).where(Touch.employer_id == employer.id, Touch.region_id == region_id,
                            Touch.status.in_(OPEN_TOUCH_VALUES),
                            or_(Touch.spoc_id.is_(None), Touch.spoc_id == old_spoc_id))
        .values(spoc_id=spoc.id, updated_at=now).returning(Touch.id)
        .execution_options(synchronize_session="fetch"))).all())
    if not ids:
        return
    for touch_id in ids:
        audit.record(db, actor, "touch.reassign", "touch", touch_id, employer_id=employer.id,
                     before={"spoc_id": old_spoc_id}, after={"spoc_id": spoc.id, "spoc": spoc.name},
                     note="moved with the employer's SPOC assignment")
    listed = ", ".join(f"#{i}" for i in ids)
    if spoc.id != actor.id:
        notify(db, spoc.email, f"{employer.legal_name}'s open touches are yours",
               f"{actor.name} made you {employer.legal_name}'s SPOC; its open touch(es) {listed} are now in "
               "your queue.", now)
    riding = await db.execute(
        select(TouchRequest.id, TouchRequest.touch_id, User.email)
        .join(User, User.id == TouchRequest.requester_id)
        .where(TouchRequest.touch_id.in_(ids), TouchRequest.status.in_(("queued", "scheduled")))
        .order_by(TouchRequest.id))
    for request_id, on_touch, email in riding:
        notify(db, email, f"New SPOC for touch #{on_touch}",
               sentence(f"Your request #{request_id}: {spoc.name} now handles your touch with "
                        f"{employer.legal_name}"), now)
