"""API bodies for advisory councils (msgspec Structs); the page forms validate with the same ones."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from crm.councils.compliance import MemberRole, MemberType
from crm.councils.models import RECOMMENDATION_STATUSES
from crm.emails import Email
from crm.ids import Id
from crm.openapi import checked, choice
from crm.seen import Seen

NAME_MAX, TEXT_MAX, NAICS_PATTERN = 200, 20_000, r"^\d{2,6}$"
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=NAME_MAX)]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Short = Annotated[str, msgspec.Meta(max_length=120)]
Text = Annotated[str, msgspec.Meta(max_length=TEXT_MAX)]
RegionCode = Annotated[str, msgspec.Meta(min_length=2, max_length=32)]
Naics = Annotated[str, msgspec.Meta(pattern=NAICS_PATTERN)]
MemberTypeStr = Annotated[str, choice(MemberType, max_length=16)]
MemberRoleStr = Annotated[str, choice(MemberRole, max_length=16)]
RecommendationStatus = Annotated[str, choice(RECOMMENDATION_STATUSES, max_length=16)]


class CouncilIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new council. Its text fields' bounds are checked by ``crm.councils.service.council_problems``
    with the owner and region, so that every wrong field is named at once."""

    name: Annotated[str, checked(minLength=1, maxLength=NAME_MAX)]
    owner_organization_id: Id
    region: Annotated[str, checked(minLength=2, maxLength=32)]
    program: Annotated[str, checked(maxLength=NAME_MAX)] | None = None
    naics_prefix: Annotated[str, checked(pattern=NAICS_PATTERN)] | None = None
    description: Annotated[str, checked(maxLength=TEXT_MAX)] | None = None


class CouncilPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Partial update: only the fields present change (the owner and region are fixed)."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    program: Annotated[str, msgspec.Meta(max_length=200)] | None | msgspec.UnsetType = msgspec.UNSET
    naics_prefix: Naics | None | msgspec.UnsetType = msgspec.UNSET
    description: Text | None | msgspec.UnsetType = msgspec.UNSET
    seen: Seen | None = None  # what the form or client read (crm.seen); optional, never a field to change


class MemberIn(msgspec.Struct, forbid_unknown_fields=True):
    """A seat: a person from an employer (``employer_id``), a partner organization, or the public (neither)."""

    name: PersonName
    member_type: MemberTypeStr
    role: MemberRoleStr = "member"
    email: Email | None = None
    title: Short | None = None
    organization_id: Id | None = None
    employer_id: Id | None = None
    employer_contact_id: Id | None = None
    user_id: Id | None = None
    term_start: dt.date | None = None
    term_end: dt.date | None = None


class RemoveIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class MeetingIn(msgspec.Struct, forbid_unknown_fields=True):
    held_on: dt.date
    agenda: Text | None = None
    minutes: Text | None = None


class AttendanceIn(msgspec.Struct, forbid_unknown_fields=True):
    present: bool


class RecommendationIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
    meeting_id: Id | None = None
    owner: Short | None = None
    status: RecommendationStatus = "open"


class RecommendationPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    status: RecommendationStatus | msgspec.UnsetType = msgspec.UNSET
    owner: Short | None | msgspec.UnsetType = msgspec.UNSET
    follow_up: Annotated[str, msgspec.Meta(max_length=5000)] | None | msgspec.UnsetType = msgspec.UNSET


class BadgeOut(msgspec.Struct):
    key: str
    label: str
    ok: bool | None
    explanation: str
    warning: bool = False  # not ok, but a heads-up (terms ending soon), not a failure


class CouncilOut(msgspec.Struct):
    id: int
    name: str
    owner_organization_id: int
    owner_organization: str
    region: str
    program: str | None
    naics_prefix: str | None
    description: str | None
    badges: list[BadgeOut]
    seen: str = ""  # send it back with the next PATCH to be refused rather than overwrite someone's change


class CouncilPage(msgspec.Struct):
    items: list[CouncilOut]
    total: int
    limit: int
    offset: int


class MemberOut(msgspec.Struct):
    id: int
    name: str
    email: str | None
    title: str | None
    affiliation: str
    organization_id: int | None
    employer_id: int | None
    employer_contact_id: int | None
    user_id: int | None
    member_type: str
    role: str
    term_start: dt.date | None
    term_end: dt.date | None
    removed_at: dt.datetime | None
    current: bool


class MemberPage(msgspec.Struct):
    items: list[MemberOut]
    total: int
    limit: int
    offset: int


class AttendanceOut(msgspec.Struct):
    meeting_id: int
    member_id: int
    present: bool
    touch_id: int | None


class MeetingOut(msgspec.Struct):
    id: int
    held_on: dt.date
    agenda: str | None
    minutes: str | None
    present_member_ids: list[int]


class MeetingPage(msgspec.Struct):
    items: list[MeetingOut]
    total: int
    limit: int
    offset: int


class RecommendationOut(msgspec.Struct):
    id: int
    meeting_id: int | None
    text: str
    status: str
    owner: str | None
    follow_up: str | None


class RecommendationPage(msgspec.Struct):
    items: list[RecommendationOut]
    total: int
    limit: int
    offset: int
