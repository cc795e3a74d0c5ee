"""API bodies for employers and SPOC assignments (msgspec Structs)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from crm.emails import Email
from crm.employers.models import EmployerStatus, SizeBand
from crm.ids import Id
from crm.openapi import choice
from crm.seen import Seen

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Short = Annotated[str, msgspec.Meta(max_length=200)]
Note = Annotated[str, msgspec.Meta(max_length=2000)]
Naics = Annotated[str, msgspec.Meta(pattern=r"^\d{2,6}$")]
RegionCode = Annotated[str, msgspec.Meta(min_length=2, max_length=32)]


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    title: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    email: Email | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class ContactPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A contact's fields to change: only those present change; null (or blank) clears a title, e-mail or
    phone."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | msgspec.UnsetType = msgspec.UNSET
    title: Annotated[str, msgspec.Meta(max_length=120)] | None | msgspec.UnsetType = msgspec.UNSET
    email: Email | None | msgspec.UnsetType = msgspec.UNSET
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None | msgspec.UnsetType = msgspec.UNSET


class EmployerIn(msgspec.Struct, forbid_unknown_fields=True):
    legal_name: Name
    dba: Short | None = None
    website: Short | None = None
    fein: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    naics_code: Naics | None = None
    size_band: Annotated[str, choice(SizeBand, max_length=8)] | None = None
    address_line: Short | None = None
    city: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    zip: Annotated[str, msgspec.Meta(max_length=10)] | None = None
    county: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    region: RegionCode | None = None
    aliases: Annotated[list[Name], msgspec.Meta(max_length=50)] = []
    contacts: Annotated[list[ContactIn], msgspec.Meta(max_length=50)] = []
    do_not_contact: bool = False
    notes: Note | None = None


class EmployerPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Partial update: only the fields present change."""

    legal_name: Name | msgspec.UnsetType = msgspec.UNSET
    dba: Short | None | msgspec.UnsetType = msgspec.UNSET
    website: Short | None | msgspec.UnsetType = msgspec.UNSET
    fein: Annotated[str, msgspec.Meta(max_length=20)] | None | msgspec.UnsetType = msgspec.UNSET
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None | msgspec.UnsetType = msgspec.UNSET
    naics_code: Naics | None | msgspec.UnsetType = msgspec.UNSET
    size_band: Annotated[str, choice(SizeBand, max_length=8)] | None | msgspec.UnsetType = msgspec.UNSET
    address_line: Short | None | msgspec.UnsetType = msgspec.UNSET
    city: Annotated[str, msgspec.Meta(max_length=80)] | None | msgspec.UnsetType = msgspec.UNSET
    zip: Annotated[str, msgspec.Meta(max_length=10)] | None | msgspec.UnsetType = msgspec.UNSET
    county: Annotated[str, msgspec.Meta(max_length=64)] | None | msgspec.UnsetType = msgspec.UNSET
    region: RegionCode | None | msgspec.UnsetType = msgspec.UNSET
    do_not_contact: bool | msgspec.UnsetType = msgspec.UNSET
    notes: Note | None | msgspec.UnsetType = msgspec.UNSET
    # merged is its own action
    status: Annotated[str, choice((EmployerStatus.active, EmployerStatus.provisional),
                                  max_length=16)] | msgspec.UnsetType = msgspec.UNSET
    seen: Seen | msgspec.UnsetType = msgspec.UNSET  # what the form or client read (crm.seen); never a field to change


class ContactOut(msgspec.Struct):
    """A person at the employer; a partner gets ``email`` and ``phone`` as null (reached through the SPOC)."""

    id: int
    name: str
    title: str | None
    email: str | None
    phone: str | None


class SpocOut(msgspec.Struct):
    id: int
    name: str
    email: str


class AssignmentOut(msgspec.Struct):
    id: int
    region: str
    spoc: SpocOut
    backup_spoc: SpocOut | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    reason: str | None
    assigned_by: str | None
    active: bool


class EmployerOut(msgspec.Struct):
    id: int
    legal_name: str
    dba: str | None
    name_key: str
    website: str | None
    domain: str | None
    fein: str | None
    phone: str | None
    naics_code: str | None
    sector_code: str | None
    size_band: str | None
    address_line: str | None
    city: str | None
    zip: str | None
    county: str | None
    region: str | None
    status: str
    merged_into_id: int | None
    do_not_contact: bool
    aliases: list[str]
    contacts: list[ContactOut]
    created_at: dt.datetime
    updated_at: dt.datetime
    seen: str = ""  # send it back with the next PATCH to be refused rather than overwrite someone's change


class EmployerSummary(msgspec.Struct):
    id: int
    legal_name: str
    dba: str | None
    domain: str | None
    city: str | None
    region: str | None
    status: str
    sector_code: str | None


class EmployerPage(msgspec.Struct):
    items: list[EmployerSummary]
    total: int
    limit: int
    offset: int


class AssignIn(msgspec.Struct, forbid_unknown_fields=True):
    region: RegionCode
    spoc_id: Id
    backup_spoc_id: Id | None = None
    reason: Note | None = None
    # The assignment the caller saw as active (None = "there was none"); a mismatch is a 409,
    # so two people reassigning at once cannot silently overwrite each other.
    replaces_assignment_id: Id | None = None


class AssignmentPage(msgspec.Struct):
    items: list[AssignmentOut]
    total: int
