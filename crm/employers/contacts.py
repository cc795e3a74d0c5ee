"""The employer's people (SPEC §2, employer contacts): staff of its region add them, correct them and
remove the ones no touch or seat names. Each change is audited on the employer.

A person is on file once: a second record with the same e-mail (or, without one, the same name) is
refused, as the import and the create form refuse it. The check runs under the employer's lock, so two
people adding the same contact at once cannot both pass it."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.exceptions import NotFoundException
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit import service as audit
from crm.auth.principal import Principal
from crm.councils.models import CouncilMember
from crm.db import begin_write
from crm.employers.models import Employer, EmployerContact
from crm.employers.schemas import ContactIn, ContactPatch
from crm.employers.service import contact_row, lock_employer, require_editable, same_person, same_person_refusal
from crm.errors import Conflict, FieldError
from crm.partnerships.models import PartnershipMember
from crm.touches.models import touch_contact

FIELDS = ("name", "title", "email", "phone")


async def _editable(db: AsyncSession, actor: Principal, employer_id: int) -> Employer:
    """The employer, locked for the change, if ``actor`` may edit it: 404, 403, or 409 when merged."""
    await begin_write(db)
    await lock_employer(db, employer_id)
    employer = await db.get(Employer, employer_id, populate_existing=True)
    if employer is None:
        raise NotFoundException(f"Employer #{employer_id} not found")
    require_editable(actor, employer)
    return employer


async def _people(db: AsyncSession, employer_id: int) -> list[EmployerContact]:
    return list(await db.scalars(select(EmployerContact).where(EmployerContact.employer_id == employer_id)
                                 .execution_options(populate_existing=True)))


def _refuse_second_record(contact: EmployerContact, people: list[EmployerContact]) -> None:
    if other := same_person(contact, people):
        raise FieldError(*same_person_refusal(contact, other))


async def add_contact(db: AsyncSession, actor: Principal, employer_id: int, data: ContactIn) -> EmployerContact:
    employer = await _editable(db, actor, employer_id)
    contact = contact_row(data.name, data.title, data.email, data.phone)
    _refuse_second_record(contact, await _people(db, employer.id))
    contact.employer_id = employer.id
    db.add(contact)
    await db.flush()
    audit.record(db, actor, "employer.contact_add", "contact", contact.id, employer_id=employer.id,
                 after=audit.snapshot(contact, FIELDS))
    return contact


def _contact_of(employer_id: int, contact_id: int, people: list[EmployerContact]) -> EmployerContact:
    contact = next((c for c in people if c.id == contact_id), None)
    if contact is None:
        raise NotFoundException(f"Contact #{contact_id} is not a person at employer #{employer_id}")
    return contact


async def update_contact(db: AsyncSession, actor: Principal, employer_id: int, contact_id: int,
                         data: ContactPatch) -> EmployerContact:
    """Change the fields the patch has (a blank title, e-mail or phone clears it)."""
    employer = await _editable(db, actor, employer_id)
    people = await _people(db, employer.id)
    contact = _contact_of(employer.id, contact_id, people)
    before = audit.snapshot(contact, FIELDS)
    given = {f: getattr(data, f) for f in FIELDS if getattr(data, f) is not msgspec.UNSET}
    merged = {**before, **given}
    checked = contact_row(merged["name"] or "", merged["title"], merged["email"], merged["phone"])
    checked.id = contact.id
    _refuse_second_record(checked, people)
    for field in FIELDS:
        setattr(contact, field, getattr(checked, field))
    old, new = audit.diff(before, audit.snapshot(contact, FIELDS))
    if new:
        await db.flush()
        audit.record(db, actor, "employer.contact_update", "contact", contact.id, employer_id=employer.id,
                     before=old, after=new)
        await _seats_follow(db, actor, contact, old, new)
    return contact


SEAT_FIELDS = ("name", "email", "title")  # what a council or partnership seat copied from the contact


async def _seats_follow(db: AsyncSession, actor: Principal, contact: EmployerContact, old: dict[str, Any],
                        new: dict[str, Any]) -> None:
    """The current council and partnership seats of ``contact`` take their corrected name, e-mail and title
    where they still read as the contact did (a seat edited on its own keeps its own), each audited."""
    for seat_model, kind in ((CouncilMember, "council"), (PartnershipMember, "partnership")):
        seats = await db.scalars(select(seat_model).where(seat_model.employer_contact_id == contact.id,
                                                          seat_model.removed_at.is_(None)))
        for seat in seats:
            changed = {f: new.get(f) for f in SEAT_FIELDS if f in old and getattr(seat, f) == old[f]}
            if not changed:
                continue
            before = {f: getattr(seat, f) for f in changed}
            for f, value in changed.items():
                setattr(seat, f, value)
            audit.record(db, actor, f"{kind}.member_update", f"{kind}_member", seat.id, employer_id=contact.employer_id,
                         before=before, after=changed, note="the employer's contact was corrected")


async def remove_contact(db: AsyncSession, actor: Principal, employer_id: int, contact_id: int) -> str:
    """Remove a person no touch and no council or partnership seat names; returns their name. Removing one
    who was met on a touch would erase who was met (``touch_contact`` cascades), so that is refused."""
    employer = await _editable(db, actor, employer_id)
    contact = _contact_of(employer.id, contact_id, await _people(db, employer.id))
    touches = await db.scalar(select(func.count()).select_from(touch_contact)
                              .where(touch_contact.c.contact_id == contact.id)) or 0
    seats = sum([await db.scalar(select(func.count()).where(seat.employer_contact_id == contact.id)) or 0
                 for seat in (CouncilMember, PartnershipMember)])
    if touches or seats:
        why = " and ".join(filter(None, [
            f"was met on {touches} touch{'es' if touches != 1 else ''}" if touches else "",
            f"holds {seats} council or partnership seat{'s' if seats != 1 else ''}" if seats else ""]))
        raise Conflict(f"{contact.name} {why}: removing them would erase that record. Correct their details "
                       "instead (a new title, or a note that they left).")
    name = contact.name
    audit.record(db, actor, "employer.contact_remove", "contact", contact.id, employer_id=employer.id,
                 before=audit.snapshot(contact, FIELDS))
    await db.delete(contact)
    await db.flush()
    return name
