"""`/api/employers` and `/api/employers/{id}/spoc-assignments`."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import JSONBody, Parameter

from crm.auth.guards import requires_crm_user, requires_staff
from crm.auth.models import Role
from crm.deps import Db, Me, PathId
from crm.employers import contacts, service
from crm.employers.models import Employer, EmployerContact, EmployerStatus, SpocAssignment
from crm.employers.schemas import (
    AssignIn,
    AssignmentOut,
    AssignmentPage,
    ContactIn,
    ContactOut,
    ContactPatch,
    EmployerIn,
    EmployerOut,
    EmployerPage,
    EmployerPatch,
    EmployerSummary,
    SpocOut,
)
from crm.openapi import choice_parameter
from crm.pagination import Limit, Offset


def employer_out(e: Employer, *, reach_contacts: bool = True) -> EmployerOut:
    """The employer as the API answers it; without ``reach_contacts`` (``service.can_reach_contacts``) its
    people come without e-mail and phone."""
    return EmployerOut(
        id=e.id, legal_name=e.legal_name, dba=e.dba, name_key=e.name_key, website=e.website, domain=e.domain,
        fein=e.fein, phone=e.phone, naics_code=e.naics_code, sector_code=e.sector_code, size_band=e.size_band,
        address_line=e.address_line, city=e.city, zip=e.zip, county=e.county.name if e.county else None,
        region=e.region.code if e.region else None, status=e.status, merged_into_id=e.merged_into_id,
        do_not_contact=e.do_not_contact, aliases=[a.name for a in e.aliases],
        contacts=[ContactOut(id=c.id, name=c.name, title=c.title, email=c.email if reach_contacts else None,
                             phone=c.phone if reach_contacts else None) for c in e.contacts],
        created_at=e.created_at, updated_at=e.updated_at, seen=service.employer_seen(e),
    )


def contact_out(c: EmployerContact) -> ContactOut:
    return ContactOut(id=c.id, name=c.name, title=c.title, email=c.email, phone=c.phone)


def employer_summary(e: Employer) -> EmployerSummary:
    return EmployerSummary(id=e.id, legal_name=e.legal_name, dba=e.dba, domain=e.domain, city=e.city,
                           region=e.region.code if e.region else None, status=e.status, sector_code=e.sector_code)


def assignment_out(a: SpocAssignment, notes: bool = True) -> AssignmentOut:
    """``notes``: with the lead's reason (staff only: partners see who, and since when)."""
    return AssignmentOut(
        id=a.id, region=a.region.code, spoc=SpocOut(id=a.spoc.id, name=a.spoc.name, email=a.spoc.email),
        backup_spoc=SpocOut(id=a.backup_spoc.id, name=a.backup_spoc.name, email=a.backup_spoc.email)
        if a.backup_spoc else None,
        started_at=a.started_at, ended_at=a.ended_at, reason=a.reason if notes else None,
        assigned_by=a.assigned_by.name if a.assigned_by else None, active=a.ended_at is None,
    )


class EmployerApi(Controller):
    path = "/api/employers"
    tags = ["employers"]
    guards = [requires_crm_user]

    @get("/")
    async def list_employers(
        self, db: Db, limit: Limit = 25, offset: Offset = 0,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        region: Annotated[str | None, Parameter(max_length=32)] = None,
        status: Annotated[str | None, choice_parameter(EmployerStatus, max_length=16)] = None,
        sector: Annotated[str | None, Parameter(max_length=8)] = None,
        no_spoc: Annotated[bool, Parameter(description="only employers with no SPOC in their own region")] = False,
    ) -> EmployerPage:
        """Search employers by name, alias, domain or id; paginated."""
        rows, total = await service.search_employers(db, q, region=region, status=status, sector=sector,
                                                     no_spoc=no_spoc, limit=limit, offset=offset)
        return EmployerPage(items=[employer_summary(e) for e in rows], total=total, limit=limit, offset=offset)

    @post("/")
    async def create_employer(self, db: Db, principal: Me, data: JSONBody[EmployerIn]) -> EmployerOut:
        """Staff only. A partner names a new employer in a touch request, where intake matches it against
        the employers on file first (a record made beside the real one would make it ambiguous)."""
        if not principal.is_staff:
            raise PermissionDeniedException("Partners name a new employer in a touch request; OneDoor matches "
                                            "it against the employers on file first")
        employer = await service.create_employer(db, principal, data)
        return employer_out(employer)

    @get("/{employer_id:int}")
    async def get_employer(self, db: Db, principal: Me, employer_id: PathId) -> EmployerOut:
        return employer_out(await service.get_employer(db, employer_id),
                            reach_contacts=service.can_reach_contacts(principal))

    @patch("/{employer_id:int}", guards=[requires_staff])
    async def update_employer(self, db: Db, principal: Me, employer_id: PathId,
                              data: JSONBody[EmployerPatch]) -> EmployerOut:
        return employer_out(await service.update_employer(db, principal, employer_id, data))

    @post("/{employer_id:int}/contacts", guards=[requires_staff])
    async def add_contact(self, db: Db, principal: Me, employer_id: PathId,
                          data: JSONBody[ContactIn]) -> ContactOut:
        """Add a person at the employer (SPOCs and leads of its region). The same e-mail as a contact on file,
        or without e-mail the same name, is a 422: the person is already there."""
        return contact_out(await contacts.add_contact(db, principal, employer_id, data))

    @patch("/{employer_id:int}/contacts/{contact_id:int}", guards=[requires_staff])
    async def update_contact(self, db: Db, principal: Me, employer_id: PathId, contact_id: PathId,
                             data: JSONBody[ContactPatch]) -> ContactOut:
        """Correct a contact: only the fields given change; null clears a title, e-mail or phone."""
        return contact_out(await contacts.update_contact(db, principal, employer_id, contact_id, data))

    @delete("/{employer_id:int}/contacts/{contact_id:int}", guards=[requires_staff])
    async def remove_contact(self, db: Db, principal: Me, employer_id: PathId, contact_id: PathId) -> None:
        """Remove a contact no touch and no council or partnership seat names (else 409: correct it instead)."""
        await contacts.remove_contact(db, principal, employer_id, contact_id)

    @get("/{employer_id:int}/spoc-assignments")
    async def list_assignments(self, db: Db, principal: Me, employer_id: PathId) -> AssignmentPage:
        """Current and past SPOC assignments, active first; ``reason`` is null but for the region's staff."""
        await service.get_employer(db, employer_id)
        rows = await service.assignments(db, employer_id)
        # The lead's reason stays with the region's staff (as its audit trail does).
        return AssignmentPage(items=[assignment_out(a, principal.can_in_region(a.region_id, Role.lead, Role.spoc))
                                     for a in rows], total=len(rows))

    @post("/{employer_id:int}/spoc-assignments", guards=[requires_staff])
    async def assign(self, db: Db, principal: Me, employer_id: PathId,
                     data: JSONBody[AssignIn]) -> AssignmentOut:
        """Assign or reassign the employer's SPOC in a region (leads of that region)."""
        return assignment_out(await service.assign_spoc(db, principal, employer_id, data))
