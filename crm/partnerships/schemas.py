"""API bodies for sector partnerships (msgspec Structs); the page forms validate with the same ones."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from crm.councils.schemas import NAICS_PATTERN, NAME_MAX, TEXT_MAX, BadgeOut
from crm.emails import Email
from crm.ids import Id
from crm.openapi import checked, choice
from crm.partnerships.indicators import Stage, SupportRole
from crm.partnerships.models import MEMBER_KINDS, MILESTONE_STATUSES
from crm.seen import Seen

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Short = Annotated[str, msgspec.Meta(max_length=120)]
Text = Annotated[str, msgspec.Meta(max_length=20_000)]
RegionCode = Annotated[str, msgspec.Meta(min_length=2, max_length=32)]
Naics = Annotated[str, msgspec.Meta(pattern=r"^\d{2,6}$")]
StageStr = Annotated[str, choice(Stage, max_length=20)]
MilestoneStatus = Annotated[str, choice(MILESTONE_STATUSES, max_length=16)]


class PartnershipIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new partnership. Its names, regions, sectors and text are checked by
    ``crm.partnerships.service.partnership_problems`` with the owner, so that every wrong field is named at once."""

    name: Annotated[str, checked(minLength=1, maxLength=NAME_MAX)]
    owner_organization_id: Id
    regions: Annotated[list[Annotated[str, checked(minLength=2, maxLength=32)]],
                       msgspec.Meta(max_length=14, extra_json_schema={"minItems": 1})]
    naics_prefixes: Annotated[list[Annotated[str, checked(pattern=NAICS_PATTERN)]], msgspec.Meta(max_length=20)] = []
    stage: StageStr = "support_team"
    description: Annotated[str, checked(maxLength=TEXT_MAX)] | None = None


class PartnershipFormIn(msgspec.Struct):
    """The create form's single-valued fields (regions and sectors arrive as lists)."""

    name: Annotated[str, checked(minLength=1, maxLength=NAME_MAX)]
    owner_organization_id: Id
    stage: StageStr = "support_team"
    description: Annotated[str, checked(maxLength=TEXT_MAX)] | None = None


class PartnershipPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    stage: StageStr | msgspec.UnsetType = msgspec.UNSET
    naics_prefixes: Annotated[list[Naics], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    description: Text | None | msgspec.UnsetType = msgspec.UNSET
    seen: Seen | None = None  # what the form or client read (crm.seen); optional, never a field to change


class PartnerMemberIn(msgspec.Struct, forbid_unknown_fields=True):
    """``champion`` (business co-chair: an employer contact), ``employer`` (member employer) or ``support``
    (an organization or a person on the support team, with ``support_role``)."""

    kind: Annotated[str, choice(MEMBER_KINDS, max_length=16)]
    name: PersonName | None = None
    email: Email | None = None
    title: Short | None = None
    employer_id: Id | None = None
    employer_contact_id: Id | None = None
    organization_id: Id | None = None
    support_role: Annotated[str, choice(SupportRole, max_length=16)] | None = None
    user_id: Id | None = None


class ConveningIn(msgspec.Struct, forbid_unknown_fields=True):
    held_on: dt.date
    agenda: Text | None = None
    minutes: Text | None = None


class AttendanceIn(msgspec.Struct, forbid_unknown_fields=True):
    present: bool


class ActionTeamIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    business_chair_id: Id | None = None
    support_staff_id: Id | None = None


class MilestoneIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Name
    due_on: dt.date
    status: MilestoneStatus = "planned"


class MilestonePatch(msgspec.Struct, forbid_unknown_fields=True):
    status: MilestoneStatus


class PartnershipOut(msgspec.Struct):
    id: int
    name: str
    owner_organization_id: int
    owner_organization: str
    regions: list[str]
    naics_prefixes: list[str]
    stage: str
    next_stages: list[str]
    description: str | None
    indicators: list[BadgeOut]
    seen: str = ""  # send it back with the next PATCH to be refused rather than overwrite someone's change


class PartnershipPage(msgspec.Struct):
    items: list[PartnershipOut]
    total: int
    limit: int
    offset: int


class PartnerMemberOut(msgspec.Struct):
    id: int
    kind: str
    side: str
    name: str | None
    email: str | None
    title: str | None
    employer_id: int | None
    employer_contact_id: int | None
    organization_id: int | None
    affiliation: str
    support_role: str | None
    user_id: int | None
    removed_at: dt.datetime | None


class PartnerMemberPage(msgspec.Struct):
    items: list[PartnerMemberOut]
    total: int
    limit: int
    offset: int


class ConveningOut(msgspec.Struct):
    id: int
    held_on: dt.date
    agenda: str | None
    minutes: str | None
    business_count: int
    public_count: int
    present_member_ids: list[int]


class ConveningPage(msgspec.Struct):
    items: list[ConveningOut]
    total: int
    limit: int
    offset: int


class PartnerAttendanceOut(msgspec.Struct):
    meeting_id: int
    member_id: int
    present: bool
    touch_id: int | None
    business_count: int
    public_count: int


class MilestoneOut(msgspec.Struct):
    id: int
    title: str
    due_on: dt.date
    status: str


class ActionTeamOut(msgspec.Struct):
    id: int
    name: str
    business_chair_id: int | None
    business_chair: str | None
    support_staff_id: int | None
    support_staff: str | None
    milestones: list[MilestoneOut]


class ActionTeamPage(msgspec.Struct):
    items: list[ActionTeamOut]
    total: int
    limit: int
    offset: int
